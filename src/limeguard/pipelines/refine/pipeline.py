"""``refine``: the end-to-end job, data -> baseline -> mine -> rounds -> evaluate -> report."""

from kedro.pipeline import Pipeline

from limeguard.pipelines import baseline, data, evaluate, mine, report, rounds

STAGES = (data, baseline, mine, rounds, evaluate, report)


def create_pipeline(**kwargs) -> Pipeline:
    return sum((stage.create_pipeline() for stage in STAGES), Pipeline([]))
