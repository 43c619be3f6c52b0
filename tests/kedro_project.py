"""Run the real `kedro` CLI on a throwaway copy of this project (its own conf/ and data/)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT_ROOT

KEDRO = Path(sys.executable).parent / "kedro"
LAYERS = ("01_raw", "02_intermediate", "03_primary", "04_feature", "05_model_input",
          "06_models", "07_model_output", "08_reporting")


def make_project_copy(dest: Path) -> Path:
    """conf/ (without local), pyproject.toml, src/ and empty data layers."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(PROJECT_ROOT / "conf", dest / "conf", ignore=shutil.ignore_patterns("local"))
    (dest / "conf" / "local").mkdir()
    shutil.copy(PROJECT_ROOT / "pyproject.toml", dest / "pyproject.toml")
    shutil.copytree(PROJECT_ROOT / "src", dest / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for layer in LAYERS:
        (dest / "data" / layer).mkdir(parents=True)
    return dest


def kedro(project: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """``kedro <args>`` in ``project``; output captured, never raises on failure."""
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "DVC_NO_ANALYTICS": "1",
           "TQDM_DISABLE": "1", "MPLBACKEND": "Agg",
           "KEDRO_LOGGING_CONFIG": str(project / "conf" / "logging.yml")}
    env.pop("KEDRO_ENV", None)  # `--env` alone picks the env, the DAG's shape included
    return subprocess.run([str(KEDRO), *args], cwd=project, env=env, capture_output=True,
                          text=True, timeout=timeout)


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


TINY_SIZES = ("data.split.train_size=40,data.split.val_size=20,data.split.test_size=20,"
              "data.split.probe_size=10")


def tiny_run_params(root: Path) -> str:
    """``--params`` for a tiny run: a fixture JPEG mirror written under ``root`` as the only source,
    and split sizes that fit it."""
    from limeguard.images.sources import CIFAR10_CLASSES
    from tests.conftest import write_jpeg_mirror

    mirror = write_jpeg_mirror(root / "cifar10_jpg.tar.gz", CIFAR10_CLASSES, 6, 3)
    return (f"data.source.mirror_archive={mirror},data.source.mirror_checksums={root / 'SHA256SUMS'},"
            f"data.source.order=[jpeg_mirror],{TINY_SIZES}")


# a finished default run's files (under data/, where dvc.yaml tracks them): other envs never touch them
DEFAULT_RUN_FILES = {
    "05_model_input/train_images.safetensors": b"default run: train split",
    "06_models/adversarial.safetensors": b"default run: AT baseline",
    "06_models/transplant.round_1.safetensors": b"default run: round 1",
    "06_models/checkpoints/rounds/transplant/round_1/state.json": b'{"epoch": 3}',
    "07_model_output/tune/study.db": b"default run: study",
    "08_reporting/report.md": b"# the default run's report",
    "08_reporting/node_timings.json": b"{}",
}


def plant_default_run(project: Path) -> None:
    """Write :data:`DEFAULT_RUN_FILES` under ``project/data``."""
    for name, content in DEFAULT_RUN_FILES.items():
        path = project / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def default_run_changes(project: Path, own_root: str) -> list[str]:
    """Planted files that changed or vanished, and files written under data/ outside ``own_root``
    (relative to data/) and the shared raw inputs (01_raw)."""
    data = project / "data"
    changed = [n for n, content in DEFAULT_RUN_FILES.items()
               if not (data / n).is_file() or (data / n).read_bytes() != content]
    foreign = [f for f in files_under(data) if f not in DEFAULT_RUN_FILES and not f.endswith(".gitkeep")
               and not f.startswith((f"{own_root}/", "01_raw/"))]
    return changed + foreign
