"""Every node's wall time and the commit it finished at, merged into two JSON datasets."""

from __future__ import annotations

import functools
import importlib
import pkgutil
from typing import Any

from kedro.framework.hooks import hook_impl

from limeguard.locking import file_lock


class TimingHooks:
    """Record every node's wall time in the ``node_timings`` dataset, and when it finished at which
    commit in ``node_record`` (both merged across runs: each DVC stage is a run of its own). A node
    that no registered pipeline has any more (a renamed or removed node of an older DAG) is dropped
    from both, so that they describe the DAG the project builds now."""

    def __init__(self) -> None:
        self._catalog: Any = None
        self._started: dict[str, float] = {}
        self._known: frozenset[str] | None = None

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self._catalog = catalog if "node_timings" in catalog else None
        self._known = _registered_node_names()

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
            if self._known is not None:
                record = {k: v for k, v in record.items() if k in self._known}
            record[key] = value
            self._catalog.save(dataset, record)


def _utc_now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _registered_node_names() -> frozenset[str] | None:
    """Every node name of every pipeline package of the configured project; None outside one.

    The whole DAG, not Kedro's registry: Kedro 1.7 loads only the pipelines that ``kedro run
    --pipelines`` names, so a DVC stage's run would drop every other stage's nodes."""
    from kedro.framework.project import PACKAGE_NAME

    try:
        package = importlib.import_module(f"{PACKAGE_NAME}.pipelines")
    except (ImportError, TypeError):  # no project configured, or one without pipeline packages
        return None
    names: set[str] = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        if hasattr(module, "create_pipeline"):
            names.update(n.name for n in module.create_pipeline().nodes)
    return frozenset(names) or None


@functools.cache
def _commit() -> str:
    """The checkout's commit (``-dirty`` with uncommitted changes to tracked files), looked up
    once per process."""
    from limeguard.reporting.provenance import commit_label

    return commit_label()
