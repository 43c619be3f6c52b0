"""The whole `refine` job (`kedro run --env test`, tiny sizes) on an image folder written by the
test (PNG and JPEG, two sizes, some grayscale): data -> baseline -> mine -> rounds -> evaluate ->
report at 3x24x24, where CIFAR-10-C does not apply and is skipped.

RGB: with `data.source.channels: 1` the job stops in `mine` (explain/figures.py draws superpixel
boundaries in RGB on the (H, W, 1) image; see the issue 24 notes).

Four classes, so that AutoAttack runs as configured: with fewer it leaves out APGD-T (the
targeted DLR loss needs four) and the report says so (tests/attacks/test_autoattack_classes.py,
tests/reporting/test_applicability.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from limeguard.datasets.image_set import ImageSetDataset
from limeguard.models import load_model
from tests.images.folder_fixture import CLASSES, write_image_folder
from tests.kedro_project import kedro, make_project_copy

pytestmark = pytest.mark.slow  # a whole `kedro run` in a project copy (minutes)

PARAMS = ("data.source.dataset=image_folder,data.source.folder={folder},data.source.image_size=24,"
          "data.gate.image_shape=null,data.split.train_size=40,"
          "data.split.val_size=12,data.split.test_size=16,data.split.probe_size=16,"
          "mine.mining.lime.num_samples=100,runtime.num_threads=1")


def test_refine_job_on_an_image_folder(tmp_path: Path) -> None:
    folder = write_image_folder(tmp_path / "images", classes=(*CLASSES, "ruler"))
    project = make_project_copy(tmp_path / "project")
    run = kedro(project, "run", "--env", "test", "--params", PARAMS.format(folder=folder),
                timeout=1500)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    out = project / "data/test"
    test = ImageSetDataset(str(out / "05_model_input/test_images.safetensors")).load()
    assert test.images.shape == (16, 3, 24, 24) and test.classes == (*CLASSES, "ruler")
    manifest = json.loads((out / "08_reporting/data_manifest.json").read_text())
    assert manifest["conversions"]["target"] == "3x24x24"
    model = load_model(out / "06_models/transplant.round_1.safetensors")
    assert model.spec.num_classes == 4
    corruption = pd.read_csv(out / "08_reporting/transplant.round_1/corruption_accuracy.csv")
    assert corruption.empty  # skipped: CIFAR-10-C is for 32x32 RGB
    assert "image folder" in (out / "08_reporting/report.md").read_text()
