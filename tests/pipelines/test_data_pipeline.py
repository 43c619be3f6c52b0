"""`kedro run --pipeline data` end to end, on a fixture mirror and on the real offline mirror."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from limeguard.datasets.image_set import ImageSetDataset
from tests.conftest import MIRROR, MIRROR_SUMS
from tests.kedro_project import files_under, kedro, make_project_copy

pytestmark = pytest.mark.slow  # real `kedro` runs in a project copy

OUTPUTS = [f"test/{f}" for f in (  # under data/: the test env writes under data/test/
    "05_model_input/probe_images.safetensors", "05_model_input/test_images.safetensors",
    "05_model_input/train_images.safetensors", "05_model_input/val_images.safetensors",
    "08_reporting/data_manifest.json", "08_reporting/data_validation.json",
    "08_reporting/node_record.json", "08_reporting/node_timings.json")]


def _source_params(archive: Path, sums: Path, root: Path) -> str:
    return (f"data.source.mirror_archive={archive},data.source.mirror_checksums={sums},"
            f"data.source.root={root},data.source.download_url=http://127.0.0.1:9/none.tar.gz")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project_copy(tmp_path / "project")


def test_data_pipeline_on_fixture_mirror(project: Path, mirror_fixture: Path) -> None:
    params = _source_params(mirror_fixture, mirror_fixture.parent / "SHA256SUMS", project / "data/01_raw")
    sizes = "data.split.train_size=30,data.split.val_size=20,data.split.test_size=20,data.split.probe_size=10"
    run = kedro(project, "run", "--pipelines", "data", "--env", "test", "--params", f"{params},{sizes}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert [f for f in files_under(project / "data") if not f.endswith(".gitkeep")] == OUTPUTS
    manifest = json.loads((project / "data/test/08_reporting/data_manifest.json").read_text())
    assert manifest["source"] == "jpeg_mirror" and manifest["description"] == "CIFAR-10 (JPEG q75 mirror)"
    assert manifest["counts"] == {"train": 30, "val": 20, "test": 20, "probe": 10}
    train = ImageSetDataset(str(project / "data/test/05_model_input/train_images.safetensors")).load()
    assert train.images.shape == (30, 3, 32, 32) and train.meta["source"] == "jpeg_mirror"


def test_gate_failure_writes_report_but_no_splits(project: Path, mirror_fixture: Path) -> None:
    """A blank-image threshold every image fails: the run stops, names it, writes no split."""
    params = _source_params(mirror_fixture, mirror_fixture.parent / "SHA256SUMS", project / "data/01_raw")
    sizes = "data.split.train_size=30,data.split.val_size=20,data.split.test_size=20,data.split.probe_size=10"
    gate = "data.gate.min_pixel_std=0.9"
    run = kedro(project, "run", "--pipelines", "data", "--env", "test", "--params", f"{params},{sizes},{gate}")
    assert run.returncode != 0
    out = " ".join((run.stdout + run.stderr).split())
    assert "data gate failed" in out
    assert "expect_column_values_to_be_between on column 'pixel_std'" in out
    report = json.loads((project / "data/test/08_reporting/data_validation.json").read_text())
    assert report["success"] is False
    assert not list((project / "data/test/05_model_input").glob("*.safetensors"))


def test_misspelled_parameter_stops_before_any_node(project: Path) -> None:
    run = kedro(project, "run", "--pipelines", "data", "--env", "test",
                "--params", "data.split.trian_size=10")
    out = " ".join((run.stdout + run.stderr).split())  # rich wraps long lines
    assert run.returncode != 0
    assert "data.split: unknown parameter 'trian_size' (did you mean 'train_size'?)" in out
    assert "Running node" not in out
    assert [f for f in files_under(project / "data") if not f.endswith(".gitkeep")] == []


def test_no_source_available_is_one_clear_error(project: Path, tmp_path: Path) -> None:
    params = _source_params(tmp_path / "absent.tar.gz", tmp_path / "absent.sums", project / "data/01_raw")
    run = kedro(project, "run", "--pipelines", "data", "--env", "test", "--params", params)
    out = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0 and "no source could provide cifar10" in out
    assert [f for f in files_under(project / "data") if not f.endswith(".gitkeep")] == []


@pytest.mark.skipif(not MIRROR.is_file(), reason="the shared CIFAR-10 mirror is not beside the checkout")
def test_data_pipeline_on_real_mirror(project: Path) -> None:
    params = _source_params(MIRROR, MIRROR_SUMS, project / "data/01_raw")
    run = kedro(project, "run", "--pipelines", "data", "--env", "test", "--params", params)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads((project / "data/test/08_reporting/data_validation.json").read_text())
    assert report["success"] and report["data"]["source"] == "jpeg_mirror"
    assert report["data"]["counts"] == {"train": 200, "val": 50, "test": 50, "probe": 20}
