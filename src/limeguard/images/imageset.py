"""The in-memory image set: float32 in [0, 1], NCHW, with labels, stable ids and class names."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass(frozen=True)
class ImageSet:
    """A labelled set of images.

    Attributes:
        images: (N, C, H, W) float32 in [0, 1].
        labels: (N,) int64 class indices.
        ids: (N,) int64 stable image ids (unique within the source split).
        classes: class names, index = label.
        meta: provenance strings (source, split, ...), JSON-serialisable.
    """

    images: torch.Tensor
    labels: torch.Tensor
    ids: torch.Tensor
    classes: tuple[str, ...]
    meta: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def subset(self, index: torch.Tensor | np.ndarray, **meta: str) -> ImageSet:
        """The images at ``index`` (positions, not ids), with ``meta`` merged in."""
        index = torch.as_tensor(index, dtype=torch.long)
        return ImageSet(
            self.images[index], self.labels[index], self.ids[index], self.classes,
            {**self.meta, **meta},
        )


def joined(first: ImageSet, *others: ImageSet) -> ImageSet:
    """The images of every set, in order (e.g. train and validation, split from one pool).

    Raises:
        ValueError: the sets have other class names, or an image id repeats.
    """
    sets = (first, *others)
    if any(s.classes != first.classes for s in others):
        raise ValueError("joined: the image sets have different classes")
    ids = torch.cat([s.ids for s in sets])
    if len(ids.unique()) != len(ids):
        raise ValueError("joined: an image id appears in more than one set")
    return ImageSet(torch.cat([s.images for s in sets]), torch.cat([s.labels for s in sets]), ids,
                    first.classes, dict(first.meta))


def from_uint8_nhwc(pixels: np.ndarray) -> torch.Tensor:
    """(N, H, W, C) uint8 -> (N, C, H, W) float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float().div_(255)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) float in [0, 1] -> (N, C, H, W) uint8, rounding to the nearest level."""
    return images.mul(255).round_().clamp_(0, 255).to(torch.uint8)
