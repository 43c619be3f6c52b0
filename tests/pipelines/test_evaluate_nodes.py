"""The planted-cue nodes of ``evaluate`` with dict params, and the DAG they shape."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from limeguard.images.imageset import ImageSet
from limeguard.pipelines.data.pipeline import create_pipeline as data_pipeline
from limeguard.pipelines.evaluate.nodes import attack_uncued
from limeguard.pipelines.evaluate.pipeline import create_pipeline as evaluate_pipeline
from limeguard.pipelines.evaluate.pipeline import evaluated_models
from limeguard.pipelines.report.pipeline import report_inputs
from tests.attacks.tiny import TinyCNN, synthetic_images, trained_tiny_cnn
from tests.conftest import PROJECT_ROOT

EVALUATE = {"max_images": 12, "attacks": {
    "eps_255": [4], "small_eps_linf": [], "headline_eps_255": 8, "batch_size": 8,
    "attacks": [{"name": "pgd", "sweep": True, "options": {"steps": 3}},
                {"name": "autoattack_fast", "options": {"n_iter": 5, "n_target_classes": 2}}]}}
RUNTIME = {"device": "cpu", "progress": False}


@pytest.fixture(scope="module")
def tiny_model() -> TinyCNN:
    return trained_tiny_cnn()


def test_attack_uncued_runs_the_evaluations_autoattack_on_the_first_images(tiny_model) -> None:
    x, y = synthetic_images(20, seed=3)
    uncued = ImageSet(x, y, 100 + y.new_tensor(range(20)), tuple(map(str, range(10))))
    result, rows = attack_uncued(tiny_model, uncued, EVALUATE, RUNTIME)
    first, first_rows = attack_uncued(tiny_model, uncued.subset(y.new_tensor(range(12))),
                                      {**EVALUATE, "max_images": None}, RUNTIME)
    assert result == first and result["n_images"] == 12 and rows.equals(first_rows)
    assert set(rows["image_id"]) == set(range(100, 112))
    assert result["attack"] == "autoattack_fast" and result["eps_255"] == 8.0
    with torch.no_grad():  # the model's own accuracy on those 12 images, which AutoAttack breaks
        clean = (tiny_model(x[:12]).argmax(1) == y[:12]).float().mean().item()
    assert result["clean_accuracy"] == pytest.approx(clean) and clean >= 0.9
    assert result["autoattack_accuracy"] <= clean - 0.5


@pytest.fixture
def spurious_conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(PROJECT_ROOT / "conf", tmp_path / "conf", ignore=shutil.ignore_patterns("local"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KEDRO_ENV", "spurious_object")
    return tmp_path


def test_spurious_env_persists_uncued_images_and_attacks_them_per_model(spurious_conf) -> None:
    data = data_pipeline()
    assert "test_uncued_images" in data.all_outputs()
    evaluate = evaluate_pipeline()
    models = evaluated_models()
    assert {f"{m}.attack_uncued" for m in models} <= {n.name for n in evaluate.nodes}
    assert {f"{m}.uncued_robustness" for m in models} <= evaluate.all_outputs()
    assert "test_uncued_images" in evaluate.inputs()
    assert {f"{m}__uncued_robustness" for m in models} <= set(report_inputs())


def test_default_env_has_no_uncued_nodes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(PROJECT_ROOT / "conf", tmp_path / "conf", ignore=shutil.ignore_patterns("local"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KEDRO_ENV", "base")
    assert "test_uncued_images" not in data_pipeline().all_outputs()
    assert not [n for n in evaluate_pipeline().nodes if n.name.endswith("attack_uncued")]
