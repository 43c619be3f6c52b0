"""Nodes of the ``data`` pipeline: load the images, split them, gate them with Great Expectations."""

from __future__ import annotations

import json
from typing import Any

import torch

from limeguard.config import from_params
from limeguard.images.imageset import ImageSet
from limeguard.images.load import load_pools
from limeguard.images.source_config import SourceConfig
from limeguard.images.splits import SplitConfig, make_splits
from limeguard.images.spurious import (
    CueConfig,
    cue_record,
    cued_selection,
    make_cue,
    plant_aligned,
    plant_swapped,
)
from limeguard.validation.data_gate import DataGateConfig, raise_on_failure, validate_splits

SPLITS = ("train", "val", "test", "probe")


def load_raw_data(source: dict[str, Any]) -> tuple[ImageSet, ImageSet]:
    """The full train and test pools from the first configured source that has them."""
    return load_pools(from_params(SourceConfig, source, "data.source"))


def split_data(
    train_pool: ImageSet, test_pool: ImageSet, split: dict[str, Any]
) -> tuple[ImageSet, ImageSet, ImageSet, ImageSet]:
    """Stratified train / validation / test / probe splits."""
    splits = make_splits(train_pool, test_pool, from_params(SplitConfig, split, "data.split"))
    return splits.train, splits.val, splits.test, splits.probe


def plant_spurious_cue(
    train: ImageSet, val: ImageSet, test: ImageSet, probe: ImageSet, spurious: dict[str, Any]
) -> tuple[ImageSet, ImageSet, ImageSet, ImageSet, ImageSet, ImageSet, dict[str, Any], ImageSet]:
    """The planted-cue variant: aligned train / val / test / probe, swapped val / test, the cue,
    and the test split as it was before the cue was planted (no image carries one).

    The probe set is a subset of train and carries the cue exactly where train does.
    """
    cfg = from_params(CueConfig, spurious, "data.spurious")
    splits = {"train": train, "val": val, "test": test, "probe": probe}
    cue = make_cue(train.num_classes, *train.images.shape[2:], cfg)
    chosen = {name: cued_selection(splits[name], cfg.fraction, cfg.seed)
              for name in ("train", "val", "test")}
    chosen["probe"] = torch.isin(probe.ids, train.ids[chosen["train"]])
    aligned = [plant_aligned(images, cue, chosen[name]) for name, images in splits.items()]
    swapped = [plant_swapped(splits[name], cue, chosen[name], cfg.seed + 1)
               for name in ("val", "test")]
    record = cue_record(cue, cfg, train, test, chosen["train"], chosen["test"])
    return (*aligned, *swapped, record, test)


def validate_data(
    train: ImageSet, val: ImageSet, test: ImageSet, probe: ImageSet,
    split: dict[str, Any], gate: dict[str, Any], source: dict[str, Any],
) -> dict[str, Any]:
    """The Great Expectations report on every split (written even when it fails); a null
    ``data.gate.image_shape`` expects the shape ``data.source`` yields."""
    cfg = from_params(SplitConfig, split, "data.split")
    gate_cfg = from_params(DataGateConfig, gate, "data.gate").expecting(
        from_params(SourceConfig, source, "data.source").shape or tuple(train.images.shape[1:]))
    expected = {"train": cfg.train_size, "val": cfg.val_size, "test": cfg.test_size,
                "probe": cfg.probe_size}
    sets = dict(zip(SPLITS, (train, val, test, probe), strict=True))
    report = validate_splits(sets, expected, gate_cfg)
    report["data"] = data_manifest(sets)
    return report


def gate_data(
    report: dict[str, Any], train: ImageSet, val: ImageSet, test: ImageSet, probe: ImageSet
) -> tuple[ImageSet, ImageSet, ImageSet, ImageSet, dict[str, Any]]:
    """Pass the splits through only if the report succeeded; also return the data manifest."""
    raise_on_failure(report)
    return train, val, test, probe, report["data"]


def data_manifest(sets: dict[str, ImageSet]) -> dict[str, Any]:
    """Which source the pixels came from, what it is, and how many images each split holds."""
    first = next(iter(sets.values()))
    manifest = {
        "source": first.meta.get("source"),
        "description": first.meta.get("note", "CIFAR (torchvision files)"),
        "classes": list(first.classes),
        "counts": {name: len(images) for name, images in sets.items()},
    }
    for key in ("folder", "layout", "conversions"):  # image_folder / converted data only
        if key in first.meta:
            manifest[key] = json.loads(first.meta[key]) if key == "conversions" else first.meta[key]
    if "spurious_cue" in first.meta:
        manifest["variant"] = "planted spurious cue"
    return manifest
