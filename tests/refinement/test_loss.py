"""RefinementLoss: each ablation computes only its terms; values; empty set; shape errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from limeguard.refinement import (
    RefineConfig,
    RefinementLoss,
    apply_mask,
    counterfactual_donors,
    counterfactual_fill,
    input_gradient_penalty,
    sensitivity_penalty,
)
from limeguard.training import LossOutput
from limeguard.training.config import AttackSettings
from tests.refinement.conftest import CountingNet, images, random_masks, tiny_net

# the first version's terms: half of each batch blurred, the loss-gradient penalty
FAST = dict(mask_fraction=0.5, fill="blur", penalty="loss_gradient", lambda_reg=10.0)
ATTACK = AttackSettings(steps=2, alpha_255=2.0)  # the training recipe's attack


def _run(cfg: RefineConfig, masks: torch.Tensor, sensitivity=None):
    model = CountingNet(tiny_net())
    x, y = images(8, seed=1)
    loss = RefinementLoss(cfg, masks, sensitivity, attack=ATTACK)
    out = loss(model, x, y, torch.arange(8))
    return out, model.calls, loss.pop_term_means()


@pytest.mark.parametrize(
    ("ablation", "terms", "calls"),
    [
        # attack: 2 steps + final forward; masking: the 4 masked images; penalty: one forward
        ("all", {"adversarial", "masking", "regularization"}, [8, 8, 8, 4, 8]),
        ("masking_only", {"base", "masking"}, [8, 4]),
        ("regularization_only", {"base", "regularization"}, [8, 8]),
        ("augmentation_only", {"adversarial"}, [8, 8, 8]),
    ],
)
def test_each_ablation_computes_only_its_terms(ablation, terms, calls) -> None:
    out, seen, means = _run(RefineConfig(ablation=ablation, **FAST), random_masks(8, seed=2))
    assert isinstance(out, LossOutput) and out.logits.shape == (8, 3)
    assert set(means) == {f"term_{t}" for t in terms}
    assert seen == calls
    assert torch.isclose(out.loss, torch.tensor(sum(means.values())), rtol=1e-5)
    assert out.loss.requires_grad


def test_values_of_masking_and_regularization_terms() -> None:
    cfg = RefineConfig(use_augmentation=False, mask_fraction=1.0, alpha=0.5, lambda_reg=3.0,
                       fill="mean", penalty="loss_gradient", adv_on_masked=False)  # fmt: skip
    model = tiny_net().eval()
    x, y = images(8, seed=3)
    m = random_masks(8, seed=4)
    s = torch.rand(8, 12, 12) + 0.5
    loss = RefinementLoss(cfg, m, s, attack=ATTACK)(model, x, y, torch.arange(8))
    expected = (F.cross_entropy(model(x), y)
                + 0.5 * F.cross_entropy(model(apply_mask(x, m, "mean")), y)
                + 3.0 * sensitivity_penalty(model, x, y, (s * m)[:, None]))  # fmt: skip
    assert torch.allclose(loss.loss, expected, rtol=1e-5)


def test_index_selects_the_images_masks() -> None:
    cfg = RefineConfig(ablation="masking_only", mask_fraction=1.0, fill="zero", adv_on_masked=False)
    masks = torch.zeros(20, 12, 12)
    masks[13] = 1.0  # only training image 13 is flagged: fully zeroed
    model = CountingNet(tiny_net().eval())
    x, y = images(2, seed=5)
    out = RefinementLoss(cfg, masks, attack=ATTACK)(model, x, y, torch.tensor([4, 13]))
    assert model.calls == [2, 1]  # the masking term runs on the one flagged image
    expected = F.cross_entropy(model(x), y) + F.cross_entropy(model(torch.zeros(1, 3, 12, 12)),
                                                              y[1:])  # fmt: skip
    assert torch.allclose(out.loss, expected, rtol=1e-5)


def test_mask_fraction_zero_masks_nothing() -> None:
    out, seen, means = _run(RefineConfig(ablation="masking_only", mask_fraction=0.0),
                            random_masks(8, seed=6))  # fmt: skip
    assert seen == [8] and means["term_masking"] == 0.0


def test_empty_spurious_set_is_adversarial_fine_tuning() -> None:
    cfg = RefineConfig(**FAST)
    loss = RefinementLoss(cfg, torch.zeros(8, 12, 12), attack=ATTACK)
    assert loss.empty_spurious_set
    model = CountingNet(tiny_net())
    x, y = images(8, seed=7)
    out = loss(model, x, y, torch.arange(8))
    assert model.calls == [8, 8, 8] and torch.isfinite(out.loss)
    assert set(loss.pop_term_means()) == {"term_adversarial"}
    assert not RefinementLoss(cfg, random_masks(8, seed=8), attack=ATTACK).empty_spurious_set


def test_mismatched_shapes_are_named() -> None:
    cfg = RefineConfig(**FAST)
    x, y = images(2, seed=9)
    with pytest.raises(ValueError, match=r"\(4, 1, 8, 8\).*\(2, 3, 12, 12\)"):
        RefinementLoss(cfg, torch.ones(4, 8, 8), attack=ATTACK)(tiny_net(), x, y, torch.arange(2))
    with pytest.raises(ValueError, match=r"sensitivity of shape \(4, 6, 6\).*\(4, 1, 12, 12\)"):
        RefinementLoss(cfg, torch.ones(4, 12, 12), torch.ones(4, 6, 6), attack=ATTACK)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        RefinementLoss(cfg, torch.full((4, 12, 12), 2.0), attack=ATTACK)


def test_counterfactual_terms_and_consistency() -> None:
    cfg = RefineConfig(use_augmentation=False, alpha=0.5, lambda_reg=3.0, consistency_weight=2.0)
    assert cfg.terms == ("base", "masking", "regularization", "consistency")
    model = tiny_net().eval()
    x, y = images(8, seed=3)
    m = random_masks(8, seed=4)
    torch.manual_seed(11)
    loss = RefinementLoss(cfg, m, attack=ATTACK)(model, x, y, torch.arange(8))
    torch.manual_seed(11)
    torch.rand(8)  # the draw that chooses the masked images (all of them here)
    x_cf = counterfactual_fill(x, m[:, None], counterfactual_donors(y), torch.ones(8, dtype=bool))
    kl = F.kl_div(F.log_softmax(model(x_cf), 1), F.softmax(model(x), 1), reduction="batchmean")
    # the first term sees the counterfactual batch too: a clean term would keep paying the cue
    expected = (F.cross_entropy(model(x_cf), y) + 0.5 * F.cross_entropy(model(x_cf), y)
                + 3.0 * input_gradient_penalty(model, x, y, m[:, None], "rrr") + 2.0 * kl)
    assert torch.allclose(loss.loss, expected, rtol=1e-5)
