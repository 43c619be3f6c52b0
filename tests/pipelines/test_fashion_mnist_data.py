"""`kedro run --pipelines data --env fashion_mnist` on the shared offline copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from limeguard.datasets.image_set import ImageSetDataset
from tests.images.test_idx import FASHION, NOWHERE
from tests.kedro_project import kedro, make_project_copy

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not FASHION.is_dir(), reason="no shared Fashion-MNIST copy")]


def test_fashion_mnist_env_data(tmp_path: Path) -> None:
    project = make_project_copy(tmp_path / "project")
    params = f"data.source.folder={FASHION},data.source.download_url={NOWHERE}"
    run = kedro(project, "run", "--pipelines", "data", "--env", "fashion_mnist", "--params", params)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    out = project / "data/fashion_mnist"
    manifest = json.loads((out / "08_reporting/data_manifest.json").read_text())
    assert manifest["source"] == "idx_folder" and manifest["classes"][0] == "T-shirt/top"
    assert manifest["counts"] == {"train": 5000, "val": 1000, "test": 1000, "probe": 200}
    train = ImageSetDataset(str(out / "05_model_input/train_images.safetensors")).load()
    assert train.images.shape == (5000, 1, 28, 28)
    report = json.loads((out / "08_reporting/data_validation.json").read_text())
    assert report["success"] is True
