"""The DAG's shape (rounds.count, data.spurious.enabled) follows the env that runs (`--env`), not
only ``KEDRO_ENV``; parameters that would need another DAG stop the run before its first node."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.config import OmegaConfigLoader
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from limeguard.config import ConfigError
from limeguard.pipelines.shape import check_run_matches_dag, configured_parameters
from tests.conftest import PROJECT_ROOT
from tests.kedro_project import files_under, kedro, make_project_copy, tiny_run_params

ARMS = ("transplant", "paper")  # conf/base's rounds.arms


def _rounds(pipeline) -> set[str]:
    """The ``<arm>.round_<k>`` namespaces of ``pipeline``'s nodes."""
    return {n.namespace for n in pipeline.nodes
            if (n.namespace or "").split(".")[-1].startswith("round_")}


def _named(*ks: int) -> set[str]:
    return {f"{arm}.round_{k}" for arm in ARMS for k in ks}


def test_session_env_rebuilds_the_dag_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pipelines built for one env are rebuilt for the env a session's context is created with."""
    monkeypatch.setenv("KEDRO_ENV", "base")
    bootstrap_project(PROJECT_ROOT)
    assert _rounds(pipelines["rounds"]) == _named(1, 2, 3)
    with KedroSession.create(project_path=PROJECT_ROOT, env="test") as session:
        context = session.load_context()
        assert _rounds(pipelines["rounds"]) == _named(1)  # conf/test: rounds.count 1
        check_run_matches_dag(context.config_loader["parameters"], "test")


def test_mismatch_names_both_envs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEDRO_ENV", "base")
    configured_parameters(PROJECT_ROOT)  # what building the pipelines reads: base's shape
    params = OmegaConfigLoader(conf_source=str(PROJECT_ROOT / "conf"), base_env="base",
                               default_run_env="local", env="spurious",
                               merge_strategy={"parameters": "soft"})["parameters"]
    with pytest.raises(ConfigError, match=r"data\.spurious\.enabled: the run's env is 'spurious' but "
                                          r"the DAG was built for env 'base'"):
        check_run_matches_dag(params, "spurious")
    check_run_matches_dag(params | {"data": {"spurious": {"enabled": False}}}, "spurious")


@pytest.mark.slow
def test_planted_env_without_kedro_env_plants_the_cue(tmp_path: Path) -> None:
    """`kedro run --env spurious` (no KEDRO_ENV) builds the planted-cue data pipeline and writes
    under data/spurious/ only."""
    project = make_project_copy(tmp_path / "project")
    run = kedro(project, "run", "--env", "spurious", "--pipelines", "data",
                "--params", tiny_run_params(tmp_path))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    written = [f for f in files_under(project / "data") if not f.endswith(".gitkeep")]
    assert {"spurious/05_model_input/test_swapped_images.safetensors",
            "spurious/05_model_input/spurious_cue.safetensors"} <= set(written)
    assert all(f.startswith("spurious/") for f in written), written


@pytest.mark.slow
def test_shape_key_from_params_stops_before_the_first_node(tmp_path: Path) -> None:
    project = make_project_copy(tmp_path / "project")
    run = kedro(project, "run", "--env", "test", "--pipelines", "data", "--params", "rounds.count=2")
    out = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0
    assert "rounds.count: the run's parameters (env 'test' and --params) differ from its conf" in out
    assert "rounds.count: 2 in the run, 1 in the DAG" in out
    assert "Running node" not in out
    assert [f for f in files_under(project / "data") if not f.endswith(".gitkeep")] == []
