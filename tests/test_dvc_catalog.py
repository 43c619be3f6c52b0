"""dvc.yaml mirrors the Kedro catalog: each stage's files are exactly its pipeline's persisted outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kedro.framework.project import configure_project, pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from tests.conftest import PROJECT_ROOT

UNTRACKED = {"node_timings", "node_record"}  # run records written by a hook, not stage outputs


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
