"""Every node's wall time and the commit it finished at, merged into two JSON datasets."""

from __future__ import annotations

import functools
from typing import Any

from kedro.framework.hooks import hook_impl

from limeguard.locking import file_lock


class TimingHooks:
    """Record every node's wall time in the ``node_timings`` dataset, and when it finished at which
    commit in ``node_record`` (both merged across runs)."""

    def __init__(self) -> None:
        self._catalog: Any = None
        self._started: dict[str, float] = {}

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self._catalog = catalog if "node_timings" in catalog else None

    @hook_impl
    def before_node_run(self, node: Any) -> None:
        import time

        self._started[node.name] = time.perf_counter()

    @hook_impl
    def after_node_run(self, node: Any, catalog: Any) -> None:
        import time

        started = self._started.pop(node.name, None)
        if self._catalog is None and "node_timings" in catalog:
            self._catalog = catalog  # a worker process: no before_pipeline_run here
        if self._catalog is None or started is None:
            return
        seconds = round(time.perf_counter() - started, 3)
        self._merge("node_timings", node.name, seconds)
        if "node_record" in self._catalog:
            self._merge("node_record", node.name, {"finished": _utc_now(), "seconds": seconds,
                                                   "commit": _commit()})

    def _merge(self, dataset: str, key: str, value: Any) -> None:
        """Set ``key`` in the JSON dataset ``dataset``, keeping what earlier nodes and runs wrote."""
        with file_lock(getattr(self._catalog.get(dataset), "_filepath", None)):
            record = self._catalog.load(dataset) if self._catalog.exists(dataset) else {}
            record[key] = value
            self._catalog.save(dataset, record)


def _utc_now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@functools.cache
def _commit() -> str:
    """The checkout's commit (``-dirty`` with uncommitted changes to tracked files), looked up
    once per process."""
    from limeguard.reporting.provenance import commit_label

    return commit_label()
