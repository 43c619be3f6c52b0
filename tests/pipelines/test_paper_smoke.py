"""The `paper` env's whole `refine` job at toy size, on the CPU (conf/paper_smoke.yml, derived from
conf/paper by limeguard.derived_env: ResNet-18, PGD-AT, standard AutoAttack, the paper's bound and
CIFAR-10-C settings, with sizes shrunk), and `kedro run --env paper` on a machine without CUDA.

``LIMEGUARD_SMOKE_DEVICE=cuda`` runs the same smoke on a GPU (the GPU workflow does, before the
paper run).
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import tarfile
from pathlib import Path

import pandas as pd
import pytest
import torch

from limeguard.derived_env import derive_env
from limeguard.models import load_model
from tests.conftest import MIRROR, write_jpeg_mirror
from tests.kedro_project import files_under, kedro, make_project_copy

ENV = "paper_smoke"
DEVICE = os.environ.get("LIMEGUARD_SMOKE_DEVICE")  # unset: the smoke file's own (cpu)
TRAIN_PER_CLASS, TEST_PER_CLASS = 12, 2  # train 100 + val 20 of the train images, test 20
MODELS = ("standard", "adversarial", "control",
          *(f"{arm}.round_{k}" for arm in ("transplant", "paper") for k in (1, 2, 3)))


def mirror_subset(root: Path) -> Path:
    """The first images per class of each split of the shared CIFAR-10 JPEG mirror (copied, not
    decoded: reading all 60,000 costs half a minute here), as a mirror with its own SHA256SUMS.
    Without the shared mirror: the fixture mirror in the same layout."""
    archive = root / "cifar10_jpg.tar.gz"
    if not MIRROR.is_file():
        from limeguard.images.sources import CIFAR10_CLASSES

        return write_jpeg_mirror(archive, CIFAR10_CLASSES, TRAIN_PER_CLASS, TEST_PER_CLASS)
    wanted = {"train": TRAIN_PER_CLASS, "test": TEST_PER_CLASS}
    taken: collections.Counter = collections.Counter()
    with tarfile.open(MIRROR, "r:gz") as source, tarfile.open(archive, "w:gz") as out:
        for member in source:
            parts = Path(member.name).parts  # [..., split, class, NNNN.jpg]
            if member.isfile() and len(parts) >= 3 and parts[-3] in wanted:
                if taken[parts[-3:-1]] < wanted[parts[-3]]:
                    taken[parts[-3:-1]] += 1
                    out.addfile(member, source.extractfile(member))
    assert len(taken) == 20 and sum(taken.values()) == 10 * (TRAIN_PER_CLASS + TEST_PER_CLASS)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    (root / "SHA256SUMS").write_text(f"{digest}  {archive.name}\n")
    return archive


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copy after `kedro run --pipelines refine --env paper_smoke` (derived in the copy
    from its conf/paper and conf/paper_smoke.yml), on real CIFAR-10 images of the shared mirror."""
    root = tmp_path_factory.mktemp("paper_smoke")
    archive = mirror_subset(root)
    project = make_project_copy(root / "project")
    derive_env(project / "conf", project / "conf" / "paper_smoke.yml")
    params = (f"data.source.order=[jpeg_mirror],data.source.mirror_archive={archive},"
              f"data.source.mirror_checksums={root / 'SHA256SUMS'}")
    if DEVICE:
        params += f",runtime.device={DEVICE}"
    run = kedro(project, "run", "--pipelines", "refine", "--env", ENV, "--params", params,
                timeout=1200)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-6000:]
    return project


@pytest.mark.slow
def test_every_node_of_the_refine_job_ran(smoke_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kedro.framework.project import configure_project

    from limeguard.pipeline_registry import register_pipelines

    monkeypatch.chdir(smoke_run)  # the DAG of the copy's paper_smoke env (its conf, 3 rounds)
    monkeypatch.setenv("KEDRO_ENV", ENV)
    configure_project("limeguard")
    refine = {n.name for n in register_pipelines()["refine"].nodes}
    timings = json.loads((smoke_run / f"data/{ENV}/08_reporting/node_timings.json").read_text())
    assert set(timings) == refine
    assert {f"{arm}.round_{k}.refine_round" for arm in ("transplant", "paper")
            for k in (1, 2, 3)} <= refine


@pytest.mark.slow
def test_the_paper_models_and_training_methods_ran(smoke_run: Path) -> None:
    out = smoke_run / "data" / ENV
    for name in MODELS:
        model = load_model(out / f"06_models/{name}.safetensors")
        assert (model.spec.arch, model.spec.options) == ("resnet18", {"width": 8}), name
    adversarial = load_model(out / "06_models/adversarial.safetensors")
    assert adversarial.checkpoint_metadata["recipe"]["method"] == "pgd_at"
    history = pd.read_csv(out / "07_model_output/transplant.round_1_history.csv")
    assert len(history) == 1 and history["val_pgd_acc"].notna().all()
    info = json.loads((out / "08_reporting/transplant.round_3/round_info.json").read_text())
    assert info["round"] == 3


@pytest.mark.slow
def test_the_paper_attacks_bound_and_corruptions_ran(smoke_run: Path) -> None:
    out = smoke_run / "data" / ENV
    for name in MODELS:
        results = pd.read_parquet(out / f"07_model_output/{name}/attack_results.parquet")
        assert set(results["attack"]) == {"clean", "fgsm", "pgd", "pgd_restarts", "cw",
                                          "autoattack", "square"}, name
        assert results["image_id"].nunique() == 10
        swept = set(results.loc[results["attack"] == "pgd", "eps_255"].round(3))
        assert {round(e * 255, 3) for e in (0.01, 0.05, 0.1)} <= swept  # the paper's small-ε grid
        corruption = pd.read_csv(out / f"08_reporting/{name}/corruption_accuracy.csv")
        assert corruption["corruption"].nunique() == 16  # all 15 of CIFAR-10-C, and the mean
        bound = json.loads((out / f"08_reporting/{name}/bound_summary.json").read_text())
        assert bound["n_images"] == 3
    metrics = json.loads((out / "08_reporting/metrics.json").read_text())
    assert set(metrics["models"]) == set(MODELS)
    assert metrics["claims"]["a"]["numbers"]["measure"] == "autoattack"
    manifest = json.loads((out / "08_reporting/data_manifest.json").read_text())
    assert manifest["source"] == "jpeg_mirror"


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
def test_the_paper_env_without_cuda_stops_before_its_first_node(tmp_path: Path) -> None:
    """`make run ENV=paper` (= kedro run --env paper) on a CPU machine: no node runs, and the error
    says why and how to run the toy version."""
    project = make_project_copy(tmp_path / "project")
    run = kedro(project, "run", "--pipelines", "refine", "--env", "paper", timeout=600)
    assert run.returncode != 0
    output = " ".join((run.stdout + run.stderr).split())  # the console wraps long lines
    assert "CUDA is not available" in output and "make paper-smoke" in output, output[-4000:]
    assert files_under(project / "data") == []  # not even the data stage ran
