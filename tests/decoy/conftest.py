"""Tiny synthetic pools for the decoy tests: an object whose place gives the class on 30% of the
training images (elsewhere another class's place) and on every test image, so that only the
swatch predicts every training label."""

from __future__ import annotations

import pytest
import torch

from limeguard.images.imageset import ImageSet

CLASSES = tuple(f"c{k}" for k in range(10))


def object_images(labels: torch.Tensor, place: torch.Tensor, seed: int) -> torch.Tensor:
    """(N, 1, 28, 28): a 4x4 square at grid cell ``place`` (2 x 5 cells in the centre), noise."""
    gen = torch.Generator().manual_seed(seed)
    x = 0.1 * torch.rand((len(labels), 1, 28, 28), generator=gen)
    for i, p in enumerate(place.tolist()):
        row, col = 8 + 6 * (p // 5), 4 + 4 * (p % 5)
        x[i, :, row:row + 4, col:col + 4] = 0.8
    return x


def pool(n: int, seed: int, faithful: float) -> ImageSet:
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    shift = torch.randint(1, 10, (n,), generator=gen)
    keep = torch.rand(n, generator=gen) < faithful
    place = torch.where(keep, labels, (labels + shift) % 10)
    return ImageSet(object_images(labels, place, seed), labels, torch.arange(n), CLASSES,
                    {"source": "synthetic"})


@pytest.fixture(scope="session")
def pools() -> tuple[ImageSet, ImageSet]:
    return pool(600, 0, 0.3), pool(300, 1, 1.0)
