"""CIFAR-10-C generation: corrupt images deterministically, build the benchmark arrays."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from limeguard.config import ConfigError
from limeguard.corruptions.constants import CONSTANTS, CORRUPTIONS, SEVERITIES
from limeguard.corruptions.functions import FUNCTIONS

log = logging.getLogger(__name__)

CHUNK_SIZE = 1000  # images per random stream; part of what makes a generation reproducible


@dataclass(frozen=True)
class CifarCConfig:
    """``params:cifar10c`` for generation.

    Attributes:
        corruptions: names from :data:`CORRUPTIONS`.
        severities: levels in 1..5.
        seed: base seed; each (corruption, severity, chunk) gets its own stream.
        chunk_size: images per random stream (changing it changes the generated images).
    """

    corruptions: tuple[str, ...] = CORRUPTIONS
    severities: tuple[int, ...] = SEVERITIES
    seed: int = 0
    chunk_size: int = CHUNK_SIZE

    def __post_init__(self) -> None:
        check_names(self.corruptions, self.severities)
        if self.chunk_size < 1:
            raise ConfigError(f"cifar10c.chunk_size: must be >= 1, got {self.chunk_size}")


def check_names(corruptions: Iterable[str], severities: Iterable[int] = ()) -> None:
    """Raise :class:`ConfigError` naming an unknown corruption or a severity outside 1..5."""
    for name in corruptions:
        if name not in CONSTANTS:
            raise ConfigError(
                f"cifar10c.corruptions: unknown corruption {name!r}; known: {list(CORRUPTIONS)}"
            )
    for s in severities:
        if isinstance(s, bool) or not isinstance(s, int | np.integer) or not 1 <= s <= 5:
            raise ConfigError(f"cifar10c.severities: severity must be an int in 1..5, got {s!r}")


def to_uint8_nhwc(images) -> np.ndarray:
    """(N, 3, 32, 32) uint8, or float in [0, 1] (numpy or torch) -> (N, 32, 32, 3) uint8.

    Float images are rounded to the nearest 1/255 (CIFAR images are exactly representable).
    """
    arr = images.detach().cpu().numpy() if hasattr(images, "detach") else np.asarray(images)
    if arr.ndim != 4 or arr.shape[1:] != (3, 32, 32):
        raise ValueError(f"expected images of shape (N, 3, 32, 32), got {arr.shape}")
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.floating):
            raise ValueError(f"expected uint8 or float images, got dtype {arr.dtype}")
        if arr.size and (arr.min() < 0 or arr.max() > 1):
            raise ValueError(f"float images must lie in [0, 1], got [{arr.min()}, {arr.max()}]")
        arr = np.rint(arr * 255).astype(np.uint8)
    return np.ascontiguousarray(arr.transpose(0, 2, 3, 1))


def to_float_nchw(images: np.ndarray) -> np.ndarray:
    """(N, 32, 32, 3) uint8 -> (N, 3, 32, 32) float32 in [0, 1]."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0


def corrupt_uint8(
    x: np.ndarray, name: str, severity: int, seed: int, chunk_size: int = CHUNK_SIZE
) -> np.ndarray:
    """Corrupt (N, 32, 32, 3) uint8 images; returns (N, 32, 32, 3) uint8 as stored in CIFAR-10-C.

    Chunk ``k`` (images ``k * chunk_size`` onwards) draws from the stream
    ``SeedSequence([seed, index(name), severity, k])``, so the result depends only on
    (images, name, severity, seed, chunk_size). Quantisation truncates, as ``np.uint8`` in the
    reference (with 1e-6 slack against float round-off).
    """
    check_names([name], [severity])
    fn, const = FUNCTIONS[name], CONSTANTS[name][severity - 1]
    out = np.empty_like(x)
    for k, start in enumerate(range(0, len(x), chunk_size)):
        seq = np.random.SeedSequence([int(seed), CORRUPTIONS.index(name), int(severity), k])
        y = fn(x[start : start + chunk_size], const, np.random.default_rng(seq))
        out[start : start + chunk_size] = np.floor(np.clip(y, 0, 1) * 255 + 1e-6)
    return out


def corrupt(images, name: str, severity: int, seed: int = 0, chunk_size: int = CHUNK_SIZE):
    """Apply one CIFAR-10-C corruption at one severity.

    Args:
        images: (N, 3, 32, 32) uint8 in [0, 255] or float in [0, 1]; numpy array or torch tensor.
        name: one of :data:`CORRUPTIONS`.
        severity: 1..5.
        seed: base seed (deterministic: same inputs and seed, same output).
        chunk_size: images per random stream (see :func:`corrupt_uint8`).

    Returns:
        (N, 3, 32, 32) float32 in [0, 1], multiples of 1/255; a torch tensor if ``images`` is one.

    Raises:
        ConfigError: unknown corruption or severity. ValueError: bad shape, dtype or range.
    """
    out = to_float_nchw(corrupt_uint8(to_uint8_nhwc(images), name, severity, seed, chunk_size))
    if hasattr(images, "detach"):
        import torch

        return torch.from_numpy(out).to(images.device)
    return out


def generate_cifar10c(
    images,
    severities: Sequence[int] = SEVERITIES,
    corruptions: Sequence[str] = CORRUPTIONS,
    seed: int = 0,
    progress: bool = True,
    chunk_size: int = CHUNK_SIZE,
) -> dict[str, np.ndarray]:
    """Generate CIFAR-10-C from clean test images, in the published layout.

    Args:
        images: (N, 3, 32, 32) uint8 or float in [0, 1] (numpy or torch), e.g. the test split.
        severities, corruptions, seed, chunk_size: see :func:`corrupt`.
        progress: show a progress bar (``limeguard.runtime.progress``).

    Returns:
        ``{corruption: (len(severities) * N, 32, 32, 3) uint8}``, severity-major as the published
        ``<corruption>.npy`` files (rows ``[i * N, (i + 1) * N)`` hold ``severities[i]``). The
        labels file is ``np.tile(labels, len(severities))``.
    """
    from limeguard.runtime import progress as bar

    check_names(corruptions, severities)
    x = to_uint8_nhwc(images)
    n = len(x)
    out = {name: np.empty((len(severities) * n,) + x.shape[1:], np.uint8) for name in corruptions}
    jobs = [(name, i, s) for name in corruptions for i, s in enumerate(severities)]
    for name, i, s in bar(jobs, desc="CIFAR-10-C", total=len(jobs)) if progress else jobs:
        out[name][i * n : (i + 1) * n] = corrupt_uint8(x, name, s, seed, chunk_size)
    log.info(
        "generated CIFAR-10-C: %d corruptions x %d severities x %d images",
        len(corruptions),
        len(severities),
        n,
    )
    return out
