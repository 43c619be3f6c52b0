"""The planted-cue section of the report."""

from __future__ import annotations

import dataclasses

from limeguard.reporting import ReportConfig, build_report
from tests.reporting.synthetic import MIRROR, run_inputs, uncued_robustness


def reliance(aligned: float, swapped: float, n: int = 1000, uncued: float = 0.25) -> dict:
    return {"n_images": n, "n_cued": int(0.95 * n), "n_uncued": n, "aligned_accuracy": aligned,
            "swapped_accuracy": swapped, "uncued_accuracy": uncued, "gap": aligned - swapped,
            "cued_aligned_accuracy": aligned, "cued_swapped_accuracy": swapped}


def recovery(precision: float, recall: float) -> dict:
    crit = {"precision": precision, "recall": recall, "flagged_share": 0.2, "detected": recall}
    return {"n_images": 200, "n_cued_images": 190, "cue_pixels": 3040, "chance_precision": 0.015,
            "criteria": {c: crit for c in ("irrelevant", "sensitive", "unstable", "spurious")}}


def planted_inputs(round_gap: float):
    inputs = run_inputs()
    gaps = {"standard": (0.9, 0.2), "adversarial": (0.8, 0.3), "control": (0.8, 0.31),
            "round_1": (0.75, 0.35), "round_2": (0.7, 0.7 - round_gap)}
    models = {name: dataclasses.replace(
        result, cue_reliance=reliance(*gaps[name]),
        cue_recovery=recovery(0.1, 0.6) if name in ("adversarial", "round_1", "round_2") else None)
        for name, result in inputs.models.items()}
    manifest = {**MIRROR, "variant": "planted spurious cue"}
    return dataclasses.replace(inputs, models=models, manifest=manifest)


def test_section_tables_and_verdict_when_refinement_reduces_the_gap() -> None:
    report = build_report(planted_inputs(round_gap=0.1), ReportConfig())
    md = report.markdown
    assert "## Planted spurious cue" in md and "planted spurious cue (test images aligned)" in md
    assert "| adversarial | 1000 | 80.0 | 30.0 | +50.0 |" in md
    assert "10.0 / 60.0" in md
    planted = report.metrics["planted_cue"]
    assert planted["gap_change"]["adversarial"]["points"] == -40.0
    assert "against `adversarial` it reduced the gap" in planted["verdict"]
    assert "against `control` it reduced the gap" in planted["verdict"]


def test_reliance_table_shows_uncued_accuracy_and_autoattack_in_model_order() -> None:
    inputs = planted_inputs(round_gap=0.1)
    uncued = {"standard": 0.31, "adversarial": 0.22, "control": 0.23, "round_1": 0.34,
              "round_2": 0.36}
    models = {name: dataclasses.replace(
        result, cue_reliance={**result.cue_reliance, "uncued_accuracy": uncued[name]},
        uncued_robustness=uncued_robustness(uncued[name] + 0.01, uncued[name] / 2))
        for name, result in reversed(inputs.models.items())}  # given in reverse order
    report = build_report(dataclasses.replace(inputs, models=models), ReportConfig())
    md = report.markdown.split("## Planted spurious cue")[1]
    assert ("| model | n images | aligned | swapped | gap (points) | swapped, cued images only "
            "| uncued | AutoAttack, uncued |") in md
    assert "| adversarial | 1000 | 80.0 | 30.0 | +50.0 | 30.0 | 22.0 | 11.0 |" in md
    assert "| round_2 | 1000 | 70.0 | 60.0 | +10.0 | 60.0 | 36.0 | 18.0 |" in md
    rows = [line.split(" | ")[0].strip("| ") for line in md.splitlines()
            if line.startswith("| ") and " | 1000 | " in line]
    assert rows == ["standard", "adversarial", "control", "round_1", "round_2"]
    assert "`autoattack_fast` at ε = 8/255 on the first 100 uncued test images" in md
    planted = report.metrics["planted_cue"]
    assert list(planted["reliance"]) == rows and list(planted["uncued_robustness"]) == rows
    assert planted["reliance"]["control"]["uncued_accuracy"] == 0.23
    assert planted["uncued_robustness"]["round_1"]["autoattack_accuracy"] == 0.17


