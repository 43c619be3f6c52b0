from __future__ import annotations

import numpy as np
import pytest
import torch

from limeguard.config import ConfigError
from limeguard.images.imageset import ImageSet, from_uint8_nhwc, to_uint8
from limeguard.images.splits import SplitConfig, class_quotas, make_splits
from tests.conftest import smooth_images


def pool(n_per_class: int, split: str, seed: int = 0, k: int = 10) -> ImageSet:
    labels = torch.arange(k).repeat_interleave(n_per_class)
    images = from_uint8_nhwc(smooth_images(len(labels), seed))
    return ImageSet(images, labels, torch.arange(len(labels)) + 1000 * seed,
                    tuple(map(str, range(k))), {"split": split})


@pytest.fixture
def pools() -> tuple[ImageSet, ImageSet]:
    return pool(30, "train", 0), pool(10, "test", 1)


def test_sizes_stratified_disjoint(pools) -> None:
    s = make_splits(*pools, SplitConfig(train_size=100, val_size=50, test_size=40, probe_size=20))
    assert (len(s.train), len(s.val), len(s.test), len(s.probe)) == (100, 50, 40, 20)
    for part, per in ((s.train, 10), (s.val, 5), (s.test, 4), (s.probe, 2)):
        assert torch.bincount(part.labels, minlength=10).tolist() == [per] * 10
    assert not set(s.train.ids.tolist()) & set(s.val.ids.tolist())
    assert set(s.probe.ids.tolist()) <= set(s.train.ids.tolist())
    assert s.train.meta["split"] == "train" and s.probe.meta["split"] == "probe"


def test_deterministic_and_seed_dependent(pools) -> None:
    cfg = SplitConfig(train_size=100, val_size=50, test_size=40, probe_size=20)
    a, b = make_splits(*pools, cfg), make_splits(*pools, cfg)
    assert torch.equal(a.train.ids, b.train.ids) and torch.equal(a.test.ids, b.test.ids)
    c = make_splits(*pools, SplitConfig(train_size=100, val_size=50, test_size=40, probe_size=20, seed=1))
    assert not torch.equal(a.train.ids, c.train.ids)


def test_null_sizes_take_everything(pools) -> None:
    s = make_splits(*pools, SplitConfig(train_size=None, val_size=50, test_size=None, probe_size=10))
    assert len(s.train) == 250 and len(s.test) == 100


@pytest.mark.parametrize("key,value", [("train_size", 300), ("val_size", 301), ("test_size", 200),
                                       ("probe_size", 150)])
def test_size_larger_than_data_names_the_key(pools, key: str, value: int) -> None:
    sizes = {**dict(train_size=100, val_size=50, test_size=40, probe_size=20), key: value}
    with pytest.raises(ConfigError, match=f"data.split.{key}"):
        make_splits(*pools, SplitConfig(**sizes))


@pytest.mark.parametrize("bad", [0, -5])
def test_empty_split_is_rejected(bad: int) -> None:
    with pytest.raises(ConfigError, match="data.split.val_size"):
        SplitConfig(val_size=bad)


def test_class_quotas_spread_remainder() -> None:
    assert class_quotas(23, 10).tolist() == [3, 3, 3] + [2] * 7


def test_uint8_round_trip() -> None:
    raw = smooth_images(3, 0)
    assert np.array_equal(to_uint8(from_uint8_nhwc(raw)).permute(0, 2, 3, 1).numpy(), raw)
