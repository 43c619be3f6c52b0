"""The Great Expectations gate passes clean splits and stops on each kind of bad image."""

from __future__ import annotations

import json

import pytest
import torch

from limeguard.images.imageset import ImageSet
from limeguard.images.splits import SplitConfig, make_splits
from limeguard.validation.data_gate import (
    DataGateConfig,
    DataValidationError,
    raise_on_failure,
    validate_splits,
)
from tests.images.test_splits import pool

SIZES = {"train": 100, "val": 50, "test": 40, "probe": 20}


@pytest.fixture(scope="module")
def splits() -> dict[str, ImageSet]:
    cfg = SplitConfig(**{f"{k}_size": v for k, v in SIZES.items()})
    s = make_splits(pool(30, "train", 0), pool(10, "test", 1), cfg)
    return {"train": s.train, "val": s.val, "test": s.test, "probe": s.probe}


def _replace(images: ImageSet, i: int, image: torch.Tensor | None = None, label: int | None = None) -> ImageSet:
    x, y = images.images.clone(), images.labels.clone()
    if image is not None:
        x[i] = image
    if label is not None:
        y[i] = label
    return ImageSet(x, y, images.ids, images.classes, images.meta)


def _failures(splits: dict[str, ImageSet], sizes=SIZES) -> list[dict]:
    report = validate_splits(splits, sizes, DataGateConfig())
    json.dumps(report)  # the report is written as JSON
    return [r | {"suite": s["suite"]} for s in report["suites"] for r in s["results"] if not r["success"]]


def test_clean_splits_pass(splits) -> None:
    report = validate_splits(splits, SIZES, DataGateConfig())
    assert report["success"], _failures(splits)
    raise_on_failure(report)


@pytest.mark.parametrize("case,expectation,column", [
    ("nan", "expect_column_values_to_be_in_set", "nan_count"),
    ("blank", "expect_column_values_to_be_between", "pixel_std"),
    ("range", "expect_column_values_to_be_between", "pixel_max"),
    ("label", "expect_column_values_to_be_in_set", "label"),
])
def test_planted_bad_image_is_named(splits, case: str, expectation: str, column: str) -> None:
    train = splits["train"]
    bad_id = int(train.ids[7])
    image = {"nan": train.images[7].clone().index_fill_(1, torch.tensor([3]), float("nan")),
             "blank": torch.full((3, 32, 32), 0.5), "range": train.images[7] * 1.5,
             "label": None}[case]
    bad = {**splits, "train": _replace(train, 7, image, label=12 if case == "label" else None)}
    failed = [f for f in _failures(bad) if f["suite"] == "images"]
    assert any(f["expectation"] == expectation and f["column"] == column for f in failed), failed
    with pytest.raises(DataValidationError, match=rf"{expectation} on column '{column}'.*{bad_id}"):
        raise_on_failure(validate_splits(bad, SIZES, DataGateConfig()))


def test_train_test_overlap_by_content(splits) -> None:
    test = _replace(splits["test"], 3, image=splits["train"].images[0])
    failed = _failures({**splits, "test": test})
    assert any(f["column"] == "leaks_from_train" for f in failed), failed


def test_wrong_count_and_imbalance(splits) -> None:
    val = splits["val"].subset(torch.arange(45))
    failed = _failures({**splits, "val": val})
    kinds = {(f["suite"], f["expectation"]) for f in failed}
    assert ("split_sizes", "expect_column_pair_values_a_to_be_greater_than_b") in kinds
    assert ("class_balance", "expect_column_values_to_be_between") in kinds


def test_empty_split_fails(splits) -> None:
    empty = splits["probe"].subset(torch.arange(0))
    failed = _failures({**splits, "probe": empty})
    assert any(f["suite"] == "split_sizes" and f["examples"][0]["split"] == "probe" for f in failed)


def test_wrong_shape_and_dtype(splits) -> None:
    t = splits["test"]
    odd = ImageSet(t.images[:, :, :16, :16].double(), t.labels, t.ids, t.classes, t.meta)
    failed = {f["column"] for f in _failures({**splits, "test": odd}) if f["suite"] == "images"}
    assert {"shape", "dtype"} <= failed
