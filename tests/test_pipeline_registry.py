from kedro.framework.project import configure_project

from limeguard.pipeline_registry import REFINE_STAGES, register_pipelines


def test_refine_is_default_and_chains_the_stages() -> None:
    configure_project("limeguard")
    pipelines = register_pipelines()
    assert pipelines["__default__"] is pipelines["refine"]
    built = [name for name in REFINE_STAGES if name in pipelines]
    assert built[0] == "data"
    for name in built:
        assert set(pipelines[name].all_outputs()) <= set(pipelines["refine"].all_outputs())
