"""SLIC superpixels per image, with a grid fallback and a content-hash cache."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import numpy as np
import torch

from limeguard.explain.config import SegmentationConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Segmentation:
    """Superpixels of N images.

    Attributes:
        segments: (N, H, W) int64, labels 0..n_segments[i]-1 per image.
        n_segments: (N,) int64 segment count per image.
        fallback: (N,) bool, True where the grid fallback replaced SLIC.
    """

    segments: torch.Tensor
    n_segments: torch.Tensor
    fallback: torch.Tensor

    def __len__(self) -> int:
        return int(self.segments.shape[0])


def grid_segments(height: int, width: int, cells: int) -> np.ndarray:
    """(H, W) int64 labels of a ``cells`` x ``cells`` grid (fewer cells if the image is smaller)."""
    rows = np.minimum(np.arange(height) * min(cells, height) // height, cells - 1)
    cols = np.minimum(np.arange(width) * min(cells, width) // width, cells - 1)
    labels = rows[:, None] * min(cells, width) + cols[None, :]
    return _relabel(labels)


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..n-1 (lime indexes its samples by label)."""
    _, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(labels.shape).astype(np.int64)


def segment_image(image: np.ndarray, cfg: SegmentationConfig) -> tuple[np.ndarray, bool]:
    """SLIC labels of one (H, W, C) float image in [0, 1]; returns (labels (H, W), fallback).

    RGB is segmented in Lab (SLIC's default). Grayscale (C = 1) goes in as gray RGB, so that it is
    segmented on Lab's lightness (0..100) and ``compactness`` weighs intensity against space as it
    does colour for RGB (alone, SLIC rescales one channel to [0, 1], where a compactness meant for
    Lab would leave a plain grid).
    """
    from skimage.segmentation import slic

    flat = float(image.reshape(-1, image.shape[-1]).std(0).max()) < cfg.flat_std
    if not flat:
        pixels = np.repeat(image, 3, -1) if image.shape[-1] == 1 else image  # (H, W, 3)
        labels = slic(pixels.astype(np.float64), n_segments=cfg.n_segments,
                      compactness=cfg.compactness, sigma=cfg.sigma, start_label=0,
                      channel_axis=-1)
        labels = _relabel(labels)
        if labels.max() + 1 >= cfg.min_segments:
            return labels, False
    return grid_segments(image.shape[0], image.shape[1], cfg.grid_cells), True


def image_key(image: torch.Tensor, cfg: SegmentationConfig) -> str:
    """Cache key: SHA-1 of the image bytes, shape and segmentation parameters."""
    digest = hashlib.sha1(image.detach().cpu().contiguous().numpy().tobytes())
    digest.update(repr((tuple(image.shape), cfg)).encode())
    return digest.hexdigest()


class SegmentCache:
    """In-memory cache of labels by :func:`image_key`; ``hits``/``misses`` are counted."""

    def __init__(self) -> None:
        self.store: dict[str, tuple[np.ndarray, bool]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, image: torch.Tensor, cfg: SegmentationConfig) -> tuple[np.ndarray, bool]:
        key = image_key(image, cfg)
        if key in self.store:
            self.hits += 1
        else:
            self.misses += 1
            hwc = image.detach().cpu().permute(1, 2, 0).numpy()
            self.store[key] = segment_image(hwc, cfg)
        return self.store[key]


def segment_images(images: torch.Tensor, cfg: SegmentationConfig,
                   cache: SegmentCache | None = None) -> Segmentation:
    """Segment (N, C, H, W) float images in [0, 1]; logs how many fell back to the grid."""
    cache = cache if cache is not None else SegmentCache()
    results = [cache.get(image, cfg) for image in images]
    segments = torch.from_numpy(np.stack([r[0] for r in results])) if results else \
        torch.zeros((0, *images.shape[2:]), dtype=torch.int64)
    n_segments = segments.flatten(1).amax(1) + 1 if results else torch.zeros(0, dtype=torch.int64)
    fallback = torch.tensor([r[1] for r in results], dtype=torch.bool)
    if fallback.any():
        log.info("segmentation: %d of %d images fell back to a grid", int(fallback.sum()),
                 len(results))
    return Segmentation(segments, n_segments, fallback)
