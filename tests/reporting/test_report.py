"""build_report: every section, captions, figures, metrics."""

from __future__ import annotations

import json
import re

import pytest
from matplotlib.figure import Figure

from limeguard.reporting import VERDICTS, ReportConfig, build_report
from tests.reporting.synthetic import CLASSES, run_inputs

SECTIONS = ("## Verdict", "## Accuracy per model", "## Robust accuracy vs ε",
            "## Progress per round", "## LIME overlays before and after refinement",
            "## CIFAR-10-C per corruption", "## Attribution-aware bound vs empirical distortion",
            "## Gradient-masking checks", "## Claims of the paper", "## Provenance")  # fmt: skip


def test_every_section_in_order(full_report):
    positions = [full_report.markdown.index(s) for s in SECTIONS]
    assert positions == sorted(positions)


def test_mirror_caption_on_every_accuracy_table_and_warning(full_report):
    md = full_report.markdown
    assert "not comparable digit-for-digit with published CIFAR-10" in md
    captions = [line for line in md.splitlines() if "accuracies in %" in line]
    assert len(captions) >= 5
    assert all("CIFAR-10 (JPEG q75 mirror)" in line for line in captions)


def test_no_mirror_warning_for_torchvision_files():
    manifest = {"source": "torchvision_files", "description": "CIFAR-10 (torchvision files)",
                "classes": CLASSES, "counts": {"test": 1000}}
    report = build_report(run_inputs(manifest=manifest))
    assert "JPEG" not in report.markdown
    assert "CIFAR-10 (torchvision files)" in report.markdown


def test_verdict_names_numbers_and_autoattack_variant(full_report):
    verdict = full_report.markdown.split("## Verdict")[1].split("##")[0]
    assert "Yes" in verdict and "round_2" in verdict
    assert "adversarial 35.0%" in verdict and "control 38.0%" in verdict
    assert "PGD: round_2 50.0%" in verdict and "worst case: round_2 45.0%" in verdict
    assert "`autoattack_fast`" in verdict and "n/a" not in verdict


def test_headline_table_and_links(full_report):
    md = full_report.markdown
    assert "| round_2 | 1000 | 1 | 68.0 |" in md
    for name in full_report.figures:
        assert f"](figures/{name}.png)" in md
    assert "](figures/lime_overlays.png)" in md
    assert "| 0.01 |" in md  # the small-ε grid in raw L∞ units


def test_figures_are_figures(full_report):
    expected = {"robust_accuracy_vs_eps", "round_progress", "bound_vs_distortion",
                "training_curves", "cifar10c_by_corruption"}
    assert set(full_report.figures) == expected
    assert all(isinstance(f, Figure) for f in full_report.figures.values())


def test_metrics_json_serialisable(full_report):
    metrics = json.loads(json.dumps(full_report.metrics, allow_nan=False))
    adv = metrics["models"]["adversarial"]
    assert adv["autoattack"] == 0.35 and adv["clean"] == 0.7
    assert {"clean", "pgd", "autoattack", "worst_case", "cifar10c_mean"} <= set(adv)
    assert metrics["data"]["description"] == "CIFAR-10 (JPEG q75 mirror)"
    assert [r["model"] for r in metrics["rounds"]] == ["adversarial", "round_1", "round_2"]
    assert metrics["refined_model"] == "round_2"
    paired = {(p["candidate"], p["reference"], p["measure"]): p for p in metrics["paired"]}
    assert paired[("round_2", "control", "autoattack")]["diff_points"] == pytest.approx(7.0)
    assert ("round_2", "round_1", "clean") in paired and ("control", "adversarial", "pgd") in paired
    assert "wall_time_total_s" not in metrics["provenance"]
    assert all(c["verdict"] in VERDICTS for c in metrics["claims"].values())
    assert adv["masking"] == {"ran": True, "n_checks": 2, "n_failed": 0, "n_skipped": 1}


def test_notes_and_provenance_shown(full_report):
    md = full_report.markdown
    assert "round_2: spurious set empty in this round" in md
    assert "`abc123`" in md and "| refine | 3 |" in md and '"seed": 0' in md


def test_t0_says_baselines_only(baselines_report):
    md = baselines_report.markdown
    assert md.count("No refinement rounds ran: baselines only") >= 2
    assert "round_progress" not in baselines_report.figures
    assert baselines_report.metrics["rounds"] == []
    claims = baselines_report.metrics["claims"]
    assert claims["a"]["verdict"] == "not tested in this run"
    assert "Not tested" in md.split("## Verdict")[1].split("##")[0]
    json.dumps(baselines_report.metrics, allow_nan=False)


