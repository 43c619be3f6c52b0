"""Shared fixtures: small CIFAR files in the real on-disk formats, and the project root."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pytest

from limeguard.pipelines.shape import forget_run_env

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TQDM_DISABLE", "1")
# the decoded mirror's copies (data.source.decoded_cache: auto) go to a folder of the tests' own,
# kept between sessions (a copy is keyed by its archive's sha256), not to the user's cache
os.environ.setdefault("LIMEGUARD_CACHE_DIR", str(Path(tempfile.gettempdir()) / f"limeguard-tests-{os.getuid()}"))
# `make test` runs the suite on pytest-xdist workers: split the cores between them, for torch here
# and in every kedro/dvc process a test starts (torch reads OMP_NUM_THREADS when it is imported)
XDIST_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if XDIST_WORKERS > 1:
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // XDIST_WORKERS)))

# under `-n N`, every test that reads a shared run below (tiny_run, dvc_repro_run) runs on the
# worker that built it, so that each is built once: a workaround for pytest-xdist's loadgroup
pytest_plugins = ["tests.xdist_groups"]

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED = PROJECT_ROOT.parent / "shared"
MIRROR = SHARED / "datasets" / "cifar10-jpeg" / "cifar10_jpg.tar.gz"
MIRROR_SUMS = SHARED / "datasets" / "cifar10-jpeg" / "SHA256SUMS"


def smooth_images(n: int, seed: int) -> np.ndarray:
    """(n, 32, 32, 3) uint8 images with structure (gradients and blobs), all distinct."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:32, 0:32] / 31.0
    out = np.empty((n, 32, 32, 3), np.uint8)
    for i in range(n):
        a, b, c = rng.uniform(0.2, 1.0, 3)
        cy, cx = rng.uniform(0.2, 0.8, 2)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 0.05)
        img = np.stack([a * xx, b * yy, c * blob], -1) + rng.normal(0, 0.03, (32, 32, 3))
        out[i] = np.clip(img * 255, 0, 255).astype(np.uint8)
    return out


def _dump(path: Path, obj: dict) -> None:
    with path.open("wb") as fh:
        pickle.dump(obj, fh)


def write_torchvision_cifar(root: Path, dataset: str, per_class: int = 4, num_classes: int = 10) -> Path:
    """torchvision's python-batch layout with ``per_class`` images per class in every batch file."""
    from torchvision.datasets import CIFAR10, CIFAR100

    tv = CIFAR10 if dataset == "cifar10" else CIFAR100
    folder = root / tv.base_folder
    folder.mkdir(parents=True)
    label_key = "labels" if dataset == "cifar10" else "fine_labels"
    names = [f"class_{i}" for i in range(num_classes)]
    _dump(folder / tv.meta["filename"], {tv.meta["key"]: names})
    for k, (name, _md5) in enumerate(tv.train_list + tv.test_list):
        labels = np.repeat(np.arange(num_classes), per_class)
        pixels = smooth_images(len(labels), seed=k).transpose(0, 3, 1, 2).reshape(len(labels), -1)
        _dump(folder / name, {b"data": pixels, label_key.encode(): labels.tolist()})
    return folder


def write_jpeg_mirror(path: Path, classes: tuple[str, ...], train_per_class: int, test_per_class: int) -> Path:
    """A tarball in the mirror's layout (``train/<class>/NNNN.jpg``) plus its SHA256SUMS."""
    from PIL import Image

    # gzip's header stamps the time unless told otherwise: mtime 0 keeps the archive's bytes (its
    # sha256, the decoded cache's key) the same in every session
    with gzip.GzipFile(path, "wb", mtime=0) as packed, tarfile.open(fileobj=packed, mode="w") as tar:
        for split, n in (("train", train_per_class), ("test", test_per_class)):
            images = smooth_images(n * len(classes), seed=len(split))
            for c, cls in enumerate(classes):
                for j in range(n):
                    buf = io.BytesIO()
                    Image.fromarray(images[c * n + j]).save(buf, format="JPEG", quality=75)
                    info = tarfile.TarInfo(f"cifar10/{split}/{cls}/{j:04d}.jpg")
                    info.size = buf.getbuffer().nbytes
                    buf.seek(0)
                    tar.addfile(info, buf)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    (path.parent / "SHA256SUMS").write_text(f"{digest}  {path.name}\n")
    return path


@pytest.fixture(autouse=True)
def _forget_run_env():
    """A Kedro context created in a test records its env as the one the DAG is built for
    (limeguard.pipelines.shape): keep that from leaking into the next test."""
    yield
    forget_run_env()


@pytest.fixture
def mirror_fixture(tmp_path: Path) -> Path:
    from limeguard.images.sources import CIFAR10_CLASSES

    return write_jpeg_mirror(tmp_path / "cifar10_jpg.tar.gz", CIFAR10_CLASSES, 6, 3)


