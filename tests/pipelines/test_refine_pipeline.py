"""`kedro run --env test` end to end (the `refine` job as built so far) on a fixture mirror."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from limeguard.models import load_model
from limeguard.reporting.claims import SUPPORTED, VERDICTS
from tests.kedro_project import default_run_changes

ROUNDS = ("transplant.round_1", "paper.round_1")  # conf/test: one round; conf/base: both arms


@pytest.fixture(scope="module")
def finished_run(tiny_run: dict) -> Path:
    return tiny_run["project"]


@pytest.mark.slow
def test_test_env_leaves_the_default_run_untouched(finished_run: Path) -> None:
    """The test env writes under data/test/ only: a finished default run under data/ keeps every
    file byte for byte, and nothing of the test run lands beside it."""
    assert default_run_changes(finished_run, own_root="test") == []
    assert (finished_run / "data/test/08_reporting/report.md").is_file()


@pytest.mark.slow
def test_models_and_histories(finished_run: Path) -> None:
    for name in ("standard", "adversarial", "control", *ROUNDS):
        model = load_model(finished_run / f"data/test/06_models/{name}.safetensors")
        assert model.spec.arch == "cnn_small"
        history = pd.read_csv(finished_run / f"data/test/07_model_output/{name}_history.csv")
        assert {"epoch", "train_loss", "val_clean_acc", "val_pgd_acc"} <= set(history)
        assert "seconds" not in history  # wall times live in the timings file beside it
        timings = json.loads((finished_run / f"data/test/07_model_output/{name}_timings.json").read_text())
        assert len(timings) == len(history) and all(t["seconds"] > 0 for t in timings)
    assert list((finished_run / "data/test/06_models/checkpoints/adversarial").glob("*/state.json"))


@pytest.mark.slow
def test_evaluation_outputs(finished_run: Path) -> None:
    for name in ("standard", "adversarial", "control", *ROUNDS):
        results = pd.read_parquet(finished_run / f"data/test/07_model_output/{name}/attack_results.parquet")
        assert {"image_id", "attack", "eps_255", "correct"} <= set(results)
        assert set(results["attack"]) == {"clean", "fgsm", "pgd", "cw", "autoattack_fast", "square"}
        summary = pd.read_csv(finished_run / f"data/test/08_reporting/{name}/robust_summary.csv")
        assert "worst_case" in set(summary["attack"])
        checks = json.loads((finished_run / f"data/test/08_reporting/{name}/masking_checks.json").read_text())
        assert {"success", "checks"} <= set(checks) and checks["n_checks"] >= 6
        corruption = pd.read_csv(finished_run / f"data/test/08_reporting/{name}/corruption_accuracy.csv")
        assert set(corruption["corruption"]) == {"gaussian_noise", "fog", "jpeg_compression", "mean"}
        measured = results.groupby(["attack", "eps_255"])["correct"].mean()
        attacked = summary[summary["attack"].isin(set(results["attack"]))]
        for row in attacked.itertuples():  # each accuracy is the share of its attack's correct rows
            assert row.accuracy == pytest.approx(measured[(row.attack, row.eps_255)]), (name, row)
        worst = summary[summary["attack"] == "worst_case"].set_index("eps_255")["accuracy"]
        for eps, accuracy in worst.items():  # the per-image worst case is below every attack
            assert accuracy <= attacked[attacked["eps_255"] == eps]["accuracy"].min() + 1e-9
        per_severity = corruption[corruption["corruption"] != "mean"].groupby("severity")["accuracy"].mean()
        means = corruption[corruption["corruption"] == "mean"].set_index("severity")["accuracy"]
        assert means.to_dict() == pytest.approx(per_severity.to_dict())


@pytest.mark.slow
def test_mining_and_round_outputs(finished_run: Path) -> None:
    from limeguard.datasets.tensors import TensorsDataset

    for name in ("adversarial", "paper.adversarial", *ROUNDS):
        table = pd.read_parquet(finished_run / f"data/test/07_model_output/{name}/attributions.parquet")
        assert {"image_id", "segment_id", "weight", "spurious"} <= set(table)
        masks_path = finished_run / f"data/test/07_model_output/{name}/spurious_masks.safetensors"
        masks = TensorsDataset(str(masks_path)).load()
        assert masks["pixel_masks"].shape == (10, 32, 32) and masks["sensitivity"].shape == (10, 1, 32, 32)
        assert (finished_run / f"data/test/08_reporting/{name}/explanations.png").stat().st_size > 1000
        stability = json.loads((finished_run / f"data/test/08_reporting/{name}/explanation_stability.json").read_text())
        assert "share_spurious" in stability
    for name in ROUNDS:
        info = json.loads((finished_run / f"data/test/08_reporting/{name}/round_info.json").read_text())
        assert info["round"] == 1 and isinstance(info["empty_spurious_set"], bool)
        assert info["masks"] == "mined" and info["selection"]["split"].startswith("validation")
    paper = json.loads((finished_run / "data/test/08_reporting/paper.round_1/round_info.json").read_text())
    assert paper["masked_pixel_share"] > 0  # the union of the paper's criteria flags every image
    assert (finished_run / "data/test/07_model_output/paper.adversarial/refinement_masks.safetensors").is_file()


@pytest.mark.slow
def test_report(finished_run: Path) -> None:
    report = (finished_run / "data/test/08_reporting/report.md").read_text()
    assert "CIFAR-10 (JPEG q75 mirror)" in report and "## Arms" in report
    metrics = json.loads((finished_run / "data/test/08_reporting/metrics.json").read_text())
    assert set(metrics["models"]) == {"standard", "adversarial", "control", *ROUNDS}
    assert set(metrics["arms"]) == {"transplant", "paper"}
    for arm, name in zip(("transplant", "paper"), ROUNDS, strict=True):
        assert metrics["arms"][arm]["refined_model"] == name
        assert metrics["arms"][arm]["claims"]["a"]["numbers"]["model"] == name
    claims, models = metrics["claims"], metrics["models"]
    assert set(claims) == set("abcdef") and {c["verdict"] for c in claims.values()} <= set(VERDICTS)
    robust = claims["a"]["numbers"]  # the verdict reads the models' own AutoAttack accuracies
    assert robust["model"] == ROUNDS[0] and robust["measure"] == "autoattack"
    assert robust["value"] == models[ROUNDS[0]]["autoattack"]
    assert robust["adversarial"] == models["adversarial"]["autoattack"]
    assert robust["control"] == models["control"]["autoattack"]
    cost = claims["c"]["numbers"]
    assert cost["cost_points"] == pytest.approx(
        100 * (models["adversarial"]["clean"] - models[ROUNDS[0]]["clean"]), abs=1e-6)
    least, worst = cost["cost_interval_points"]  # the verdict reads the paired interval's ends
    assert least <= cost["cost_points"] <= worst
    assert (claims["c"]["verdict"] == SUPPORTED) == (worst <= cost["tolerance_points"])
    vs_control = robust["vs_control"]
    assert vs_control["n_images"] == 20 and vs_control["over"] == "images"
    assert vs_control["low_points"] <= vs_control["diff_points"] <= vs_control["high_points"]
    assert (finished_run / "data/test/08_reporting/figures/robust_accuracy_vs_eps.png").is_file()
    for name in ("standard", *ROUNDS):
        summary = json.loads((finished_run / f"data/test/08_reporting/{name}/bound_summary.json").read_text())
        bound = metrics["models"][name]["bound"]
        assert summary["n_images"] == 6 and summary["n_correct"] + summary["n_misclassified"] == 6
        assert bound["mean_bound_255"] == pytest.approx(summary["mean_bound_255"], abs=1e-6)
        assert bound["bound_holds_share"] == summary["bound_holds_share"]
