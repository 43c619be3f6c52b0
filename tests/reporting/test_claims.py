"""Claim verdicts from constructed numbers."""

from __future__ import annotations

import pytest

from limeguard.reporting import ReportConfig, build_report
from limeguard.reporting.claims import all_claims, gain
from limeguard.reporting.view import build_view
from tests.reporting.synthetic import MIRROR, run_inputs


def claims(inputs, cfg=None):
    return {c.key: c for c in all_claims(build_view(inputs, cfg or ReportConfig()))}


def test_round_beats_both_references_is_supported(full_report):
    a = full_report.metrics["claims"]["a"]
    assert a["verdict"] == "supported"
    assert a["numbers"]["gain_vs_adversarial_points"] == pytest.approx(10.0)
    assert a["numbers"]["gain_vs_control_points"] == pytest.approx(7.0)


def test_beats_baseline_but_not_control_is_not_supported():
    c = claims(run_inputs(round_aa=(0.40, 0.45), control_aa=0.44))["a"]
    assert c.verdict == "not supported"
    assert "not the matched control" in c.evidence and "extra epochs" in c.evidence


def test_no_control_is_mixed():
    c = claims(run_inputs(control_aa=None))["a"]
    assert c.verdict == "mixed" and "no matched control" in c.evidence


def test_gain_within_noise_is_not_supported():
    c = claims(run_inputs(round_aa=(0.36,), control_aa=0.30, adv_aa=0.35))["a"]
    assert c.verdict == "not supported"
    assert "noise threshold" in c.evidence


def test_noise_threshold_scales_with_images():
    view = build_view(run_inputs(), ReportConfig(noise_z=0.0, min_gain=1.0))
    assert gain(view, "round_2", "adversarial", "autoattack").threshold == pytest.approx(1.0)
    view = build_view(run_inputs(), ReportConfig())
    assert gain(view, "round_2", "adversarial", "autoattack").threshold > 4.0


def test_ood_clean_cost_spurious_bound_and_cifar100(full_report):
    verdicts = {k: v["verdict"] for k, v in full_report.metrics["claims"].items()}
    # C-mean: round 63.5 vs control 59.5 (+4.0) is below the 4.3-point noise threshold
    assert verdicts["b"] == "not supported"
    assert verdicts["c"] == "supported"  # 2-point clean cost <= 5
    assert verdicts["d"] == "supported"  # flagged share 30% -> 20%, S over-weighted
    assert verdicts["e"] == "supported"  # Spearman > 0.1 everywhere, share on S falls
    assert verdicts["f"] == "not tested in this run"


def test_large_clean_cost_is_not_supported():
    c = claims(run_inputs(), ReportConfig(clean_cost_tolerance=1.0))["c"]
    assert c.verdict == "not supported" and "cost 2.0 points" in c.evidence


def test_ood_supported_when_threshold_small():
    c = claims(run_inputs(), ReportConfig(noise_z=0.0))["b"]
    assert c.verdict == "supported"


def test_cifar100_follows_claim_a():
    manifest = {**MIRROR, "source": "torchvision_files", "description": "CIFAR-100",
                "classes": [str(i) for i in range(100)]}
    c = claims(run_inputs(manifest=manifest))
    assert c["f"].verdict == c["a"].verdict == "supported"


def test_t0_claims_not_tested_except_bound(baselines_report):
    verdicts = {k: v["verdict"] for k, v in baselines_report.metrics["claims"].items()}
    assert {verdicts[k] for k in "abc"} == {"not tested in this run"}
    assert verdicts["e"] == "supported"  # correlation on the adversarial baseline alone


def test_suspect_autoattack_flagged():
    report = build_report(run_inputs(round_aa=(0.60,)))
    assert "round_1: AutoAttack 60.0% > 53%" in report.markdown
    assert report.metrics["suspect"]
