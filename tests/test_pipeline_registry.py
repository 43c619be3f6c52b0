from pathlib import Path

import pytest
from kedro.framework.project import configure_project

from limeguard.pipeline_registry import register_pipelines

STAGES = ("data", "baseline", "mine", "rounds", "evaluate", "report")


def test_refine_is_default_and_chains_every_stage() -> None:
    configure_project("limeguard")
    pipelines = register_pipelines()
    assert set(STAGES) | {"refine", "__default__"} <= set(pipelines)
    assert pipelines["__default__"] is pipelines["refine"]
    refine = pipelines["refine"]
    for name in STAGES:
        assert {n.name for n in pipelines[name].nodes} <= {n.name for n in refine.nodes}, name
    # the job is closed: everything it reads is produced inside it, or is configuration
    free = {i for i in refine.inputs() if not i.startswith("params:")}
    assert free <= {"parameters", "node_timings", "node_record"}, free


ENVS = sorted(p.name for p in Path(__file__).resolve().parents[1].joinpath("conf").iterdir()
              if p.is_dir() and p.name != "local")


@pytest.mark.parametrize("env", ENVS)
def test_every_env_builds_a_closed_refine_job(env: str, monkeypatch) -> None:
    """The DAG's shape follows the env (rounds, planted cue): each shape must build and be closed,
    the planted envs with the cue feeding the rounds and the control."""
    monkeypatch.setenv("KEDRO_ENV", env)
    configure_project("limeguard")
    refine = register_pipelines()["refine"]
    free = {i for i in refine.inputs() if not i.startswith("params:")}
    assert free <= {"parameters", "node_timings", "node_record"}, free
    control = next(n for n in refine.nodes if n.name == "train_matched_control")
    planted = env.startswith("spurious")
    assert ("spurious_cue" in control.inputs) == planted
    assert "adversarial.refinement_masks" in control.inputs
