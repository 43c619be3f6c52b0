"""The published CIFAR-10-C arrays: ``<root>/<corruption>.npy`` and ``<root>/labels.npy``.

Each corruption file is (5 * 10000, 32, 32, 3) uint8 RGB, severity 1 first; labels are (50000,)
uint8, the test labels repeated five times.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from limeguard.corruptions.constants import CORRUPTIONS, SEVERITIES
from limeguard.corruptions.generate import check_names


def missing_files(root: str | os.PathLike, corruptions: Sequence[str] = CORRUPTIONS) -> list[Path]:
    """The expected files under ``root`` that do not exist (empty: the set is complete)."""
    root = Path(root)
    return [
        p
        for p in [root / f"{c}.npy" for c in corruptions] + [root / "labels.npy"]
        if not p.is_file()
    ]


def cifar10c_available(
    root: str | os.PathLike | None, corruptions: Sequence[str] = CORRUPTIONS
) -> bool:
    """Whether the real CIFAR-10-C files for ``corruptions`` are all under ``root``."""
    return root is not None and not missing_files(root, corruptions)


def load_cifar10c(
    root: str | os.PathLike, corruptions: Sequence[str] = CORRUPTIONS, mmap: bool = True
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Load the published CIFAR-10-C arrays (memory-mapped by default: 150 MB per corruption).

    Returns:
        ``({corruption: (5 * n, 32, 32, 3) uint8}, labels (5 * n,) int64)``, the same layout as
        :func:`~limeguard.corruptions.generate.generate_cifar10c`.

    Raises:
        FileNotFoundError: a file is missing (all missing files are named).
        ValueError: a file has the wrong shape or dtype (named).
    """
    check_names(corruptions)
    missing = missing_files(root, corruptions)
    if missing:
        raise FileNotFoundError(f"CIFAR-10-C files missing: {', '.join(map(str, missing))}")
    root = Path(root)
    labels = np.load(root / "labels.npy").astype(np.int64)
    data = {}
    for name in corruptions:
        path = root / f"{name}.npy"
        arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[1:] != (32, 32, 3):
            raise ValueError(f"{path}: expected (N, 32, 32, 3) uint8, got {arr.shape} {arr.dtype}")
        if len(arr) != len(labels) or len(arr) % len(SEVERITIES):
            raise ValueError(f"{path}: {len(arr)} images for {len(labels)} labels (5 severities)")
        data[name] = arr
    return data, labels


def severity_rows(
    array: np.ndarray, severity: int, severities: Sequence[int] = SEVERITIES
) -> np.ndarray:
    """Rows of a severity-major array (published or generated) that hold ``severity``."""
    check_names([], [severity])
    if severity not in severities:
        raise ValueError(f"severity {severity} not in {list(severities)}")
    n = len(array) // len(severities)
    i = list(severities).index(severity)
    return array[i * n : (i + 1) * n]
