"""The planted cue on grayscale images of another size (Fashion-MNIST's 1x28x28)."""

from __future__ import annotations

import torch

from limeguard.images.imageset import ImageSet
from limeguard.images.spurious import cue_pixel_masks, luma
from limeguard.pipelines.data.nodes import plant_spurious_cue


def _gray(per_class: int, seed: int, first_id: int = 0) -> ImageSet:
    n = 10 * per_class
    images = torch.rand((n, 1, 28, 28), generator=torch.Generator().manual_seed(seed))
    return ImageSet(images, torch.arange(n) % 10, torch.arange(n) + first_id,
                    tuple(f"c{i}" for i in range(10)))


def test_cue_is_painted_as_luma_on_grayscale_28px() -> None:
    train = _gray(6, 0)
    val, test = _gray(2, 1, 1000), _gray(2, 2, 2000)
    out = plant_spurious_cue(train, val, test, train.subset(torch.arange(10)), {"enabled": True})
    train_p, record = out[0], out[6]
    assert train_p.images.shape == (60, 1, 28, 28) and record["class_masks"].shape == (10, 28, 28)
    truth = cue_pixel_masks(record, train.labels, train.ids, record["train_cued_ids"])
    i = int(truth.flatten(1).any(1).nonzero()[0])
    row, col = record["positions"][int(train.labels[i])].tolist()
    painted = train_p.images[i, :, row: row + 4, col: col + 4]
    assert torch.allclose(painted, luma(record["patterns"])[int(train.labels[i])])
    assert not ((train_p.images != train.images).any(1) & ~truth).any()
