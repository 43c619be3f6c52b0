"""`kedro run --env test` end to end (the `refine` job as built so far) on a fixture mirror."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from limeguard.models import load_model
from tests.kedro_project import kedro, make_project_copy, tiny_run_params


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("refine")
    params = tiny_run_params(root)
    project = make_project_copy(root / "project")
    run = kedro(project, "run", "--env", "test", "--params", params)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return project


@pytest.mark.slow
def test_models_and_histories(finished_run: Path) -> None:
    for name in ("standard", "adversarial", "control", "round_1"):
        model = load_model(finished_run / f"data/06_models/{name}.safetensors")
        assert model.spec.arch == "cnn_small"
        history = pd.read_csv(finished_run / f"data/07_model_output/{name}_history.csv")
        assert {"epoch", "train_loss", "val_clean_acc", "val_pgd_acc", "seconds"} <= set(history)
    assert list((finished_run / "data/06_models/checkpoints/adversarial").glob("*/state.json"))


@pytest.mark.slow
def test_evaluation_outputs(finished_run: Path) -> None:
    for name in ("standard", "adversarial", "control", "round_1"):
        results = pd.read_parquet(finished_run / f"data/07_model_output/{name}/attack_results.parquet")
        assert {"image_id", "attack", "eps_255", "correct"} <= set(results)
        assert set(results["attack"]) == {"clean", "fgsm", "pgd", "cw", "autoattack_fast", "square"}
        summary = pd.read_csv(finished_run / f"data/08_reporting/{name}/robust_summary.csv")
        assert "worst_case" in set(summary["attack"])
        checks = json.loads((finished_run / f"data/08_reporting/{name}/masking_checks.json").read_text())
        assert {"success", "checks"} <= set(checks) and checks["n_checks"] >= 6
        corruption = pd.read_csv(finished_run / f"data/08_reporting/{name}/corruption_accuracy.csv")
        assert set(corruption["corruption"]) == {"gaussian_noise", "fog", "jpeg_compression", "mean"}
        assert corruption["accuracy"].between(0, 1).all()


@pytest.mark.slow
def test_mining_and_round_outputs(finished_run: Path) -> None:
    from limeguard.datasets.tensors import TensorsDataset

    for name in ("adversarial", "round_1"):
        table = pd.read_parquet(finished_run / f"data/07_model_output/{name}/attributions.parquet")
        assert {"image_id", "segment_id", "weight", "spurious"} <= set(table)
        masks = TensorsDataset(str(finished_run / f"data/07_model_output/{name}/spurious_masks.safetensors")).load()
        assert masks["pixel_masks"].shape == (10, 32, 32) and masks["sensitivity"].shape == (10, 1, 32, 32)
        assert (finished_run / f"data/08_reporting/{name}/explanations.png").stat().st_size > 1000
        stability = json.loads((finished_run / f"data/08_reporting/{name}/explanation_stability.json").read_text())
        assert "share_spurious" in stability
    info = json.loads((finished_run / "data/08_reporting/round_1/round_info.json").read_text())
    assert info["round"] == 1 and isinstance(info["empty_spurious_set"], bool)
    assert info["masks"] == "mined" and info["selection"]["split"].startswith("validation")


@pytest.mark.slow
def test_report(finished_run: Path) -> None:
    report = (finished_run / "data/08_reporting/report.md").read_text()
    assert "CIFAR-10 (JPEG q75 mirror)" in report and "round_1" in report
    metrics = json.loads((finished_run / "data/08_reporting/metrics.json").read_text())
    assert set(metrics["models"]) == {"standard", "adversarial", "control", "round_1"}
    assert {"a", "b", "c"} <= {key[0] for key in metrics["claims"]} or metrics["claims"]
    assert (finished_run / "data/08_reporting/figures/robust_accuracy_vs_eps.png").is_file()
    for name in ("standard", "round_1"):
        summary = json.loads((finished_run / f"data/08_reporting/{name}/bound_summary.json").read_text())
        assert summary