def test_reliance_table_without_uncued_numbers_says_not_measured() -> None:
    inputs = planted_inputs(round_gap=0.1)
    old = {name: dataclasses.replace(result, cue_reliance={
        k: v for k, v in result.cue_reliance.items() if k not in ("uncued_accuracy", "n_uncued")})
        for name, result in inputs.models.items()}
    report = build_report(dataclasses.replace(inputs, models=old), ReportConfig())
    assert "| adversarial | 1000 | 80.0 | 30.0 | +50.0 | 30.0 | n/a | n/a |" in report.markdown
    assert report.metrics["planted_cue"]["uncued_robustness"] == {}


def test_verdict_says_when_the_gap_did_not_shrink() -> None:
    report = build_report(planted_inputs(round_gap=0.5), ReportConfig())
    verdict = report.metrics["planted_cue"]["verdict"]
    assert "did not reduce the gap beyond noise" in verdict


def test_a_gap_closed_by_collapse_is_not_a_reduction() -> None:
    inputs = planted_inputs(round_gap=0.1)
    collapsed = dataclasses.replace(inputs.models["round_2"], cue_reliance=reliance(0.16, 0.17))
    inputs = dataclasses.replace(inputs, models={**inputs.models, "round_2": collapsed})
    verdict = build_report(inputs, ReportConfig()).metrics["planted_cue"]["verdict"]
    assert "closed mostly because aligned accuracy fell" in verdict
    assert "reduced the gap" not in verdict


def test_no_section_without_the_variant() -> None:
    report = build_report(run_inputs(), ReportConfig())
    assert "Planted spurious cue" not in report.markdown and "planted_cue" not in report.metrics


def test_a_collapsed_round_is_flagged_in_the_verdict_and_metrics() -> None:
    from tests.reporting.synthetic import history

    inputs = run_inputs()
    crashed = history().assign(val_clean_acc=[0.3, 0.1, 0.1])
    models = {**inputs.models,
              "round_1": dataclasses.replace(inputs.models["round_1"], history=crashed)}
    report = build_report(dataclasses.replace(inputs, models=models), ReportConfig())
    assert report.metrics["collapsed_rounds"] == [
        "round_1 collapsed: validation clean accuracy 55.0% -> 10.0% (training diverged; its "
        "numbers are not a refined model's)"]
    verdict = report.markdown.split("## Accuracy per model")[0]
    assert "round_1 collapsed" in verdict and "round_2 collapsed" not in verdict


def test_the_masks_handed_to_the_training_images_are_shown() -> None:
    inputs = planted_inputs(round_gap=0.1)
    applied = {"n_images": 5000, "n_cued_images": 4750, "precision": 0.62, "recall": 0.93,
               "pixel_share": 0.02, "images_masked_cued": 0.97, "images_masked_uncued": 0.01}
    models = dict(inputs.models)
    models["adversarial"] = dataclasses.replace(
        models["adversarial"], cue_recovery={**recovery(0.1, 0.6), "training_images": applied})
    md = build_report(dataclasses.replace(inputs, models=models), ReportConfig()).markdown
    assert "on all 5000 training images (4750 with a cue)" in md
    assert "| adversarial | 62.0 / 93.0 | 97.0 | 1.0 | 2.0 |" in md
    plain = build_report(planted_inputs(round_gap=0.1), ReportConfig()).markdown
    assert "hands to the next round" not in plain


def test_each_arm_gets_its_own_planted_cue_verdict() -> None:
    inputs = planted_inputs(round_gap=0.1)
    arms = {"adversarial": inputs.models["adversarial"], "control": inputs.models["control"],
            "standard": inputs.models["standard"],
            "transplant.round_1": inputs.models["round_2"],  # reduced the gap to 10 points
            "paper.round_1": dataclasses.replace(inputs.models["round_1"],
                                                 cue_reliance=reliance(0.8, 0.3))}  # kept it
    report = build_report(dataclasses.replace(inputs, models=arms))
    verdicts = {arm: m["planted_cue"] for arm, m in report.metrics["arms"].items()}
    assert "against `control` it reduced the gap" in verdicts["transplant"]
    assert "against `control` it did not reduce the gap beyond noise" in verdicts["paper"]
    assert "- **Planted cue:** Refinement (`paper.round_1`)" in report.markdown
