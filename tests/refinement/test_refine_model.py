"""refine_model: a short run through train_model, the empty-mask flag, shape errors, the
training recipe's attack."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import torch

from limeguard.attacks.pgd import PGD
from limeguard.refinement import RefineConfig, RefineResult, build_refine_attack, refine_model
from limeguard.training import TrainConfig, TrainResult
from limeguard.training.config import AttackSettings
from tests.refinement.conftest import images, random_masks, tiny_net

TRAIN = TrainConfig(method="pgd_at", epochs=1, batch_size=32,
                    attack=AttackSettings(steps=1, alpha_255=2.0), val_steps=1, val_max_images=16,
                    lr=0.05)  # fmt: skip
REFINE = RefineConfig()


def test_one_epoch_on_64_images() -> None:
    tx, ty = images(64, seed=1)
    vx, vy = images(16, seed=2)
    s = torch.rand(64, 1, 12, 12)
    before = [p.detach().clone() for p in tiny_net().parameters()]
    result = refine_model(tiny_net(), tx, ty, vx, vy, random_masks(64, seed=3), s, REFINE,
                          TRAIN, progress=False)  # fmt: skip
    assert isinstance(result, RefineResult) and isinstance(result, TrainResult)
    assert result.stop_reason == "completed" and not result.empty_spurious_set
    assert list(result.terms.columns) == ["epoch", "term_adversarial", "term_masking",
                                          "term_regularization"]  # fmt: skip
    assert (result.terms.drop(columns="epoch") > 0).all().all()
    assert 0 < result.masked_pixel_share < 1
    after = list(result.model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before, strict=True))


def test_a_resumed_run_reports_the_terms_of_every_epoch(tmp_path) -> None:
    """A rerun over a finished checkpoint trains nothing, yet returns the same per-epoch terms
    (a round's round_info.json must not depend on whether it resumed)."""
    tx, ty = images(64, seed=1)
    masks, cfg = random_masks(64, seed=3), dataclasses.replace(TRAIN, epochs=2)
    first = refine_model(tiny_net(), tx, ty, tx[:16], ty[:16], masks, None, REFINE, cfg,
                         checkpoint_dir=tmp_path, progress=False)  # fmt: skip
    again = refine_model(tiny_net(), tx, ty, tx[:16], ty[:16], masks, None, REFINE, cfg,
                         checkpoint_dir=tmp_path, progress=False)  # fmt: skip
    assert list(first.terms["epoch"]) == [0, 1]
    pd.testing.assert_frame_equal(again.terms, first.terms)


def test_empty_masks_set_the_flag() -> None:
    tx, ty = images(64, seed=4)
    result = refine_model(tiny_net(), tx, ty, tx[:16], ty[:16], torch.zeros(64, 12, 12), None,
                          REFINE, TRAIN, progress=False)  # fmt: skip
    assert result.empty_spurious_set and result.masked_pixel_share == 0.0
    assert list(result.terms.columns) == ["epoch", "term_adversarial"]


def test_mask_shape_mismatch_is_named() -> None:
    tx, ty = images(8, seed=5)
    with pytest.raises(ValueError, match=r"masks of shape \(8, 16, 16\).*\(8, 3, 12, 12\)"):
        refine_model(tiny_net(), tx, ty, tx, ty, torch.zeros(8, 16, 16), None, REFINE, TRAIN,
                     progress=False)  # fmt: skip
    with pytest.raises(ValueError, match=r"\(7, 12, 12\)"):
        refine_model(tiny_net(), tx, ty, tx, ty, torch.zeros(7, 12, 12), None, REFINE, TRAIN,
                     progress=False)  # fmt: skip


def test_the_attack_is_the_training_recipes() -> None:
    recipe = AttackSettings(eps_255=4.0, alpha_255=1.0, steps=3, random_start=False)
    assert build_refine_attack(RefineConfig(augment="pgd"), recipe) == PGD(
        4.0, 1.0, steps=3, random_start=False, train_mode=True)
    fast = build_refine_attack(RefineConfig(augment="fgsm_rs"), recipe)
    assert (fast.eps_255, fast.alpha_255, fast.steps) == (4.0, 5.0, 1)  # 1.25 ε, one step
    assert build_refine_attack(RefineConfig(augment="none"), recipe) is None

