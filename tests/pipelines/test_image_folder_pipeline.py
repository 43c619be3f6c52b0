"""`kedro run --pipelines data` on a tiny image folder written by the test (the example env)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from limeguard.datasets.image_set import ImageSetDataset
from tests.images.folder_fixture import CLASSES, write_image_folder
from tests.kedro_project import files_under, kedro, make_project_copy

pytestmark = pytest.mark.slow  # real `kedro` runs in a project copy

ENV = "image_folder_example"
SIZES = "data.split.val_size=9,data.split.probe_size=6"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project_copy(tmp_path / "project")


def _run(project: Path, folder: Path, extra: str = "") -> tuple[int, str]:
    params = f"data.source.folder={folder},{SIZES}" + (f",{extra}" if extra else "")
    run = kedro(project, "run", "--pipelines", "data", "--env", ENV, "--params", params)
    return run.returncode, " ".join((run.stdout + run.stderr).split())


def test_data_pipeline_on_an_image_folder(project: Path, tmp_path: Path) -> None:
    folder = write_image_folder(tmp_path / "images")
    code, out = _run(project, folder)
    assert code == 0, out
    written = project / f"data/{ENV}"
    manifest = json.loads((written / "08_reporting/data_manifest.json").read_text())
    assert manifest["source"] == "image_folder" and manifest["classes"] == list(CLASSES)
    assert manifest["counts"] == {"train": 39, "val": 9, "test": 12, "probe": 6}
    assert manifest["conversions"]["converted"]["mode L->RGB"] == 15
    assert manifest["folder"] == str(folder)
    train = ImageSetDataset(str(written / "05_model_input/train_images.safetensors")).load()
    assert train.images.shape == (39, 3, 32, 32) and train.classes == CLASSES


def test_grayscale_at_another_size(project: Path, tmp_path: Path) -> None:
    folder = write_image_folder(tmp_path / "images")
    model = ("baseline.model.options.in_channels=1,baseline.model.options.mean=[0.5],"
             "baseline.model.options.std=[0.25]")
    code, out = _run(project, folder, f"data.source.channels=1,data.source.image_size=20,{model}")
    assert code == 0, out
    test = ImageSetDataset(str(project / f"data/{ENV}/05_model_input/test_images.safetensors")).load()
    assert test.images.shape == (12, 1, 20, 20)


def test_grayscale_with_an_rgb_model_stops_before_any_node(project: Path, tmp_path: Path) -> None:
    code, out = _run(project, write_image_folder(tmp_path / "images"), "data.source.channels=1")
    assert code != 0 and "baseline.model.options.in_channels" in out
    assert "Running node" not in out


def test_truncated_image_stops_the_run_naming_it(project: Path, tmp_path: Path) -> None:
    folder = write_image_folder(tmp_path / "images")
    path = folder / "lesion" / "04.png"
    path.write_bytes(path.read_bytes()[:300])
    code, out = _run(project, folder)
    assert code != 0 and "lesion/04.png: unreadable or truncated image" in out
    assert [f for f in files_under(project / "data") if f.endswith(".safetensors")] == []
