"""Project pipelines: one per stage, and ``refine``, the end-to-end job (also ``__default__``)."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline


def register_pipelines() -> dict[str, Pipeline]:
    """Every ``limeguard.pipelines.<name>`` package; ``__default__`` is ``refine``."""
    pipelines = find_pipelines(raise_errors=True)
    if "refine" in pipelines:
        pipelines["__default__"] = pipelines["refine"]
    return pipelines
