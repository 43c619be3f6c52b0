"""Property tests every attack must pass: budget, range, no mutation, mode restored, determinism."""

from __future__ import annotations

import copy

import pytest
import torch

from limeguard.attacks import build_attack

EPS_255 = 8.0
CASES = [
    ("fgsm", {}),
    ("pgd", {}),
    ("pgd_restarts", {"restarts": 2, "steps": 5}),
    ("cw", {"steps": 10}),
    ("autoattack_fast", {"n_iter": 5, "n_target_classes": 2}),
    ("square", {"n_queries": 30}),
]
IDS = [name for name, _ in CASES]


def _accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


@pytest.mark.parametrize(("name", "options"), CASES, ids=IDS)
def test_attack_contract(name, options, tiny_model, batch):
    model = copy.deepcopy(tiny_model).train()  # train mode in, train mode out
    x, y = batch
    x_before, state_before = x.clone(), copy.deepcopy(model.state_dict())
    x_adv = build_attack(name, EPS_255, **options)(model, x, y)

    assert model.training
    assert torch.equal(x, x_before)
    assert x_adv.shape == x.shape and x_adv.dtype == torch.float32
    assert (x_adv - x).abs().max().item() <= EPS_255 / 255 + 1e-6
    assert x_adv.min().item() >= 0 and x_adv.max().item() <= 1
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state_before.items())
    assert all(p.requires_grad for p in model.parameters())
    model.eval()
    assert _accuracy(model, x_adv, y) <= _accuracy(model, x, y)


@pytest.mark.parametrize(("name", "options"), CASES, ids=IDS)
def test_eval_mode_restored_and_same_seed_same_result(name, options, tiny_model, batch):
    x, y = batch
    attack = build_attack(name, EPS_255, **options)
    torch.manual_seed(7)
    first = attack(tiny_model, x, y)
    assert not tiny_model.training
    torch.manual_seed(7)
    second = attack(tiny_model, x, y)
    assert torch.equal(first, second)


@pytest.mark.parametrize("name", ["autoattack_fast", "square"])
def test_seeded_attacks_leave_global_rng_alone(name, tiny_model, batch):
    x, y = batch
    options = {"n_queries": 10} if name == "square" else {"n_iter": 3}
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    build_attack(name, EPS_255, **options)(tiny_model, x, y)
    assert torch.equal(torch.rand(3), expected)


def test_autoattack_standard_contract(tiny_model, batch):
    """The published ensemble, on 6 images (its cost is in the images PGD cannot break)."""
    model = copy.deepcopy(tiny_model).train()
    x, y = batch[0][:6], batch[1][:6]
    x_adv = build_attack("autoattack", 8.0)(model, x, y)
    assert model.training
    assert (x_adv - x).abs().max().item() <= 8 / 255 + 1e-6
    assert x_adv.min().item() >= 0 and x_adv.max().item() <= 1
    model.eval()
    pgd = build_attack("pgd", 8.0)(model, x, y)
    assert _accuracy(model, x_adv, y) <= _accuracy(model, pgd, y) + 1 / 6


def test_stronger_attacks_do_at_least_as_well(tiny_model, batch):
    x, y = batch
    torch.manual_seed(0)
    acc = {
        name: _accuracy(tiny_model, build_attack(name, 8.0)(tiny_model, x, y), y)
        for name in ("fgsm", "pgd", "pgd_restarts")
    }
    assert acc["pgd_restarts"] <= acc["pgd"] <= acc["fgsm"] < _accuracy(tiny_model, x, y)


def test_zero_eps_returns_a_copy(tiny_model, batch):
    x, y = batch
    for name in ("fgsm", "pgd", "cw", "autoattack_fast", "square"):
        x_adv = build_attack(name, 0)(tiny_model, x, y)
        assert torch.equal(x_adv, x) and x_adv is not x
