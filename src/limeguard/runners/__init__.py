"""Kedro runners of this project: ``kedro run --runner limeguard.runners.DaskRunner``."""

from limeguard.runners.dask_runner import (
    SCHEDULER_ENV,
    DaskRunner,
    MemoryDatasetBetweenNodesError,
    SchedulerUnreachableError,
)

__all__ = ["SCHEDULER_ENV", "DaskRunner", "MemoryDatasetBetweenNodesError",
           "SchedulerUnreachableError"]
