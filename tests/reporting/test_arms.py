"""The report per arm: each arm's last round against the matched control and the AT baseline,
and a headline naming the arm, if any, that beats the control."""

from __future__ import annotations

import dataclasses

import pytest

from limeguard.reporting import build_report
from tests.reporting.synthetic import model, run_inputs


def arms_inputs(transplant_aa: float, paper_aa: float, control_aa: float = 0.38):
    """The baselines and the control of :func:`run_inputs`, and two arms of two rounds each."""
    base = run_inputs(round_aa=(), control_aa=control_aa)
    models = dict(base.models)
    for i, (arm, last) in enumerate((("transplant", transplant_aa), ("paper", paper_aa))):
        for k, aa in enumerate((0.36, last), start=1):
            models[f"{arm}.round_{k}"] = model(0.68, aa + 0.05, aa, c_mean=0.65, spurious=0.2,
                                               share_s=0.3, noise_seed=20 + 2 * i + k)
    return dataclasses.replace(base, models=models)


def test_each_arm_is_judged_against_the_control_and_the_baseline() -> None:
    report = build_report(arms_inputs(transplant_aa=0.46, paper_aa=0.30))
    arms = report.metrics["arms"]
    assert list(arms) == ["transplant", "paper"]
    transplant, paper = arms["transplant"], arms["paper"]
    assert transplant["refined_model"] == "transplant.round_2" and transplant["beats_control"]
    assert transplant["claims"]["a"]["verdict"] == "supported"
    assert transplant["vs_control"]["diff_points"] == pytest.approx(8.0)
    assert paper["standing_vs_control"] == "loses to" and not paper["beats_control"]
    assert paper["claims"]["a"]["verdict"] == "not supported"
    assert set(paper["claims"]) == set("abcdef")  # every claim, CIFAR-10-C and clean cost included
    assert paper["claims"]["b"]["numbers"]["model"] == "paper.round_2"
    assert "Arms that beat the matched control: transplant." in report.metrics["arms_headline"]
    assert "paper (paper.round_2) loses to the control" in report.markdown
    assert report.markdown.index("## Arms") < report.markdown.index("## Accuracy per model")
    assert "first arm's answer (transplant); the Arms section below" in report.markdown
    pairs = {(p["candidate"], p["reference"]) for p in report.metrics["paired"]}
    assert {("paper.round_2", "control"), ("paper.round_2", "paper.round_1"),
            ("transplant.round_2", "adversarial")} <= pairs
    assert ("paper.round_1", "transplant.round_2") not in pairs  # rounds chain within an arm


def test_no_arm_beating_the_control_is_said_plainly() -> None:
    report = build_report(arms_inputs(transplant_aa=0.385, paper_aa=0.38))
    assert "**No arm beats the matched control.**" in report.markdown
    assert not any(a["beats_control"] for a in report.metrics["arms"].values())


def test_rounds_without_an_arm_name_have_no_arms_section() -> None:
    report = build_report(run_inputs())
    assert "## Arms" not in report.markdown and report.metrics["arms"] == {}


def test_an_arm_that_mines_the_baseline_itself_starts_its_claims_there() -> None:
    """The paper arm's spurious share and bound start from its own mining of the AT baseline
    (``paper.adversarial``), not from the run's (another criterion's) mining."""
    inputs = arms_inputs(transplant_aa=0.40, paper_aa=0.40)
    own = dataclasses.replace(inputs.models["adversarial"],
                              mining=model(0.7, 0.4, 0.35, spurious=0.26).mining,
                              bound=model(0.7, 0.4, 0.35, share_s=0.5, noise_seed=7).bound)
    report = build_report(dataclasses.replace(inputs, arm_baselines={"paper": own}))
    paper = report.metrics["arms"]["paper"]["claims"]
    transplant = report.metrics["arms"]["transplant"]["claims"]
    assert paper["d"]["numbers"]["share_start"] == pytest.approx(0.26)
    assert transplant["d"]["numbers"]["share_start"] == pytest.approx(0.30)
    assert "paper.adversarial 26.0% -> paper.round_2 20.0%" in paper["d"]["evidence"]
    assert "paper.adversarial" in paper["e"]["numbers"]["spearman"]
    assert "paper.adversarial" not in transplant["e"]["numbers"]["spearman"]
    assert paper["e"]["numbers"]["attribution_share_start"] != pytest.approx(
        transplant["e"]["numbers"]["attribution_share_start"])
