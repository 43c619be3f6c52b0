"""Our attacks against torchattacks 3.5.1 on the same model, batch and seed."""

from __future__ import annotations

import pytest
import torch
import torchattacks

from limeguard.attacks import build_attack


def _accuracy(model, x, y) -> float:
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


@pytest.mark.parametrize("eps_255", [2.0, 8.0])
def test_fgsm_equals_torchattacks_exactly(tiny_model, batch, eps_255):
    x, y = batch
    ours = build_attack("fgsm", eps_255)(tiny_model, x, y)
    theirs = torchattacks.FGSM(tiny_model, eps=eps_255 / 255)(x, y)
    assert torch.equal(ours, theirs)


def test_pgd_without_random_start_matches_torchattacks(tiny_model, batch):
    x, y = batch
    ours = build_attack("pgd", 8, random_start=False, steps=10, alpha_255=2)(tiny_model, x, y)
    theirs = torchattacks.PGD(tiny_model, eps=8 / 255, alpha=2 / 255, steps=10, random_start=False)(
        x, y
    )
    assert torch.allclose(ours, theirs, atol=1e-6)


@pytest.mark.parametrize("eps_255", [4.0, 8.0])
def test_pgd_random_start_agrees_with_torchattacks(tiny_model, batch, eps_255):
    """Same seed, same uniform draws: the same points up to float rounding, same accuracy."""
    x, y = batch
    torch.manual_seed(11)
    ours = build_attack("pgd", eps_255, alpha_255=2)(tiny_model, x, y)
    torch.manual_seed(11)
    theirs = torchattacks.PGD(tiny_model, eps=eps_255 / 255, alpha=2 / 255, steps=20)(x, y)
    assert torch.allclose(ours, theirs, atol=1e-6)
    assert abs(_accuracy(tiny_model, ours, y) - _accuracy(tiny_model, theirs, y)) <= 1 / 16
    torch.manual_seed(12)  # another seed: accuracy agrees within a small margin
    other = torchattacks.PGD(tiny_model, eps=eps_255 / 255, alpha=2 / 255, steps=20)(x, y)
    assert abs(_accuracy(tiny_model, ours, y) - _accuracy(tiny_model, other, y)) <= 2 / 16


def test_cw_linf_is_no_weaker_than_torchattacks_pgd_much(tiny_model, batch):
    """CW-L∞ (PGD on the margin) lands within a small margin of CE-PGD's accuracy."""
    x, y = batch
    torch.manual_seed(0)
    cw = _accuracy(tiny_model, build_attack("cw", 4)(tiny_model, x, y), y)
    pgd = _accuracy(
        tiny_model, torchattacks.PGD(tiny_model, eps=4 / 255, alpha=1 / 255, steps=20)(x, y), y
    )
    assert abs(cw - pgd) <= 2 / 16
