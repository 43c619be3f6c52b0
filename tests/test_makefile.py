"""The Makefile a new user runs: the default run's env applies conf/local, the Python is checked,
`make test-fast` leaves out the slow end-to-end tests, `make clean-data` keeps raw inputs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from tests.conftest import PROJECT_ROOT
from tests.kedro_project import files_under, make_project_copy

MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="needs GNU make")


def make(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([MAKE, "--no-print-directory", "-C", str(project), *args],
                          capture_output=True, text=True, timeout=120)


def makefile_copy(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Makefile", "requirements.txt", "requirements-lock.txt", "pyproject.toml"):
        shutil.copy(PROJECT_ROOT / name, dest / name)
    return dest


def default_run_env() -> str:
    """The env `make run` passes to kedro, checked to be the KEDRO_ENV it exports (dry run)."""
    done = make(PROJECT_ROOT, "-n", "-p", "run")
    assert done.returncode == 0, done.stderr
    envs = set(re.findall(r"kedro run --pipelines refine --env (\S+)", done.stdout))
    exported = set(re.findall(r"^KEDRO_ENV := (\S+)$", done.stdout, re.MULTILINE))
    assert len(envs) == 1 and envs == exported, (envs, exported)
    return envs.pop()


def test_default_run_applies_conf_local(tmp_path: Path) -> None:
    """An override in conf/local reaches the parameters of the run `make run` starts."""
    project = make_project_copy(tmp_path / "project")
    (project / "conf/local/parameters.yml").write_text("runtime:\n  seed: 1234\n")
    (project / "conf/local/parameters_report.yml").write_text("report:\n  min_gain: 4.5\n")
    env = default_run_env()
    bootstrap_project(project)
    with KedroSession.create(project_path=project, env=env) as session:
        params = session.load_context().config_loader["parameters"]
    assert params["runtime"]["seed"] == 1234 and params["report"]["min_gain"] == 4.5
    assert params["runtime"]["device"] == "auto"  # base's other keys stay (soft merge)
    with KedroSession.create(project_path=project, env="base") as session:  # the old `--env base`
        assert session.load_context().config_loader["parameters"]["runtime"]["seed"] != 1234


def test_conf_local_is_ignored_except_its_readme() -> None:
    done = subprocess.run(["git", "-C", str(PROJECT_ROOT), "check-ignore", "--no-index",
                           "conf/local/parameters.yml", "conf/local/credentials.yml",
                           "conf/local/README.md", "conf/local/.gitkeep"],
                          capture_output=True, text=True)
    assert set(done.stdout.split()) == {"conf/local/parameters.yml", "conf/local/credentials.yml"}


@pytest.mark.parametrize("version", ["Python 3.10.14", None])
def test_another_python_is_refused_with_what_to_do(tmp_path: Path, version: str | None) -> None:
    """No Python 3.11 here but this one, so a stand-in interpreter answers as another version
    would (`--version` prints it, the version check fails); ``None``: no interpreter at all."""
    project = makefile_copy(tmp_path / "project")
    python = tmp_path / "python3"
    if version is not None:
        python.write_text(f'#!/bin/sh\n[ "$1" = --version ] && echo "{version}" && exit 0\nexit 1\n')
        python.chmod(0o755)
    done = make(project, "install", f"PYTHON={python}", f"VENV={tmp_path / 'venv'}")
    assert done.returncode != 0
    found = version or "not found"
    assert f"limeguard needs Python 3.11, but {python} is: {found}" in done.stderr
    assert "make PYTHON=/path/to/python3.11" in done.stderr
    assert not (tmp_path / "venv").exists()


def test_python_311_passes_the_check(tmp_path: Path) -> None:
    project = makefile_copy(tmp_path / "project")
    done = make(project, "check-python", f"PYTHON={sys.executable}", f"VENV={tmp_path / 'venv'}")
    assert done.returncode == 0, done.stderr


def test_test_fast_deselects_the_slow_tests() -> None:
    done = make(PROJECT_ROOT, "-n", "test-fast")
    assert re.search(r"-m pytest -m \"not slow\"", done.stdout), done.stdout
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "not slow",
         "tests/pipelines/test_refine_pipeline.py", "tests/test_dvc_repro.py", "tests/test_notebook.py",
         "tests/pipelines/test_tune_pipeline.py", "tests/pipelines/test_data_pipeline.py", "tests/test_viz.py"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert "no tests collected" in collected.stdout and "deselected" in collected.stdout, collected.stdout


def test_clean_data_keeps_raw_inputs_and_tracked_placeholders(tmp_path: Path) -> None:
    project = makefile_copy(tmp_path / "project")
    shutil.copytree(PROJECT_ROOT / "data", project / "data", ignore=lambda d, names: [
        n for n in names if (Path(d) / n).is_file() and n != ".gitkeep"])
    keep = ["01_raw/.gitkeep", "01_raw/cifar-10-batches-py/data_batch_1", "06_models/.gitkeep",
            "06_models/adversarial.safetensors.dvc"]
    drop = ["06_models/adversarial.safetensors", "08_reporting/report.md",
            "test/06_models/checkpoints/rounds/transplant/round_1/state.json", "spurious/08_reporting/metrics.json"]
    for name in keep + drop:
        (project / "data" / name).parent.mkdir(parents=True, exist_ok=True)
        (project / "data" / name).write_text(name)
    done = make(project, "clean-data")
    assert done.returncode == 0, done.stderr
    left = set(files_under(project / "data"))
    assert set(keep) <= left and not left & set(drop)
    assert not (project / "data/test").exists() and (project / "data/08_reporting").is_dir()


def test_paper_smoke_derives_its_env_then_runs_the_refine_job_in_it() -> None:
    """`make paper-smoke` (dry run): conf/paper_smoke/ written from conf/paper_smoke.yml, then the
    whole `refine` job with that env as KEDRO_ENV (the DAG's shape) and --env; SMOKE_DEVICE=cuda
    on a GPU runner."""
    done = make(PROJECT_ROOT, "-n", "paper-smoke")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    derive = lines.index(".venv/bin/python -m limeguard.derived_env conf/paper_smoke.yml")
    assert lines[derive + 1] == ("KEDRO_ENV=paper_smoke .venv/bin/kedro run --pipelines refine "
                                 "--env paper_smoke")
    on_gpu = make(PROJECT_ROOT, "-n", "paper-smoke", "SMOKE_DEVICE=cuda").stdout.splitlines()[-1]
    assert on_gpu.endswith("--env paper_smoke --params runtime.device=cuda")


@pytest.mark.parametrize(("env", "pipeline"), [("decoy_fmnist", "decoy"), ("local", "refine"),
                                               ("decoy_fmnist_paper", "decoy"),
                                               ("spurious_corners", "refine")])
def test_run_picks_the_envs_pipeline(env: str, pipeline: str) -> None:
    """`make run ENV=decoy_fmnist` runs the decoy benchmark; every other env the job (dry run)."""
    done = make(PROJECT_ROOT, "-n", "run", f"ENV={env}")
    assert done.returncode == 0, done.stderr
    assert f"kedro run --pipelines {pipeline} --env {env}" in done.stdout


def test_run_keeps_an_explicit_pipeline() -> None:
    done = make(PROJECT_ROOT, "-n", "run", "ENV=decoy_fmnist", "PIPELINE=data")
    assert done.returncode == 0, done.stderr
    assert "kedro run --pipelines data --env decoy_fmnist" in done.stdout


def test_bench_resume_is_the_bench_skipping_nodes_whose_outputs_exist() -> None:
    """`make bench-resume` (dry run): `make bench`'s command with Kedro's --only-missing-outputs."""
    bench = make(PROJECT_ROOT, "-n", "bench").stdout.splitlines()[-1]
    resume = make(PROJECT_ROOT, "-n", "bench-resume").stdout.splitlines()[-1]
    assert bench.endswith("kedro run --pipelines seeds --env bench")
    assert resume == f"{bench} --only-missing-outputs"
