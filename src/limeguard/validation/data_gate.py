"""The data gate: Great Expectations checks on the CIFAR splits before anything trains on them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch

from limeguard.cifar.imageset import ImageSet, to_uint8
from limeguard.cifar.splits import class_quotas
from limeguard.config import ConfigError
from limeguard.validation.gx import failure_lines, run_expectations


class DataValidationError(ValueError):
    """The data failed the gate; the message names each failed expectation and offending rows."""


@dataclass(frozen=True)
class DataGateConfig:
    """``params:data.gate``.

    Attributes:
        image_shape: expected (C, H, W) of every image.
        balance_tolerance: allowed relative deviation of each class count from an even share.
        min_pixel_std: an image whose pixel standard deviation (in [0, 1] units) is at or below
            this is constant (blank).
        max_examples: offending rows quoted per failed expectation.
    """

    image_shape: tuple[int, ...] = (3, 32, 32)
    balance_tolerance: float = 0.05
    min_pixel_std: float = 1e-3
    max_examples: int = 5

    def __post_init__(self) -> None:
        if not 0 <= self.balance_tolerance < 1:
            raise ConfigError(f"data.gate.balance_tolerance: must be in [0, 1), got {self.balance_tolerance}")


def image_table(images: ImageSet, train_hashes: set[str] | None) -> pd.DataFrame:
    """One row per image: id, label, shape, dtype, pixel min/max/std, NaN count, content hash."""
    x = images.images
    flat = x.reshape(len(images), -1) if x.ndim >= 2 and len(images) else x.reshape(len(images), 0)
    finite = torch.nan_to_num(flat, nan=0.0)
    hashes = [hashlib.sha1(b.numpy().tobytes()).hexdigest() for b in _uint8_rows(x)]
    table = pd.DataFrame({
        "image_id": images.ids.numpy(),
        "label": images.labels.numpy(),
        "shape": ["x".join(map(str, x.shape[1:]))] * len(images),
        "dtype": [str(x.dtype).removeprefix("torch.")] * len(images),
        "pixel_min": finite.amin(1).numpy() if flat.shape[1] else 0.0,
        "pixel_max": finite.amax(1).numpy() if flat.shape[1] else 0.0,
        "pixel_std": finite.std(1).numpy() if flat.shape[1] else 0.0,
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
    reports = []
    for name, images in splits.items():
        overlap = train_hashes if name in ("val", "test") else None
        table = image_table(images, overlap)
        reports.append(run_expectations(
            table, _image_expectations(images, expected_counts.get(name), cfg, overlap is not None),
            f"{name}_images", id_column="image_id", max_examples=cfg.max_examples,
        ))
        reports.append(run_expectations(
            _class_counts(images, expected_counts.get(name)), _balance_expectations(cfg),
            f"{name}_class_balance", id_column="label", max_examples=cfg.max_examples,
        ))
    return {"success": all(r["success"] for r in reports), "suites": reports}


def raise_on_failure(report: dict[str, Any]) -> None:
    """Raise :class:`DataValidationError` listing every failed expectation of the report."""
    if report["success"]:
        return
    lines = [line for suite in report["suites"] for line in failure_lines(suite)]
    raise DataValidationError("data gate failed:\n  " + "\n  ".join(lines))


def _image_expectations(
    images: ImageSet, expected: int | None, cfg: DataGateConfig, check_overlap: bool
) -> list:
    import great_expectations as gx

    e = gx.expectations
    shape = "x".join(map(str, cfg.image_shape))
    checks = [
        e.ExpectTableRowCountToBeBetween(min_value=expected or 1, max_value=expected),
        e.ExpectColumnValuesToBeInSet(column="shape", value_set=[shape]),
        e.ExpectColumnValuesToBeInSet(column="dtype", value_set=["float32"]),
        e.ExpectColumnValuesToBeBetween(column="pixel_min", min_value=0.0, max_value=1.0),
        e.ExpectColumnValuesToBeBetween(column="pixel_max", min_value=0.0, max_value=1.0),
        e.ExpectColumnValuesToBeInSet(column="nan_count", value_set=[0]),
        e.ExpectColumnValuesToBeInSet(column="label", value_set=list(range(images.num_classes))),
        e.ExpectColumnValuesToBeBetween(
            column="pixel_std", min_value=cfg.min_pixel_std, strict_min=True
        ),
        e.ExpectColumnValuesToBeUnique(column="image_id"),
    ]
    if check_overlap:
        checks.append(e.ExpectColumnValuesToBeInSet(column="also_in_train", value_set=[False]))
    return checks


def _class_counts(images: ImageSet, expected_total: int | None) -> pd.DataFrame:
    k = images.num_classes
    counts = torch.bincount(images.labels.clamp(0, max(k - 1, 0)), minlength=k).numpy()[:k]
    total = expected_total if expected_total is not None else int(counts.sum())
    expected = class_quotas(total, k) if k else counts
    ratio = counts / expected.clip(min=1)
    return pd.DataFrame({"label": range(k), "count": counts, "expected": expected, "ratio": ratio})


def _balance_expectations(cfg: DataGateConfig) -> list:
    import great_expectations as gx

    tol = cfg.balance_tolerance
    return [gx.expectations.ExpectColumnValuesToBeBetween(
        column="ratio", min_value=1 - tol, max_value=1 + tol
    )]


def _uint8_rows(x: torch.Tensor) -> torch.Tensor:
    """Images quantised as on disk, so the hash matches the stored bytes."""
    return to_uint8(torch.nan_to_num(x, nan=0.0).clamp(0, 1)).reshape(len(x), -1)
