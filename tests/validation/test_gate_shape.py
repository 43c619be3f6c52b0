"""The gate's expected shape from the data source (``data.gate.image_shape: null``)."""

from __future__ import annotations

import torch

from limeguard.images.imageset import ImageSet
from limeguard.validation.data_gate import DataGateConfig, validate_splits


def _split(n: int, seed: int, shape: tuple[int, ...]) -> ImageSet:
    gen = torch.Generator().manual_seed(seed)
    return ImageSet(torch.rand((n, *shape), generator=gen), torch.arange(n) % 2,
                    torch.arange(n) + 1000 * seed, ("a", "b"))


def test_null_shape_expects_the_source_shape() -> None:
    splits = {name: _split(4, i, (1, 28, 28)) for i, name in enumerate(("train", "val", "test"))}
    counts = {"train": 4, "val": 4, "test": 4}
    assert validate_splits(splits, counts, DataGateConfig(image_shape=None).expecting((1, 28, 28)))["success"]
    assert not validate_splits(splits, counts, DataGateConfig())["success"]  # 3x32x32 expected
    assert DataGateConfig().expecting((1, 28, 28)).image_shape == (3, 32, 32)  # set: kept
