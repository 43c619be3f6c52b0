"""Rounds nodes: oracle masks, cue-neutral selection, checkpoints keyed by the parent model."""

from __future__ import annotations

import pytest
import torch

from limeguard.config import ConfigError, from_params
from limeguard.hooks.parameters import check_across_sections
from limeguard.images.imageset import ImageSet
from limeguard.models import build_model
from limeguard.pipelines.report.nodes import round_notes
from limeguard.pipelines.rounds.nodes import refine_round, train_control
from limeguard.refinement.rounds import RoundsParams, accumulated_masks, cue_neutral_validation

CLASSES = tuple(f"c{i}" for i in range(4))


def image_set(n: int, seed: int) -> ImageSet:
    g = torch.Generator().manual_seed(seed)
    return ImageSet(torch.rand((n, 3, 32, 32), generator=g), torch.arange(n) % 4,
                    torch.arange(n) + 100 * seed, CLASSES)


def mined_masks(train: ImageSet, class_masks: torch.Tensor) -> dict:
    n = len(train)
    return {"pixel_masks": torch.zeros((n, 32, 32), dtype=torch.uint8), "class_masks": class_masks,
            "sensitivity": torch.ones((n, 1, 32, 32)), "ids": train.ids, "labels": train.labels}


def cue_record(train: ImageSet) -> dict:
    class_masks = torch.zeros((4, 32, 32), dtype=torch.uint8)
    for c in range(4):
        class_masks[c, 4 * c: 4 * c + 4, :4] = 1
    return {"class_masks": class_masks, "train_cued_ids": train.ids}


def test_oracle_masks_are_refused_outside_a_planted_env() -> None:
    with pytest.raises(ConfigError, match="rounds.refine.masks"):
        check_across_sections({"rounds": {"refine": {"masks": "oracle"}}})
    check_across_sections({"rounds": {"refine": {"masks": "oracle"}},
                           "data": {"spurious": {"enabled": True}}})
    cfg = from_params(RoundsParams, {"refine": {"masks": "oracle"}}, "rounds")
    val = image_set(8, 1)
    with pytest.raises(ConfigError, match="rounds.refine.masks"):
        cue_neutral_validation(val, mined_masks(val, torch.zeros(4, 32, 32)), cfg, None)


def test_cue_neutral_validation_swaps_only_the_flagged_regions() -> None:
    val = image_set(40, 2)
    cue = cue_record(val)
    oracle = from_params(RoundsParams, {"refine": {"masks": "oracle"}}, "rounds")
    neutral = cue_neutral_validation(val, mined_masks(val, torch.zeros(4, 32, 32)), oracle, cue)
    changed = (neutral.images != val.images).any(1)  # (N, H, W)
    region = cue["class_masks"].bool().any(0)
    assert changed.any() and not (changed & ~region).any()
    assert torch.equal(neutral.labels, val.labels)
    mined = from_params(RoundsParams, {}, "rounds")
    nothing = cue_neutral_validation(val, mined_masks(val, torch.zeros(4, 32, 32)), mined, None)
    assert torch.equal(nothing.images, val.images)
    as_is = from_params(RoundsParams, {"selection": "validation"}, "rounds")
    assert cue_neutral_validation(val, {}, as_is, cue) is val


def test_control_checkpoints_are_keyed_by_the_parent_model(tmp_path) -> None:
    train, val = image_set(64, 3), image_set(16, 4)
    rounds = {"count": 1, "checkpoint_root": str(tmp_path),
              "train": {"method": "standard", "epochs": 1, "batch_size": 32, "val_steps": 0,
                        "val_max_images": 16}}
    runtime = {"device": "cpu", "progress": False}
    masks = mined_masks(train, torch.zeros(4, 32, 32))
    first = train_control(build_model("cnn_small", 4), train, val, masks, rounds, runtime,
                          dag_rounds=1)[0]
    torch.manual_seed(1)
    other = build_model("cnn_small", 4)
    second = train_control(other, train, val, masks, rounds, runtime, dag_rounds=1)[0]
    assert len(list((tmp_path / "control_1").iterdir())) == 2  # a new parent trains anew
    assert not torch.equal(next(first.parameters()), next(second.parameters()))


def test_a_counterfactual_fill_needs_two_classes() -> None:
    one_class = image_set(8, 5)
    one_class = ImageSet(one_class.images, torch.zeros(8, dtype=torch.long), one_class.ids, CLASSES)
    rounds = {"count": 1, "train": {"method": "standard", "epochs": 1, "val_steps": 0}}
    with pytest.raises(ConfigError, match="rounds.refine.fill"):
        refine_round(build_model("cnn_small", 4), one_class, one_class,
                     mined_masks(one_class, torch.zeros(4, 32, 32)), rounds,
                     {"device": "cpu", "progress": False}, round_index=1, dag_rounds=1)


def test_a_diverging_round_keeps_the_last_good_weights_and_says_so(tmp_path) -> None:
    train, val = image_set(64, 6), image_set(16, 7)  # a penalty weight of 1e9 at lr 10, unclipped: inf
    rounds = {"count": 1, "checkpoint_root": str(tmp_path),
              "refine": {"fill": "zero", "augment": "none", "lambda_reg": 1e9},
              "train": {"method": "standard", "epochs": 2, "batch_size": 32, "lr": 10.0,
                        "val_steps": 0, "val_max_images": 16, "grad_clip_norm": None}}
    masks = mined_masks(train, torch.zeros(4, 32, 32))
    masks["pixel_masks"][:, :8, :8] = 1
    previous = build_model("cnn_small", 4)
    model, history, info = refine_round(previous, train, val, masks, rounds,
                                        {"device": "cpu", "progress": False},
                                        round_index=1, dag_rounds=1)
    assert info["stop_reason"] == "diverged"
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert "diverged" in " ".join(round_notes(info))


def test_masks_accumulate_over_rounds() -> None:
    train = image_set(8, 8)
    first = mined_masks(train, torch.zeros(4, 32, 32))
    first["pixel_masks"][0, :4, :4] = 1  # found in round 0, unlearnt by round 1
    first["class_masks"][1, :4, :4] = 0.5
    latest = mined_masks(train, torch.zeros(4, 32, 32))
    latest["pixel_masks"][1, 8:, 8:] = 1
    both = accumulated_masks(latest, [first])
    assert both["pixel_masks"][0, :4, :4].all() and both["pixel_masks"][1, 8:, 8:].all()
    assert float(both["class_masks"][1, 0, 0]) == 0.5 and both["sensitivity"] is latest["sensitivity"]
    assert int(both["pixel_masks"].sum()) == 16 + 24 * 24
    other = mined_masks(image_set(8, 9), torch.zeros(4, 32, 32))
    with pytest.raises(ValueError, match="other images"):
        accumulated_masks(latest, [other])
