"""AutoAttack with few classes: what the class count cannot run is left out, and said so."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from limeguard.attacks.autoattack import AA_ATTACKS, FALLBACK
from limeguard.attacks.factory import build_attack

EPS_255 = 2.0


def confident_model(n_classes: int) -> nn.Module:
    """Logits ``(N, n_classes)`` for ``(N, 3, 8, 8)``: class 0 by a wide margin, so no attack at
    ε = 2/255 succeeds and every attack of the cascade runs on every image."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, n_classes))
    with torch.no_grad():
        model[1].weight.mul_(0.1)
        model[1].bias.copy_(torch.linspace(5.0, 0.0, n_classes))
    return model.eval()


@pytest.mark.parametrize(
    ("n_classes", "name", "ran", "left_out", "targets"),
    [
        (2, "autoattack", ("apgd-ce", "fab-t", "square"), ("apgd-t",), 1),
        (3, "autoattack", ("apgd-ce", "fab-t", "square"), ("apgd-t",), 2),
        (4, "autoattack", ("apgd-ce", "apgd-t", "fab-t", "square"), (), 3),
        (2, "autoattack_fast", ("apgd-ce",), ("apgd-t",), 1),
        (3, "autoattack_fast", ("apgd-ce",), ("apgd-t",), 2),
    ],
)
def test_plan_leaves_out_what_the_class_count_cannot_run(n_classes, name, ran, left_out, targets):
    plan = build_attack(name, 8).plan(n_classes)
    assert (plan.attacks, plan.dropped, plan.n_target_classes) == (ran, left_out, targets)
    assert plan.changed
    assert plan.note().startswith(f"with {n_classes} classes AutoAttack ran {', '.join(ran)}")
    for attack in left_out:
        assert f"left out {attack} (needs >= 4 classes)" in plan.note()


@pytest.mark.parametrize(("name", "n_classes"), [("autoattack", 10), ("autoattack_fast", 4),
                                                  ("autoattack_fast", 10), ("autoattack", 100)])
def test_plan_is_unchanged_with_enough_classes(name, n_classes):
    attack = build_attack(name, 8)
    plan = attack.plan(n_classes)
    assert not plan.changed and plan.dropped == () and plan.attacks == plan.configured


def test_dlr_only_configuration_falls_back_to_apgd_ce_and_says_so():
    plan = build_attack("autoattack_fast", 8, attacks=["apgd-dlr", "apgd-t"]).plan(2)
    assert plan.attacks == (FALLBACK,) and plan.dropped == ("apgd-dlr", "apgd-t")
    assert "apgd-dlr (needs >= 3 classes)" in plan.note()
    assert f"{FALLBACK} ran in their place" in plan.note()
    assert build_attack("autoattack_fast", 8, attacks=["apgd-dlr"]).plan(3).attacks == ("apgd-dlr",)


def test_fewer_than_two_classes_is_refused():
    with pytest.raises(ValueError, match="at least 2 classes"):
        build_attack("autoattack", 8).plan(1)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("version", ["custom", "standard"])
def test_every_attack_runs_with_two_and_three_classes(n_classes, version):
    model = confident_model(n_classes)
    x = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    y = torch.zeros(4, dtype=torch.long)
    if version == "standard":
        attack = build_attack("autoattack", EPS_255)
    else:
        attack = build_attack("autoattack_fast", EPS_255, attacks=list(AA_ATTACKS), n_iter=5,
                              n_queries=20)
    x_adv = attack(model, x, y)
    assert x_adv.shape == x.shape and x_adv.min() >= 0 and x_adv.max() <= 1
    assert (x_adv - x).abs().max() <= EPS_255 / 255 + 1e-6
    assert (model(x_adv).argmax(1) == y).all()  # survived every attack that ran
