"""Project pipelines: one per stage, and ``refine``, the end-to-end job."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

# The stages of the end-to-end job, in order. A stage whose pipeline is not built yet is left out
# of `refine` (and the README says which stages `refine` runs today).
REFINE_STAGES = ("data", "baseline", "mine", "rounds", "evaluate", "report")


def register_pipelines() -> dict[str, Pipeline]:
    """``data``, ``baseline``, ... as found under ``limeguard.pipelines``, plus ``refine``."""
    pipelines = find_pipelines(raise_errors=True)
    refine = sum((pipelines[name] for name in REFINE_STAGES if name in pipelines), Pipeline([]))
    pipelines["refine"] = refine
    pipelines["__default__"] = refine
    return pipelines
