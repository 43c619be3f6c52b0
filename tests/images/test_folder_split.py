"""An image folder with a given split: ``<root>/train/<class>/`` and ``<root>/test/<class>/``."""

from __future__ import annotations

from pathlib import Path

import pytest

from limeguard.config import ConfigError
from limeguard.images.folder import SPLIT_LAYOUT
from limeguard.images.load import load_pools
from limeguard.images.source_config import DataSourceError, SourceConfig
from limeguard.images.splits import SplitConfig, make_splits
from limeguard.pipelines.data.nodes import data_manifest
from tests.images.folder_fixture import CLASSES, write_image_folder


def _cfg(folder: Path) -> SourceConfig:
    return SourceConfig(dataset="image_folder", folder=str(folder), image_size=16)


@pytest.fixture
def split_folder(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    write_image_folder(root / "train", per_class=8)
    write_image_folder(root / "test", per_class=3, seed=1)
    return root


def test_train_and_test_folders_are_the_pools(split_folder: Path) -> None:
    train, test = load_pools(_cfg(split_folder))
    assert train.classes == test.classes == CLASSES
    assert train.labels.bincount().tolist() == [8, 8, 8]
    assert test.labels.bincount().tolist() == [3, 3, 3]  # test_fraction not used
    assert not set(train.ids.tolist()) & set(test.ids.tolist())
    assert train.meta["layout"] == SPLIT_LAYOUT
    manifest = data_manifest({"train": train, "test": test})
    assert manifest["layout"] == SPLIT_LAYOUT and manifest["folder"] == str(split_folder)


def test_one_folder_per_class_is_still_read(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path / "images", per_class=5)
    train, test = load_pools(_cfg(root))
    assert train.meta["layout"] == "one folder per class" and len(train) + len(test) == 15


def test_classes_named_train_and_test_are_classes(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path / "images", per_class=4, classes=("train", "test"))
    train, _ = load_pools(_cfg(root))
    assert train.classes == ("test", "train") and train.meta["layout"] == "one folder per class"


def test_different_classes_name_both_folders(split_folder: Path) -> None:
    write_image_folder(split_folder / "train", per_class=2, classes=("zebra",))
    with pytest.raises(DataSourceError, match=r"images/test: class folders .* differ from those of "
                                              r".*images/train .*only in train: \['zebra'\]"):
        load_pools(_cfg(split_folder))


def test_other_folders_beside_train_and_test_are_named(split_folder: Path) -> None:
    write_image_folder(split_folder / "val", per_class=2)
    with pytest.raises(DataSourceError, match=r"images: holds train/ and test/ .* also \['val'\]"):
        load_pools(_cfg(split_folder))


def test_one_image_per_class_in_test_is_enough(split_folder: Path) -> None:
    for path in (split_folder / "test" / "cat").iterdir():
        if path.name != "00.png":
            path.unlink()
    _, test = load_pools(_cfg(split_folder))
    assert test.labels.bincount().tolist() == [1, 3, 3]


def test_split_too_large_names_the_class_folder_of_its_split(split_folder: Path) -> None:
    train, test = load_pools(_cfg(split_folder))
    with pytest.raises(ConfigError, match=r"test_size.*\(folder .*images/test/cat\)"):
        make_splits(train, test, SplitConfig(train_size=6, val_size=3, test_size=12, probe_size=3))


def test_data_nodes_gate_a_given_split_and_record_its_layout(split_folder: Path) -> None:
    from limeguard.pipelines.data.nodes import gate_data, load_raw_data, split_data, validate_data

    source = {"dataset": "image_folder", "folder": str(split_folder), "image_size": 16}
    split = {"train_size": 15, "val_size": 6, "test_size": 9, "probe_size": 3}
    sets = split_data(*load_raw_data(source), split)
    report = validate_data(*sets, split, {"image_shape": None}, source)
    *_, manifest = gate_data(report, *sets)
    assert manifest["layout"] == SPLIT_LAYOUT
    assert manifest["counts"] == {"train": 15, "val": 6, "test": 9, "probe": 3}
