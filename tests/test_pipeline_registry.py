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
    assert free <= {"parameters", "node_timings"}, free