# ---- one finished tiny `kedro run --env test` (the refine job), shared by the slow tests ----
# The refine end-to-end checks, the fault-injection reference, the byte-reproducibility and the Dask
# comparison all read this one run: each tiny run costs about half a minute on a 2-core machine.
# Two adversarial epochs, so that a kill between them leaves a half-trained baseline to resume;
# one torch thread, so that runners with one thread per worker compare bit for bit.
TINY_RUN_EXTRA_PARAMS = "baseline.adversarial.epochs=2,runtime.num_threads=1"


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``{"project": ..., "params": ...}``: a project copy after one `kedro run --env test` with
    ``--params params`` (the fixture mirror, tiny splits, :data:`TINY_RUN_EXTRA_PARAMS`), beside
    a planted finished default run (tests.kedro_project.plant_default_run). Tests must not change
    its files: copy the project first."""
    from tests.kedro_project import kedro, make_project_copy, plant_default_run, tiny_run_params

    root = tmp_path_factory.mktemp("tiny_run")
    params = f"{tiny_run_params(root)},{TINY_RUN_EXTRA_PARAMS}"
    project = make_project_copy(root / "project")
    plant_default_run(project)  # a finished default run beside it, which the test env must not touch
    run = kedro(project, "run", "--env", "test", "--params", params, timeout=1200)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return {"project": project, "params": params}


# ---- one finished `dvc repro` of the whole job under the `test` env (shared by the slow tests) ----
# `dvc repro`, the notebook and anything else that needs a finished run use this one run: a full
# `kedro run --env test` costs minutes on a 2-core machine.
DVC_FIXTURE_OVERRIDES = {
    # dvc.yaml's outputs are the default run's paths (data/), not the test env's own data/test/
    "globals.yml": {"data_root": "data"},
    # dvc.yaml names round_1 .. round_3 (the base count), so the copy's DAG must have 3 rounds
    "parameters_rounds.yml": {"rounds": {"count": 3}},
    "parameters_data.yml": {"data": {
        "source": {"order": ["jpeg_mirror"]},   # the fixture mirror at ../shared, as dvc.yaml expects
        "split": {"train_size": 40, "val_size": 20, "test_size": 20, "probe_size": 10},
    }},
}


@pytest.fixture(scope="session")
def dvc_env() -> dict[str, str]:
    """Environment for `dvc`/`kedro`/`git` in a project copy: the `test` env, quiet, no network."""
    import sys

    venv_bin = str(Path(sys.executable).parent)
    return {**os.environ, "KEDRO_ENV": "test", "KEDRO_DISABLE_TELEMETRY": "true",
            "DVC_NO_ANALYTICS": "1", "TQDM_DISABLE": "1", "MPLBACKEND": "Agg",
            "KEDRO_LOGGING_CONFIG": "conf/logging.yml",  # relative: every command runs in a copy
            "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
            "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.invalid"}


@pytest.fixture(scope="session")
def dvc_repro_run(tmp_path_factory: pytest.TempPathFactory, dvc_env: dict[str, str]) -> dict[str, Path]:
    """A git + DVC project copy after one full `dvc repro` (KEDRO_ENV=test, fixture mirror).

    Returns ``{"project": ..., "snapshot": ...}``: ``project`` is the DVC repository (tests may
    change it), ``snapshot`` a plain copy of the finished project taken right after the repro.
    """
    import shutil
    import subprocess

    import yaml

    from limeguard.images.sources import CIFAR10_CLASSES
    from tests.kedro_project import make_project_copy

    root = tmp_path_factory.mktemp("dvc_repro")
    mirror_dir = root / "shared" / "datasets" / "cifar10-jpeg"  # dvc.yaml's ../shared dep
    mirror_dir.mkdir(parents=True)
    write_jpeg_mirror(mirror_dir / "cifar10_jpg.tar.gz", CIFAR10_CLASSES, 6, 3)
    project = make_project_copy(root / "project")
    for name in ("dvc.yaml", ".dvcignore", ".gitignore"):
        shutil.copy(PROJECT_ROOT / name, project / name)
    for filename, override in DVC_FIXTURE_OVERRIDES.items():
        path = project / "conf" / "test" / filename
        merged = yaml.safe_load(path.read_text()) or {}
        stack = [(merged, override)]
        while stack:  # deep merge: override single keys, keep the test env's others
            into, src = stack.pop()
            for key, value in src.items():
                if isinstance(value, dict) and isinstance(into.get(key), dict):
                    stack.append((into[key], value))
                else:
                    into[key] = value
        path.write_text(yaml.safe_dump(merged, sort_keys=False))

    def sh(*cmd: str) -> None:
        done = subprocess.run(cmd, cwd=project, env=dvc_env, capture_output=True, text=True,
                              timeout=1200)
        assert done.returncode == 0, f"{cmd}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"

    sh("git", "init", "-q")
    sh("dvc", "init", "-q")
    sh("git", "add", "-A")
    sh("git", "commit", "-q", "-m", "project copy")
    sh("dvc", "repro")
    sh("git", "add", "-A")
    sh("git", "commit", "-q", "-m", "dvc repro (test env)")
    snapshot = root / "snapshot"
    shutil.copytree(project, snapshot, ignore=shutil.ignore_patterns(".git", ".dvc"))
    return {"project": project, "snapshot": snapshot}
