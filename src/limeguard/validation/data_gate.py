"""The data gate: Great Expectations checks on the image splits before anything trains on them."""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch

from limeguard.config import ConfigError, check_int_range, check_non_negative
from limeguard.images.imageset import ImageSet, to_uint8
from limeguard.images.splits import class_quotas
from limeguard.validation.gx import failure_lines, run_expectations


class DataValidationError(ValueError):
    """The data failed the gate; the message names each failed expectation and offending rows."""


@dataclass(frozen=True)
class DataGateConfig:
    """``params:data.gate``.

    Attributes:
        image_shape: expected (C, H, W) of every image; null: the shape the data source yields
            (see :meth:`expecting`).
        balance_tolerance: allowed relative deviation of each class count from an even share.
        min_pixel_std: an image whose pixel standard deviation (in [0, 1] units) is at or below
            this is constant (blank).
        max_examples: offending rows quoted per failed expectation.
    """

    image_shape: tuple[int, ...] | None = (3, 32, 32)
    balance_tolerance: float = 0.05
    min_pixel_std: float = 1e-3
    max_examples: int = 5

    def __post_init__(self) -> None:
        if not 0 <= self.balance_tolerance < 1:
            raise ConfigError(f"data.gate.balance_tolerance: must be in [0, 1), got {self.balance_tolerance}")
        for i, side in enumerate(self.image_shape or ()):
            check_int_range(f"data.gate.image_shape[{i}]", side, 1)
        check_non_negative("data.gate.min_pixel_std", self.min_pixel_std)
        check_int_range("data.gate.max_examples", self.max_examples, 0)


    def expecting(self, shape: tuple[int, ...]) -> DataGateConfig:
        """This config, with ``shape`` (C, H, W) as the expected shape where none is set."""
        if self.image_shape is not None:
            return self
        return dataclasses.replace(self, image_shape=tuple(int(s) for s in shape))


def image_table(images: ImageSet, train_hashes: set[str] | None) -> pd.DataFrame:
    """One row per image: id, label, shape, dtype, pixel min/max/std, NaN count, content hash."""
    x = images.images
    n = len(images)
    flat = x.reshape(n, math.prod(x.shape[1:]))  # (N, C*H*W)
    finite = torch.nan_to_num(flat, nan=0.0)
    empty = flat.shape[1] == 0
    hashes = [hashlib.sha1(row.numpy().tobytes()).hexdigest() for row in _uint8_rows(finite)]
    table = pd.DataFrame({
        "image_id": images.ids.numpy(),
        "label": images.labels.numpy(),
        "shape": ["x".join(map(str, x.shape[1:]))] * n,
        "dtype": [str(x.dtype).removeprefix("torch.")] * n,
        "pixel_min": 0.0 if empty else finite.amin(1).numpy(),
        "pixel_max": 0.0 if empty else finite.amax(1).numpy(),
        "pixel_std": 0.0 if empty or n == 0 else finite.std(1).numpy(),
        "nan_count": torch.isnan(flat).sum(1).numpy(),
        "content_hash": hashes,
    })
    if train_hashes is not None:
        table["also_in_train"] = [h in train_hashes for h in hashes]
    return table


def validate_splits(
    splits: dict[str, ImageSet], expected_counts: dict[str, int | None], cfg: DataGateConfig
) -> dict[str, Any]:
    """Run the gate on every split; return the JSON report (``success`` false on any failure).

    ``expected_counts[name]`` is the configured size of a split (None: at least one image).
    Validation and test are checked for content overlap with train; the probe set is a subset of
    train by design.
    """
    train_hashes = set(image_table(splits["train"], None)["content_hash"])
    images = pd.concat(
        [image_table(s, train_hashes if name in ("val", "test") else None).assign(split=name)
         for name, s in splits.items()], ignore_index=True,
    )
    images["leaks_from_train"] = images.pop("also_in_train").fillna(False).astype(bool)
    num_classes = next(iter(splits.values())).num_classes
    reports = [
        run_expectations(images, _image_expectations(num_classes, cfg), "images",
                         id_columns=["split", "image_id"], max_examples=cfg.max_examples),
        run_expectations(_split_sizes(splits, expected_counts), _size_expectations(), "split_sizes",
                         id_columns=["split"], max_examples=cfg.max_examples),
        run_expectations(_class_counts(splits, expected_counts), _balance_expectations(cfg),
                         "class_balance", id_columns=["split", "label"],
                         max_examples=cfg.max_examples),
    ]
    return {"success": all(r["success"] for r in reports), "suites": reports}


