"""`dvc repro` wraps the Kedro job: one full repro (test env), a no-op rerun, which stages a
parameter makes stale, `dvc exp run -S` (a one-parameter rerun), a push/pull round trip through a
directory remote, `dvc metrics/plots show`.

Everything runs in the git + DVC project copy of the session fixture ``dvc_repro_run`` (one full
repro of the whole DAG; see tests/conftest.py). The tests below run in file order and leave the
copy complete and up to date for the next one. Assertions are on files, dvc.lock and JSON.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

REPORT_PARAMS = "conf/base/parameters_report.yml"
MINE_PARAMS = "conf/base/parameters_mine.yml"


def dvc(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(["dvc", *args], cwd=project, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, f"dvc {' '.join(args)}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done


def git(project: Path, env: dict[str, str], *args: str) -> None:
    done = subprocess.run(["git", *args], cwd=project, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def stage_paths(project: Path, cached_only: bool = False) -> dict[str, list[str]]:
    """Every out/metric/plot path of every stage `dvc repro` runs (only DVC-cached ones if asked)."""
    stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    paths: dict[str, list[str]] = {}
    for name, stage in stages.items():
        if stage.get("frozen"):  # not run by `dvc repro` (e.g. a tuning stage)
            continue
        paths[name] = []
        for key in ("outs", "metrics", "plots"):
            for entry in stage.get(key, []):
                path, options = (next(iter(entry.items())) if isinstance(entry, dict)
                                 else (entry, {}))
                if not cached_only or (options or {}).get("cache", True):
                    paths[name].append(path)
    return paths


def files_of(project: Path, path: str) -> list[Path]:
    target = project / path
    return sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else [target]


def mtimes(project: Path) -> dict[str, dict[str, int]]:
    """Stage -> {file: mtime_ns} for every file a stage writes."""
    return {stage: {str(f): f.stat().st_mtime_ns for p in paths for f in files_of(project, p)}
            for stage, paths in stage_paths(project).items()}


def rerun_stages(before: dict, after: dict) -> set[str]:
    """Stages whose files were all rewritten (a stage that did not run rewrites none)."""
    touched = set()
    for stage, files in before.items():
        changed = {f for f, t in files.items() if after[stage].get(f) != t}
        assert changed in (set(), set(files)), f"{stage}: only part of its outputs rewritten"
        if changed:
            touched.add(stage)
    return touched


def status(project: Path, env: dict[str, str]) -> dict:
    return json.loads(dvc(project, env, "status", "--json").stdout or "{}")


def set_yaml_scalar(path: Path, key: str, value: object) -> None:
    """Change one ``key: value`` line in place (comments and layout kept, as a user would)."""
    text = path.read_text()
    new, n = re.subn(rf"^(\s*{key}:\s*)[^\s#]+", rf"\g<1>{value}", text, count=1, flags=re.M)
    assert n == 1, f"{key} not found in {path}"
    path.write_text(new)


def lock(project: Path) -> dict:
    return yaml.safe_load((project / "dvc.lock").read_text())["stages"]


def test_repro_runs_every_stage(dvc_repro_run: dict[str, Path], dvc_env: dict[str, str]) -> None:
    project = dvc_repro_run["project"]
    declared = stage_paths(project)
    assert set(lock(project)) == set(declared)          # every stage ran and was recorded
    for stage, paths in declared.items():
        for path in paths:
            assert (project / path).exists(), f"{stage}: {path}"
    assert (project / "data/08_reporting/paper.round_3/round_info.json").is_file()
    manifest = json.loads((project / "data/08_reporting/data_manifest.json").read_text())
    assert manifest  # the fixture mirror fed the data stage
    assert status(project, dvc_env) == {}


def test_second_repro_skips_everything(dvc_repro_run: dict[str, Path],
                                       dvc_env: dict[str, str]) -> None:
    project = dvc_repro_run["project"]
    before, lock_before = mtimes(project), (project / "dvc.lock").read_text()
    dvc(project, dvc_env, "repro")
    assert rerun_stages(before, mtimes(project)) == set()
    assert (project / "dvc.lock").read_text() == lock_before


def test_param_change_reruns_only_its_stages(dvc_repro_run: dict[str, Path],
                                             dvc_env: dict[str, str]) -> None:
    project = dvc_repro_run["project"]
    assert status(project, dvc_env) == {}
    # a `mine` key is tracked by the stages that read it (mine and rounds) and by `report`, which
    # records every parameter in its provenance; by no other
    mine_file = project / MINE_PARAMS
    original = mine_file.read_text()
    set_yaml_scalar(mine_file, "figure_images", 5)
    try:
        assert set(status(project, dvc_env)) == {"mine", "rounds", "report"}
    finally:
        mine_file.write_text(original)  # the later tests share this project
    assert status(project, dvc_env) == {}

    # a `report` key: only `report` is stale (that only `report` then reruns: the next test)
    report_file = project / REPORT_PARAMS
    original = report_file.read_text()
    set_yaml_scalar(report_file, "min_gain", 2)
    try:
        assert set(status(project, dvc_env)) == {"report"}
    finally:
        report_file.write_text(original)
    assert status(project, dvc_env) == {}


def _experiments(shown: list[dict]) -> list[dict]:
    """The experiment entries of `dvc exp show --json` (DVC 3 layout)."""
    found = []
    for baseline in shown:
        for experiment in baseline.get("experiments") or []:
            found.extend(experiment.get("revs") or [])
    return found


def test_exp_run_sets_one_param(dvc_repro_run: dict[str, Path], dvc_env: dict[str, str]) -> None:
    project = dvc_repro_run["project"]
    git(project, dvc_env, "add", "-A")
    git(project, dvc_env, "commit", "-q", "--allow-empty", "-m", "before the experiment")
    before = mtimes(project)
    dvc(project, dvc_env, "exp", "run", "-n", "gain3", "-S", f"{REPORT_PARAMS}:report.min_gain=3")
    assert rerun_stages(before, mtimes(project)) == {"report"}  # the changed key's stage only
    assert yaml.safe_load((project / REPORT_PARAMS).read_text())["report"]["min_gain"] == 3
    assert lock(project)["report"]["params"][REPORT_PARAMS]["report"]["min_gain"] == 3
    assert status(project, dvc_env) == {}
    shown = json.loads(dvc(project, dvc_env, "exp", "show", "--json").stdout)
    experiment = next(e for e in _experiments(shown) if e.get("name") == "gain3")
    params = experiment["data"]["params"][REPORT_PARAMS]["data"]["report"]
    assert params["min_gain"] == 3
    assert "data/08_reporting/metrics.json" in experiment["data"]["metrics"]


def _digests(project: Path, paths: list[str]) -> dict[str, str]:
    return {str(f.relative_to(project)): hashlib.sha256(f.read_bytes()).hexdigest()
            for p in paths for f in files_of(project, p)}


def test_remote_push_pull_round_trip(dvc_repro_run: dict[str, Path], dvc_env: dict[str, str],
                                     tmp_path: Path) -> None:
    project = dvc_repro_run["project"]
    remote = tmp_path / "remote"
    dvc(project, dvc_env, "remote", "add", "-d", "--local", "local", str(remote))
    dvc(project, dvc_env, "push")
    assert any(p.is_file() for p in remote.rglob("*"))
    cached = [p for paths in stage_paths(project, cached_only=True).values() for p in paths]
    digests = _digests(project, cached)
    assert len(digests) >= len(cached)
    for path in cached:  # the artifacts and the local cache are gone ...
        target = project / path
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    shutil.rmtree(project / ".dvc" / "cache")
    assert not any((project / p).exists() for p in cached)
    dvc(project, dvc_env, "pull")  # ... and come back, byte for byte, from the remote
    assert _digests(project, cached) == digests
    assert status(project, dvc_env) == {}


def test_metrics_and_plots_show(dvc_repro_run: dict[str, Path], dvc_env: dict[str, str],
                                tmp_path: Path) -> None:
    project = dvc_repro_run["project"]
    dvc_yaml = yaml.safe_load((project / "dvc.yaml").read_text())
    metrics = json.loads(dvc(project, dvc_env, "metrics", "show", "--json").stdout)
    assert len(metrics) == 1  # the workspace only
    shown = next(iter(metrics.values()))["data"]
    declared = {next(iter(m)) if isinstance(m, dict) else m
                for stage in dvc_yaml["stages"].values() if not stage.get("frozen")
                for m in stage.get("metrics", [])}
    assert set(shown) == declared
    for path in declared:
        assert "error" not in shown[path] and shown[path]["data"], path

    plots = json.loads(dvc(project, dvc_env, "plots", "show", "--json").stdout)
    assert not plots.get("errors"), plots.get("errors")
    stage_plots = {next(iter(p)) if isinstance(p, dict) else p
                   for stage in dvc_yaml["stages"].values() if not stage.get("frozen")
                   for p in stage.get("plots", [])}
    top_level = {next(iter(p)) if isinstance(p, dict) else p for p in dvc_yaml.get("plots", [])}
    assert stage_plots | top_level <= set(plots["data"])
    for plot_id in stage_plots | top_level:
        assert plots["data"][plot_id], plot_id
    out = tmp_path / "plots"
    dvc(project, dvc_env, "plots", "show", "-o", str(out))
    assert (out / "index.html").stat().st_size > 1000
