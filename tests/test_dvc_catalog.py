"""dvc.yaml mirrors the Kedro catalog: each stage's files are exactly its pipeline's persisted outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from kedro.framework.project import configure_project, pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from tests.conftest import PROJECT_ROOT

UNTRACKED = {"node_timings", "node_record"}  # run records written by a hook, not stage outputs
# parameters a hook derives from conf keys (limeguard.hooks.ArmParameterHooks): the key they come from
DERIVED = {"arm_mine": "mine", "arm_rounds": "rounds"}


@pytest.fixture(scope="module")
def catalog():
    bootstrap_project(PROJECT_ROOT)
    configure_project("limeguard")
    with KedroSession.create(project_path=PROJECT_ROOT, env="base") as session:
        yield session.load_context().catalog


def _stage_paths(stage: dict) -> set[str]:
    paths = set()
    for key in ("outs", "metrics", "plots"):
        for entry in stage.get(key, []):
            paths.add(next(iter(entry)) if isinstance(entry, dict) else entry)
    return paths


def _filepath(catalog, name: str) -> str | None:
    dataset = catalog.get(name)
    described = dataset._describe() if dataset is not None else {}
    path = described.get("filepath")
    return str(Path(path).relative_to(PROJECT_ROOT)) if path and Path(path).is_absolute() else path


def test_every_stage_matches_its_pipeline(catalog) -> None:
    stages = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())["stages"]
    registered = dict(pipelines)
    for name, stage in stages.items():
        assert stage["cmd"] == f"kedro run --pipelines {name}", name
        outputs = registered[name].all_outputs() - UNTRACKED
        persisted = {p for p in (_filepath(catalog, o) for o in outputs) if p}
        assert _stage_paths(stage) == persisted, name


def test_stage_inputs_are_upstream_outputs(catalog) -> None:
    stages = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        inputs = {p for p in (_filepath(catalog, i) for i in dict(pipelines)[name].inputs()
                              if not i.startswith("params:") and i not in UNTRACKED) if p}
        data_deps = {d for d in stage["deps"] if d.startswith("data/")}
        assert data_deps == inputs, name


def test_every_stage_input_is_persisted(catalog) -> None:
    """A stage runs alone (dvc repro), so nothing it reads may live only in memory."""
    stages = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())["stages"]
    for name in stages:
        inputs = {i for i in dict(pipelines)[name].inputs()
                  if not i.startswith("params:") and i not in UNTRACKED | {"parameters"}}
        assert not {i for i in inputs if _filepath(catalog, i) is None}, name


def _params_files() -> dict[str, str]:
    """Top-level parameter key -> the conf/base file that defines it."""
    owners = {}
    for path in sorted((PROJECT_ROOT / "conf" / "base").glob("parameters*.yml")):
        for key in yaml.safe_load(path.read_text()) or {}:
            owners[key] = str(path.relative_to(PROJECT_ROOT))
    return owners


def _tracked(stage: dict) -> dict[str, list[str] | None]:
    """params file -> its tracked keys (None: the whole file)."""
    tracked: dict[str, list[str] | None] = {}
    for entry in stage.get("params", []):
        for path, keys in entry.items():
            tracked[path] = None if not keys else [*(tracked.get(path) or []), *keys]
    return tracked


def _covers(tracked: dict[str, list[str] | None], path: str, key: str) -> bool:
    if path not in tracked:
        return False
    keys = tracked[path]
    return keys is None or any(key == k or key.startswith(f"{k}.") for k in keys)


def test_every_parameter_a_stage_reads_is_a_dvc_param() -> None:
    """Each ``params:<key>`` input of a stage's pipeline (``parameters``: every key) is tracked
    in dvc.yaml from the conf/base file that defines it, and so is the data root."""
    stages = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())["stages"]
    owners = _params_files()
    for name, stage in stages.items():
        inputs = dict(pipelines)[name].inputs()
        keys = {i.removeprefix("params:") for i in inputs if i.startswith("params:")}
        keys = {DERIVED.get(k.split(".")[0], k) for k in keys}
        if "parameters" in inputs:
            keys |= set(owners)
        tracked = _tracked(stage)
        missing = sorted(k for k in keys if not _covers(tracked, owners[k.split(".")[0]], k))
        assert missing == [], f"{name}: reads {missing}, which dvc.yaml does not track"
        assert _covers(tracked, "conf/base/globals.yml", "data_root"), name


def _placeholders(project: Path, stages: dict) -> None:
    """An empty file for every data dependency and output, so ``dvc commit`` can record them."""
    for stage in stages.values():
        entries = [d for d in stage["deps"] if not d.startswith("src/")]
        for key in ("outs", "metrics", "plots"):
            entries += [next(iter(e)) if isinstance(e, dict) else e for e in stage.get(key, [])]
        for entry in entries:
            path = project / entry
            path.parent.mkdir(parents=True, exist_ok=True)
            if entry.endswith("figures"):
                path.mkdir(exist_ok=True)
                (path / "placeholder.png").write_bytes(b"")
            elif not path.exists():
                path.write_bytes(b"")


@pytest.mark.slow
def test_a_changed_parameter_reruns_exactly_the_stages_that_read_it(tmp_path: Path) -> None:
    """dvc.lock recorded (``dvc commit``, no run) for placeholder files; then ``runtime.seed``
    changes every stage after data, and a tuning key changes the report (provenance) only."""
    import os
    import shutil
    import subprocess
    import sys

    from tests.kedro_project import make_project_copy

    project = make_project_copy(tmp_path / "project")
    shutil.copy(PROJECT_ROOT / "dvc.yaml", project / "dvc.yaml")
    stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    _placeholders(project, stages)
    env = {**os.environ, "DVC_NO_ANALYTICS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}

    def dvc(*args: str) -> str:
        done = subprocess.run(["dvc", *args], cwd=project, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, f"dvc {args}: {done.stdout}\n{done.stderr}"
        return done.stdout

    def changed() -> set[str]:
        return set(json.loads(dvc("status", "--json") or "{}"))

    def edit(name: str, section: str, key: str, value: object) -> None:
        path = project / "conf" / "base" / name
        params = yaml.safe_load(path.read_text())
        params[section][key] = value
        path.write_text(yaml.safe_dump(params, sort_keys=False))

    dvc("init", "--no-scm", "-q")
    dvc("commit", "-f", "-q")
    assert changed() == set()
    edit("parameters.yml", "runtime", "seed", 1)
    assert changed() == {"baseline", "mine", "rounds", "evaluate", "report"}
    edit("parameters.yml", "runtime", "seed", 0)
    assert changed() == set()
    tune = yaml.safe_load((project / "conf/base/parameters_tune.yml").read_text())["tune"]
    edit("parameters_tune.yml", "tune", "study", {**tune["study"], "n_trials": 3})
    assert changed() == {"report"}


def test_a_dvc_stage_under_another_env_warns_about_its_untracked_overrides(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from kedro.config import OmegaConfigLoader

    from limeguard.hooks.dvc import warn_untracked_overrides

    def params(env: str) -> dict:
        return OmegaConfigLoader(conf_source=str(PROJECT_ROOT / "conf"), base_env="base",
                                 default_run_env="base", env=env,
                                 merge_strategy={"parameters": "soft"})["parameters"]

    test_env = params("test")
    assert warn_untracked_overrides(test_env, str(PROJECT_ROOT)) == []  # not under DVC
    monkeypatch.setenv("DVC_STAGE", "baseline")
    assert warn_untracked_overrides(params("base"), str(PROJECT_ROOT)) == []
    with caplog.at_level("WARNING", logger="limeguard.hooks.dvc"):
        differing = warn_untracked_overrides(test_env, str(PROJECT_ROOT))
    assert {"data.split.train_size", "runtime.device"} <= set(differing)
    assert "DVC stage baseline" in caplog.text and "baseline.standard.epochs" in caplog.text
