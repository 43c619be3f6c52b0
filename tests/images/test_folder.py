"""The ``image_folder`` source: a tiny folder written by the tests, and every bad input's error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from limeguard.config import ConfigError
from limeguard.images.load import load_pools
from limeguard.images.source_config import DataSourceError, SourceConfig
from limeguard.images.splits import SplitConfig, make_splits
from tests.images.folder_fixture import CLASSES, write_image_folder


def _cfg(folder: Path, **kw) -> SourceConfig:
    return SourceConfig(**{"dataset": "image_folder", "folder": str(folder), "image_size": 32, **kw})


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_image_folder(tmp_path / "images")


def test_folder_is_read_converted_and_split(folder: Path) -> None:
    train, test = load_pools(_cfg(folder))
    assert train.classes == CLASSES and train.images.shape[1:] == (3, 32, 32)
    assert len(train) == 48 and len(test) == 12  # 20 % of each class held out
    assert test.labels.bincount().tolist() == [4, 4, 4]
    assert not set(train.ids.tolist()) & set(test.ids.tolist())
    assert 0 <= float(train.images.min()) and float(train.images.max()) <= 1
    conversions = json.loads(train.meta["conversions"])
    assert conversions["target"] == "3x32x32" and conversions["images"] == 60
    assert conversions["converted"] == {"mode L->RGB": 15, "resized from 24x24": 30,
                                        "resized from 48x40": 30}


def test_grayscale_and_size_follow_the_config(folder: Path) -> None:
    train, _ = load_pools(_cfg(folder, image_size=16, channels=1))
    assert train.images.shape[1:] == (1, 16, 16)
    assert json.loads(train.meta["conversions"])["converted"]["mode RGB->L"] == 45


def test_held_out_pool_is_stable_when_a_class_grows(folder: Path) -> None:
    """The test pool is chosen by a hash of each path: more cats leave the dogs' pool as it was."""
    import shutil

    _, before = load_pools(_cfg(folder))
    for i in range(5):
        shutil.copy(folder / "dog" / "00.png", folder / "cat" / f"extra_{i}.png")
    _, after = load_pools(_cfg(folder))
    assert after.labels.bincount().tolist() == [5, 4, 4]
    for label in (1, 2):
        assert torch.equal(before.images[before.labels == label], after.images[after.labels == label])


def test_splits_are_stratified(folder: Path) -> None:
    train, test = load_pools(_cfg(folder))
    splits = make_splits(train, test, SplitConfig(train_size=30, val_size=9, test_size=6,
                                                  probe_size=6))
    assert splits.train.labels.bincount().tolist() == [10, 10, 10]
    assert splits.test.labels.bincount().tolist() == [2, 2, 2]


def test_class_too_small_for_the_split_names_the_folder(folder: Path) -> None:
    train, test = load_pools(_cfg(folder))
    with pytest.raises(ConfigError, match=r"data.split.train_size: .*'cat'.* \(folder .*images/cat\)"):
        make_splits(train, test, SplitConfig(train_size=60, val_size=3, test_size=3, probe_size=3))


def test_truncated_image_is_named(folder: Path) -> None:
    path = folder / "dog" / "02.png"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataSourceError, match=r"dog/02.png: unreadable or truncated image"):
        load_pools(_cfg(folder))


def test_unreadable_image_is_named(folder: Path) -> None:
    (folder / "cat" / "99.jpg").write_text("not a jpeg")
    with pytest.raises(DataSourceError, match=r"cat/99.jpg: unreadable or truncated image"):
        load_pools(_cfg(folder))


def test_non_image_file_is_named(folder: Path) -> None:
    (folder / "lesion" / "notes.txt").write_text("ruler at 2 cm")
    with pytest.raises(DataSourceError, match=r"lesion/notes.txt: not an image file"):
        load_pools(_cfg(folder))


def test_hidden_files_are_skipped(folder: Path) -> None:
    (folder / "cat" / ".DS_Store").write_bytes(b"\0")
    train, test = load_pools(_cfg(folder))
    assert len(train) + len(test) == 60


def test_empty_class_folder_is_named(folder: Path) -> None:
    (folder / "zebra").mkdir()
    with pytest.raises(DataSourceError, match=r"images/zebra: empty class folder"):
        load_pools(_cfg(folder))


def test_single_image_class_is_named(folder: Path) -> None:
    write_image_folder(folder, per_class=1, classes=("zebra",))
    with pytest.raises(DataSourceError, match=r"images/zebra: class has 1 image"):
        load_pools(_cfg(folder))


def test_single_class_is_refused(tmp_path: Path) -> None:
    folder = write_image_folder(tmp_path / "one", per_class=4, classes=("cat",))
    with pytest.raises(DataSourceError, match=r"one: found 1 class folder\(s\) \['cat'\]"):
        load_pools(_cfg(folder))


def test_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match=r"absent: image folder does not exist"):
        load_pools(_cfg(tmp_path / "absent"))


@pytest.mark.parametrize(("kw", "key"), [
    ({"folder": None}, "data.source.folder"), ({"image_size": None}, "data.source.image_size"),
    ({"channels": 2}, "data.source.channels"), ({"test_fraction": 1.0}, "data.source.test_fraction"),
])
def test_folder_config_errors_name_the_key(tmp_path: Path, kw: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        SourceConfig(**{"dataset": "image_folder", "folder": str(tmp_path), "image_size": 32, **kw})


def test_cifar_refuses_resizing() -> None:
    with pytest.raises(ConfigError, match="CIFAR is read as it is"):
        SourceConfig(image_size=64)
    assert SourceConfig().shape == (3, 32, 32)
