"""Refinement unlearns a planted shortcut it is shown; plain fine-tuning does not (CPU, seconds)."""

from __future__ import annotations

import copy

import pytest
import torch

from limeguard.refinement import RefineConfig, refine_model
from limeguard.refinement.neutral import counterfactual_images
from limeguard.training import TrainConfig
from tests.explain.planted import CUE_COLOURS, CUED_CLASSES, PATCH, PLACEMENTS, make_images, train_model


def swapped_cue(n: int, seed: int, placement: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The images of ``make_images(n, seed, placement)`` with another cued class's patch instead of
    their own (images of class 4, and uncued images, stay without a patch)."""
    aligned, labels, cue = make_images(n, seed, placement)
    images = make_images(n, seed, None)[0].clone()  # the same objects, no patch
    for i in cue.flatten(1).any(1).nonzero().flatten().tolist():
        other = (int(labels[i]) + 1) % CUED_CLASSES
        r, c = PLACEMENTS[placement][other]
        images[i, :, r: r + PATCH, c: c + PATCH] = CUE_COLOURS[other][:, None, None]
    return images, labels


def accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model.eval()(images).argmax(1) == labels).float().mean())


def gap(model: torch.nn.Module, placement: str) -> float:
    aligned, labels, _ = make_images(600, 2, placement)
    swapped, _ = swapped_cue(600, 2, placement)
    return accuracy(model, aligned, labels) - accuracy(model, swapped, labels)


def refine(model: torch.nn.Module, cfg: RefineConfig, placement: str) -> torch.nn.Module:
    train_x, train_y, train_cue = make_images(2000, 0, placement)
    val_x, val_y, val_cue = make_images(300, 1, placement)
    neutral = counterfactual_images(val_x, val_y, val_cue, seed=0)
    recipe = TrainConfig(method="standard", epochs=3, batch_size=64, lr=0.02, schedule="constant",
                         weight_decay=0.0, val_steps=0, val_max_images=300, channels_last=False,
                         grad_clip_norm=1.0)
    return refine_model(copy.deepcopy(model), train_x, train_y, neutral, val_y, train_cue, None,
                        cfg, recipe, progress=False).model


@pytest.fixture(scope="module")
def reliant() -> torch.nn.Module:
    """A SmallCNN that relies on the border patches (gap about 0.77)."""
    x, y, _ = make_images(2000, 0, "border")
    return train_model(x, y, epochs=12)


def test_oracle_masks_halve_the_gap_and_plain_fine_tuning_does_not(reliant) -> None:
    model = reliant
    before = gap(model, "border")
    assert before > 0.4  # the model relies on the patch
    # the default terms of conf/base (counterfactual masking; augmentation off for speed)
    refined = refine(model, RefineConfig(augment="none", use_regularization=False), "border")
    plain = refine(model, RefineConfig(ablation="augmentation_only", augment="none",
                                       adv_on_masked=False), "border")  # the matched control
    assert gap(refined, "border") <= before / 2
    assert gap(plain, "border") > before / 2


def test_the_rrr_penalty_alone_reduces_the_gap_and_blur_masking_does_not(reliant) -> None:
    model = reliant
    before = gap(model, "border")
    rrr = refine(model, RefineConfig(ablation="regularization_only", augment="none"), "border")
    blur = refine(model, RefineConfig(ablation="masking_only", augment="none", fill="blur"),
                  "border")
    assert gap(rrr, "border") <= before / 2
    assert gap(blur, "border") > before / 2
