"""Gradient-masking checks: a healthy model passes, a masked one is flagged, nothing is raised."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch
from torch import nn

from limeguard.evaluation import (
    AttackSpec,
    EvalConfig,
    MaskingCheckConfig,
    check_gradient_masking,
    evaluate_model,
    model_facts,
    summarize,
)
from tests.attacks.tiny import synthetic_images

CFG = EvalConfig(
    attacks=(
        AttackSpec("fgsm", sweep=True),
        AttackSpec("pgd", options={"steps": 10}, sweep=True),
        AttackSpec("autoattack_fast", options={"n_iter": 10, "n_target_classes": 2}),
        AttackSpec("square", options={"n_queries": 100}),
    ),
    eps_255=(2.0, 8.0, 16.0),
    small_eps_linf=(),
    batch_size=32,
)


class Quantized(nn.Module):
    """Rounds its input to 8 levels first: zero gradients, the textbook masked model."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(torch.round(x * 8) / 8)


class Softmax(nn.Sequential):
    pass


class Noisy(nn.Module):
    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x + 0.01 * torch.randn_like(x))


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor]:
    return synthetic_images(24, seed=9)


def _check(model: nn.Module, data) -> dict:
    x, y = data
    summary = summarize(evaluate_model(model, x, y, None, CFG, progress=False))
    return check_gradient_masking(summary, model_facts(model, x, y))


def _by_name(report: dict) -> dict[str, dict]:
    return {c["name"]: c for c in report["checks"]}


def test_healthy_model_passes_every_check(tiny_model, data):
    report = _check(tiny_model, data)
    assert report["success"], report["failed"]
    assert report["n_checks"] == 8 and report["skipped"] == []
    assert json.loads(json.dumps(report, allow_nan=False)) == report


def test_masked_model_is_flagged_not_raised(tiny_model, data):
    report = _check(Quantized(tiny_model).eval(), data)
    assert not report["success"]
    assert {
        "square_ge_whitebox_worst_case",
        "pgd_falls_at_large_eps",
        "probe_attack_succeeds",
    } <= set(report["failed"])
    square = _by_name(report)["square_ge_whitebox_worst_case"]
    assert square["message"].startswith("VIOLATED") and "ε=8/255: square" in square["message"]
    json.dumps(report, allow_nan=False)


def test_probabilities_and_randomness_are_facts_that_fail(tiny_model, data):
    x, y = data
    softmax = Softmax(tiny_model, nn.Softmax(dim=1)).eval()
    facts = model_facts(softmax, x, y, MaskingCheckConfig(probe_size=8))
    assert bool(facts["looks_like_probabilities"].iloc[0])
    noisy = model_facts(Noisy(tiny_model).eval(), x, y, MaskingCheckConfig(probe_size=8))
    assert noisy["forward_max_abs_diff"].iloc[0] > 1e-3
    summary = pd.DataFrame(columns=["attack", "eps_255", "eps_linf", "n", "n_correct", "accuracy"])
    for table, failing in ((facts, "outputs_are_logits"), (noisy, "forward_is_deterministic")):
        report = check_gradient_masking(summary, table)
        assert failing in report["failed"]
        assert "pgd_ge_autoattack" in report["skipped"]


def _summary(rows: list[tuple[str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "attack": a,
                "eps_255": e,
                "eps_linf": e / 255,
                "n": 100,
                "n_correct": round(acc * 100),
                "accuracy": acc,
            }
            for a, e, acc in rows
        ]
    )


def test_orderings_are_checked_per_eps_with_tolerance():
    summary = _summary(
        [
            ("clean", 0, 0.9),
            ("fgsm", 4, 0.50),
            ("fgsm", 8, 0.40),
            ("fgsm", 16, 0.20),
            ("pgd", 4, 0.55),
            ("pgd", 8, 0.305),
            ("pgd", 16, 0.35),
            ("autoattack", 8, 0.31),
            ("square", 8, 0.20),
            ("worst_case_whitebox", 8, 0.25),
        ]
    )
    report = check_gradient_masking(summary, cfg=MaskingCheckConfig(tolerance=0.01))
    checks = _by_name(report)
    assert set(report["failed"]) == {
        "fgsm_ge_pgd",
        "square_ge_whitebox_worst_case",
        "accuracy_non_increasing_in_eps",
        "pgd_falls_at_large_eps",
    }
    assert checks["pgd_ge_autoattack"]["success"]  # 0.305 vs 0.31: within tolerance
    assert "ε=4/255: fgsm 0.500 < pgd 0.550" in checks["fgsm_ge_pgd"]["message"]
    assert "ε=16/255: fgsm 0.200 < pgd 0.350" in checks["fgsm_ge_pgd"]["message"]
    assert checks["fgsm_ge_pgd"]["n_violations"] == 2
    assert "pgd ε=16/255: 0.350 > 0.305" in checks["accuracy_non_increasing_in_eps"]["message"]
    assert set(report["skipped"]) == {
        "probe_attack_succeeds",
        "outputs_are_logits",
        "forward_is_deterministic",
    }