def raise_on_failure(report: dict[str, Any]) -> None:
    """Raise :class:`DataValidationError` listing every failed expectation of the report."""
    if report["success"]:
        return
    lines = [line for suite in report["suites"] for line in failure_lines(suite)]
    raise DataValidationError("data gate failed:\n  " + "\n  ".join(lines))


def _image_expectations(num_classes: int, cfg: DataGateConfig) -> list:
    import great_expectations as gx

    e = gx.expectations
    if cfg.image_shape is None:
        raise ValueError("data.gate.image_shape: unresolved; call DataGateConfig.expecting first")
    shape = "x".join(map(str, cfg.image_shape))
    return [
        e.ExpectColumnValuesToBeInSet(column="shape", value_set=[shape]),
        e.ExpectColumnValuesToBeInSet(column="dtype", value_set=["float32"]),
        e.ExpectColumnValuesToBeBetween(column="pixel_min", min_value=0.0, max_value=1.0),
        e.ExpectColumnValuesToBeBetween(column="pixel_max", min_value=0.0, max_value=1.0),
        e.ExpectColumnValuesToBeInSet(column="nan_count", value_set=[0]),
        e.ExpectColumnValuesToBeInSet(column="label", value_set=list(range(num_classes))),
        e.ExpectColumnValuesToBeBetween(
            column="pixel_std", min_value=cfg.min_pixel_std, strict_min=True
        ),
        e.ExpectCompoundColumnsToBeUnique(column_list=["split", "image_id"]),
        e.ExpectColumnValuesToBeInSet(column="leaks_from_train", value_set=[False]),
    ]


def _split_sizes(splits: dict[str, ImageSet], expected: dict[str, int | None]) -> pd.DataFrame:
    names = list(splits)
    return pd.DataFrame({
        "split": names,
        "rows": [len(splits[n]) for n in names],
        "min_rows": [expected.get(n) or 1 for n in names],
        "max_rows": [expected.get(n) or max(len(splits[n]), 1) for n in names],
    })


def _size_expectations() -> list:
    import great_expectations as gx

    e = gx.expectations
    return [
        e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="rows", column_B="min_rows", or_equal=True),
        e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="max_rows", column_B="rows", or_equal=True),
    ]


def _class_counts(splits: dict[str, ImageSet], expected: dict[str, int | None]) -> pd.DataFrame:
    frames = []
    for name, images in splits.items():
        k = images.num_classes
        labels = images.labels[(images.labels >= 0) & (images.labels < k)]
        counts = torch.bincount(labels, minlength=k).numpy()
        total = expected.get(name) or int(counts.sum())
        quota = class_quotas(total, k)
        frames.append(pd.DataFrame({"split": name, "label": range(k), "count": counts,
                                    "expected": quota, "ratio": counts / quota.clip(min=1)}))
    return pd.concat(frames, ignore_index=True)


def _balance_expectations(cfg: DataGateConfig) -> list:
    import great_expectations as gx

    tol = cfg.balance_tolerance
    return [gx.expectations.ExpectColumnValuesToBeBetween(
        column="ratio", min_value=1 - tol, max_value=1 + tol
    )]


def _uint8_rows(flat: torch.Tensor) -> torch.Tensor:
    """Images quantised as on disk, so the hash matches the stored bytes."""
    return to_uint8(flat.clamp(0, 1))
