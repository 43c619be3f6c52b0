"""The planted-cue variant end to end: `kedro run` with data.spurious enabled on a fixture mirror."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from limeguard.datasets.image_set import ImageSetDataset
from limeguard.models import load_model
from tests.kedro_project import kedro, make_project_copy, tiny_run_params


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("spurious")
    params = tiny_run_params(root)
    project = make_project_copy(root / "project")
    data_conf = project / "conf/test/parameters_data.yml"
    conf = yaml.safe_load(data_conf.read_text())
    conf["data"]["spurious"] = {"enabled": True}
    data_conf.write_text(yaml.safe_dump(conf))
    (project / "conf/test/globals.yml").write_text("data_root: data/spurious\n")
    run = kedro(project, "run", "--env", "test", "--params", params)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return project / "data/spurious"


@pytest.mark.slow
def test_variant_writes_cue_sets_and_report_section(planted_run: Path) -> None:
    aligned = ImageSetDataset(str(planted_run / "05_model_input/test_images.safetensors")).load()
    swapped = ImageSetDataset(str(planted_run / "05_model_input/test_swapped_images.safetensors")).load()
    assert (aligned.images != swapped.images).flatten(1).any(1).float().mean() > 0.5
    uncued = ImageSetDataset(str(planted_run / "05_model_input/test_uncued_images.safetensors")).load()
    assert (uncued.ids == aligned.ids).all()
    assert (aligned.images != uncued.images).flatten(1).any(1).float().mean() > 0.5
    for name in ("standard", "adversarial", "control", "transplant.round_1", "paper.round_1"):
        result = json.loads((planted_run / f"08_reporting/{name}/cue_reliance.json").read_text())
        assert result["n_images"] == result["n_uncued"] == 20
        model = load_model(planted_run / f"06_models/{name}.safetensors").eval()
        for key, images in (("aligned", aligned), ("swapped", swapped), ("uncued", uncued)):
            with torch.no_grad():  # the reported accuracy is this model's on this set
                accuracy = (model(images.images).argmax(1) == images.labels).float().mean().item()
            assert result[f"{key}_accuracy"] == pytest.approx(accuracy, abs=1e-6), (name, key)
        assert result["gap"] == pytest.approx(result["aligned_accuracy"] - result["swapped_accuracy"])
        robust = json.loads((planted_run / f"08_reporting/{name}/uncued_robustness.json").read_text())
        assert robust["n_images"] == 20 and robust["autoattack_accuracy"] <= robust["clean_accuracy"]
    for name in ("adversarial", "paper.adversarial", "transplant.round_1", "paper.round_1"):
        result = json.loads((planted_run / f"08_reporting/{name}/cue_recovery.json").read_text())
        assert set(result["criteria"]) == {"irrelevant", "sensitive", "unstable", "transplant",
                                           "spurious"}
        assert {"flagged_share_cued", "flagged_share_uncued"} <= set(result["criteria"]["spurious"])
        confined = json.loads((planted_run / f"08_reporting/{name}/confined_attack.json").read_text())
        assert list(confined["criteria"])[-2:] == ["spurious", "planted cue"]
    report = (planted_run / "08_reporting/report.md").read_text()
    assert "## Planted spurious cue" in report
    metrics = json.loads((planted_run / "08_reporting/metrics.json").read_text())
    assert "transplant.round_1" in metrics["planted_cue"]["reliance"]
    assert "paper.round_1" in metrics["planted_cue"]["uncued_robustness"]
    assert "AutoAttack, uncued" in report
    assert "## The paper's observation, measured" in report and "| planted cue |" in report
    assert set(metrics["confined_attack"]) == {"adversarial", "paper.adversarial",
                                               "transplant.round_1", "paper.round_1"}
