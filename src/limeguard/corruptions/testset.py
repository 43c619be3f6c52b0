"""CIFAR-10-C as an :class:`ImageSet` plus an index table (corruption, severity per image)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from limeguard.config import ConfigError, check_seed
from limeguard.corruptions.constants import CORRUPTIONS, SEVERITIES
from limeguard.corruptions.files import cifar10c_available, load_cifar10c
from limeguard.corruptions.generate import check_names, generate_cifar10c
from limeguard.images.imageset import ImageSet, from_uint8_nhwc

SOURCES = ("auto", "files", "generate")


@dataclass(frozen=True)
class CorruptionSetConfig:
    """``params:corruptions``.

    Attributes:
        source: ``files`` (the published .npy archive under ``root``), ``generate`` (from the test
            split at the CIFAR-10-C constants), or ``auto`` (files when present, else generate).
        root: folder of the published files (``<corruption>.npy``, ``labels.npy``).
        max_images: clean test images used per corruption and severity (null: all).
        corruptions: names (default: all 15).
        severities: levels in 1..5.
        seed: generation seed (deterministic per seed).
    """

    source: str = "auto"
    root: str = "data/01_raw/CIFAR-10-C"
    max_images: int | None = 200
    corruptions: tuple[str, ...] = CORRUPTIONS
    severities: tuple[int, ...] = SEVERITIES
    seed: int = 0

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ConfigError(f"source: unknown {self.source!r}; use one of {SOURCES}")
        if self.max_images is not None and self.max_images < 1:
            raise ConfigError(f"max_images: must be >= 1, got {self.max_images}")
        check_names(self.corruptions, self.severities)
        check_seed("seed", self.seed)


CIFAR_SHAPE = (3, 32, 32)  # CIFAR-10-C's constants (and its files) are for 32x32 RGB only
OTHER_DATA = {"image_folder": "an image folder", "fashion_mnist": "Fashion-MNIST"}


def skip_reason(shape: tuple[int, ...], dataset: str | None = None) -> str | None:
    """Why CIFAR-10-C does not apply to test images of ``shape`` (C, H, W) from ``dataset``
    (``data.source.dataset``; None: CIFAR), or None where it applies."""
    if tuple(shape) != CIFAR_SHAPE:
        return (f"CIFAR-10-C applies to 32x32 RGB images, these are "
                f"{'x'.join(map(str, shape))} (C x H x W)")
    if dataset in OTHER_DATA:
        return f"CIFAR-10-C applies to CIFAR images, these come from {OTHER_DATA[dataset]}"
    return None


def corrupted_test_set(test: ImageSet, cfg: CorruptionSetConfig) -> tuple[ImageSet, pd.DataFrame]:
    """The corrupted images (float32 [0, 1] NCHW) and one index row per image.

    Test images CIFAR-10-C does not apply to (:func:`skip_reason`: grayscale, other sizes, other
    data sets) are skipped, not corrupted: the result is empty, and its ``meta['source']`` says why.
    """
    reason = skip_reason(tuple(test.images.shape[1:]), test.meta.get("dataset"))
    if reason:
        return skipped(test, f"skipped: {reason}")
    use_files = cfg.source == "files" or (
        cfg.source == "auto" and cifar10c_available(cfg.root, cfg.corruptions)
    )
    if use_files:
        arrays, labels = load_cifar10c(Path(cfg.root), cfg.corruptions)
        n_clean = len(labels) // len(SEVERITIES)
        keep = n_clean if cfg.max_images is None else min(cfg.max_images, n_clean)
        clean_labels, clean_ids = torch.as_tensor(labels[:keep]), torch.arange(keep)
        source = f"CIFAR-10-C files ({cfg.root})"
        rows = {name: np.concatenate([arr[(s - 1) * n_clean:(s - 1) * n_clean + keep]
                                      for s in cfg.severities]) for name, arr in arrays.items()}
    else:
        clean = test if cfg.max_images is None else test.subset(torch.arange(min(cfg.max_images, len(test))))
        clean_labels, clean_ids = clean.labels, clean.ids
        source = f"generated at the CIFAR-10-C constants from {test.meta.get('note', 'the test split')}"
        rows = generate_cifar10c(clean.images, cfg.severities, cfg.corruptions,
                                 cfg.seed, progress=True)
    return _as_imageset(rows, clean_labels, clean_ids, cfg.severities, test.classes, source)


def _as_imageset(
    rows: dict[str, np.ndarray], labels: torch.Tensor, ids: torch.Tensor,
    severities: tuple[int, ...], classes: tuple[str, ...], source: str,
) -> tuple[ImageSet, pd.DataFrame]:
    n = len(labels)
    names = list(rows)
    index = pd.DataFrame({
        "corruption": np.repeat(names, len(severities) * n),
        "severity": np.tile(np.repeat(severities, n), len(names)),
        "image_id": np.tile(ids.numpy(), len(names) * len(severities)),
    })
    images = from_uint8_nhwc(np.concatenate([rows[name] for name in names]))
    all_labels = labels.repeat(len(names) * len(severities))
    corrupted = ImageSet(images, all_labels, torch.arange(len(index)), classes,
                         {"source": source, "split": "cifar10c"})
    return corrupted, index


def skipped(test: ImageSet, reason: str) -> tuple[ImageSet, pd.DataFrame]:
    """An empty corrupted set (the test images' shape, no rows) whose source is ``reason``."""
    empty = torch.zeros((0, *test.images.shape[1:]), dtype=torch.float32)
    none = torch.zeros(0, dtype=torch.long)
    index = pd.DataFrame({"corruption": pd.Series([], dtype=object),
                          "severity": pd.Series([], dtype="int64"),
                          "image_id": pd.Series([], dtype="int64")})
    return ImageSet(empty, none, none, test.classes, {"source": reason, "split": "cifar10c"}), index