def test_masking_violation_is_visible():
    report = build_report(run_inputs(standard_fails=True))
    md = report.markdown
    assert "**FAIL**" in md
    assert "**standard**: `pgd_ge_autoattack`: VIOLATED" in md
    assert "gradient-masking check(s) failed" in md.split("## Accuracy per model")[0]
    assert report.metrics["models"]["standard"]["masking"]["n_failed"] == 1
    assert report.metrics["masking_violations"]


def test_seeds_as_mean_and_std():
    inputs = run_inputs()
    from tests.reporting.synthetic import model

    models = dict(inputs.models)
    models["adversarial"] = [model(0.70, 0.40, 0.35, spurious=0.3, seed=0),
                             model(0.72, 0.42, 0.37, spurious=0.3, seed=1)]
    report = build_report(type(inputs)(manifest=inputs.manifest, models=models))
    assert "| adversarial | 1000 | 2 | 71.0 ± 1.4 |" in report.markdown
    assert report.metrics["models"]["adversarial"]["n_seeds"] == 2
    assert "adversarial (seed 1)" in report.markdown


def test_nan_renders_as_na():
    inputs = run_inputs()
    summary = inputs.models["control"].summary.copy()
    summary.loc[summary["attack"] == "cw", "accuracy"] = float("nan")
    models = dict(inputs.models)
    models["control"] = type(models["control"])(summary=summary)
    report = build_report(type(inputs)(manifest=inputs.manifest, models=models), ReportConfig())
    row = next(r for r in report.markdown.splitlines() if r.startswith("| control | 1000"))
    assert "n/a" in row
    assert not re.search(r"\bnan\b", report.markdown, flags=re.IGNORECASE)
    json.dumps(report.metrics, allow_nan=False)


def test_figures_render_to_png(full_report, tmp_path):
    for name, fig in full_report.figures.items():
        fig.savefig(tmp_path / f"{name}.png", dpi=50)
        assert (tmp_path / f"{name}.png").stat().st_size > 1000


def test_paired_section_says_what_its_intervals_cover(full_report):
    section = full_report.markdown.split("## Paired comparisons")[1].split("\n## ")[0]
    assert "one seed: the intervals resample the test images only" in section
    assert "| round_2 - control | autoattack | +7.0 |" in section
    claims = full_report.markdown.split("## Claims of the paper")[1]
    assert "95% CI" in claims and "1 seed: seed variation not covered" in claims


def test_several_seeds_are_paired_seed_by_seed_over_seeds_and_images():
    import dataclasses

    from tests.reporting.synthetic import model

    def seeds(clean, pgd, aa, noise):
        return [model(clean, pgd, aa, seed=s, noise_seed=noise + s) for s in (0, 1)]

    inputs = dataclasses.replace(run_inputs(), models={
        "adversarial": seeds(0.70, 0.40, 0.35, 10), "control": seeds(0.70, 0.43, 0.38, 20),
        "round_1": seeds(0.68, 0.50, 0.45, 30)})
    report = build_report(inputs)
    paired = {(p["candidate"], p["reference"], p["measure"]): p for p in report.metrics["paired"]}
    entry = paired[("round_1", "control", "autoattack")]
    assert entry["n_seeds"] == 2 and entry["over"] == "seeds x images"
    assert entry["diff_points"] == pytest.approx(7.0)
    assert "seeds and images are resampled together" in report.markdown
    assert report.metrics["models"]["round_1"]["n_seeds"] == 2


def test_round_notes_of_several_seeds_name_the_seeds_they_hold_for():
    import dataclasses

    from tests.reporting.synthetic import model

    kept = ["epoch 3 kept", "epoch 1 kept", "epoch 3 kept"]  # per seed 0, 1, 2
    rounds = [model(0.68, 0.50, 0.45, seed=s, notes=("mined masks", kept[s])) for s in (0, 1, 2)]
    inputs = dataclasses.replace(run_inputs(), models={**run_inputs().models, "round_1": rounds})
    notes = [line for line in build_report(inputs).markdown.splitlines() if line.startswith("- round_1:")]
    assert notes == ["- round_1: mined masks", "- round_1: epoch 3 kept (seeds 0, 2)",
                     "- round_1: epoch 1 kept (seed 1)"]
