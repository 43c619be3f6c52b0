"""The observation section of the report: flagged-region vs random-region confined attacks."""

from __future__ import annotations

import dataclasses

import pytest

from limeguard.reporting import ReportConfig, build_report
from tests.reporting.synthetic import run_inputs

CONFIG = {"enabled": True, "eps_255": 8.0, "steps": 20, "restarts": 1, "draws": 3, "level": 0.95}


def criterion(flagged: float, random: float, low: float, high: float, verdict: str) -> dict:
    return {"n_images": 90, "n_no_flags": 8, "n_unmatched": 2, "pixel_share": 0.1,
            "clean_accuracy": 0.7, "robust_accuracy_flagged": flagged,
            "robust_accuracy_random": random, "difference": random - flagged, "low": low,
            "high": high, "verdict": verdict}


def comparison() -> dict:
    return {"enabled": True, "config": CONFIG, "n_images": 100, "criteria": {
        "spurious": criterion(0.50, 0.60, 0.04, 0.16, "disproportionately vulnerable"),
        "unstable": criterion(0.60, 0.61, -0.03, 0.05, "inside the noise"),
        "irrelevant": {"n_images": 0, "n_no_flags": 100, "n_unmatched": 0,
                       "verdict": "not measured"}}}


def test_the_section_has_a_row_per_mined_model_and_criterion() -> None:
    inputs = run_inputs()
    models = {name: dataclasses.replace(result, confined=comparison())
              if name in ("adversarial", "round_2") else result
              for name, result in inputs.models.items()}
    report = build_report(dataclasses.replace(inputs, models=models), ReportConfig())
    md = report.markdown
    assert "## The paper's observation, measured" in md and "ε = 8.0/255, 20 steps" in md
    assert ("| adversarial | spurious | 90 | 8 / 2 | 10.0 | 50.0 | 60.0 | +10.0 [+4.0, +16.0] "
            "| disproportionately vulnerable |") in md
    assert "| round_2 | irrelevant | 0 | 100 / 0 | n/a | n/a | n/a | n/a | not measured |" in md
    metrics = report.metrics["confined_attack"]
    assert set(metrics) == {"adversarial", "round_2"}
    (first_seed,) = metrics["adversarial"].values()  # one seed: one entry per model
    assert first_seed["unstable"]["verdict"] == "inside the noise"


def test_no_section_without_comparisons() -> None:
    report = build_report(run_inputs(), ReportConfig())
    assert "observation, measured" not in report.markdown
    assert "confined_attack" not in report.metrics


def test_an_arms_own_mining_of_the_baseline_has_its_rows_after_the_baseline() -> None:
    """The paper arm mines the AT baseline itself (``paper.adversarial``): its own spurious set's
    comparison is shown and recorded beside the run's."""
    inputs = run_inputs()
    models = {name: dataclasses.replace(result, confined=comparison())
              if name in ("adversarial", "round_2") else result
              for name, result in inputs.models.items()}
    own = comparison()
    own["criteria"]["spurious"] = criterion(0.55, 0.57, -0.02, 0.06, "inside the noise")
    baseline = dataclasses.replace(inputs.models["adversarial"], confined=own)
    report = build_report(dataclasses.replace(inputs, models=models,
                                              arm_baselines={"paper": baseline}), ReportConfig())
    assert list(report.metrics["confined_attack"]) == ["adversarial", "paper.adversarial", "round_2"]
    (own_seed,) = report.metrics["confined_attack"]["paper.adversarial"].values()
    assert own_seed["spurious"]["verdict"] == \
        "inside the noise"
    assert ("| paper.adversarial | spurious | 90 | 8 / 2 | 10.0 | 55.0 | 57.0 | +2.0 [-2.0, +6.0] "
            "| inside the noise |") in report.markdown


def test_several_seeds_give_a_row_and_a_metrics_entry_per_seed() -> None:
    """Each seed's comparison is shown (seed column) and recorded under its seed's label."""
    inputs = run_inputs()
    second = comparison()
    second["criteria"]["spurious"] = criterion(0.58, 0.59, -0.03, 0.05, "inside the noise")
    models = {name: (dataclasses.replace(result, confined=comparison(), seed=0),
                     dataclasses.replace(result, confined=second, seed=1))
              if name == "adversarial" else result for name, result in inputs.models.items()}
    report = build_report(dataclasses.replace(inputs, models=models), ReportConfig())
    md = report.markdown
    assert "One row per seed" in md
    assert ("| adversarial | seed_0 | spurious | 90 | 8 / 2 | 10.0 | 50.0 | 60.0 | "
            "+10.0 [+4.0, +16.0] | disproportionately vulnerable |") in md
    assert ("| adversarial | seed_1 | spurious | 90 | 8 / 2 | 10.0 | 58.0 | 59.0 | "
            "+1.0 [-3.0, +5.0] | inside the noise |") in md
    by_seed = report.metrics["confined_attack"]["adversarial"]
    assert list(by_seed) == ["seed_0", "seed_1"]
    assert by_seed["seed_1"]["spurious"]["verdict"] == "inside the noise"


def test_seeds_within_noise_alone_can_agree_when_pooled() -> None:
    """Three seeds each inside the noise (+4, +5, +6 points, intervals reaching 0) pool into a mean
    of +5 whose Student-t interval over seeds (t_0.975,2 = 4.303, sd 1 point) lies above 0; a
    criterion no seed measured is pooled as not measured."""
    inputs = run_inputs()
    seeds = []
    for k, random in enumerate((0.54, 0.55, 0.56)):
        comp = comparison()
        comp["criteria"]["spurious"] = criterion(0.50, random, -0.01, 0.10, "inside the noise")
        seeds.append(dataclasses.replace(inputs.models["adversarial"], confined=comp, seed=k))
    models = {**inputs.models, "adversarial": tuple(seeds)}
    report = build_report(dataclasses.replace(inputs, models=models), ReportConfig())
    pooled = report.metrics["confined_attack_pooled"]["adversarial"]
    spurious = pooled["spurious"]
    assert spurious["difference"] == pytest.approx(0.05)
    assert spurious["low"] == pytest.approx(0.05 - 4.303 * 0.01 / 3 ** 0.5, abs=1e-4)
    assert spurious["verdict"] == "disproportionately vulnerable"
    assert (spurious["n_measured"], spurious["n_flagged_more_vulnerable"]) == (3, 3)
    assert pooled["irrelevant"] == {"n_seeds": 3, "n_measured": 0, "n_flagged_more_vulnerable": 0,
                                    "verdict": "not measured"}
    assert ("| adversarial | spurious | 3 of 3 | 3 | +5.0 [+2.5, +7.5] | "
            "disproportionately vulnerable |") in report.markdown


def test_one_seed_has_no_pooled_entry() -> None:
    inputs = run_inputs()
    models = {**inputs.models,
              "adversarial": dataclasses.replace(inputs.models["adversarial"], confined=comparison())}
    report = build_report(dataclasses.replace(inputs, models=models), ReportConfig())
    assert "confined_attack" in report.metrics and "confined_attack_pooled" not in report.metrics
    assert "Pooled over seeds" not in report.markdown
