"""``DaskRunner``: a Kedro pipeline's nodes as tasks on a Dask distributed cluster.

Each task loads its inputs and saves its outputs through the catalog on the worker, so the files
must be on storage every worker sees (the same absolute paths). Nodes joined by a dataset that the
catalog declares as a ``MemoryDataset`` run together in one task (one worker, in order); a
dataset between nodes that the catalog does not declare at all would be an in-memory default that
no other worker sees, and the run is refused before any node starts, naming it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from kedro.io import MemoryDataset
from kedro.runner import AbstractRunner
from kedro.runner.task import Task

if TYPE_CHECKING:
    from distributed import Client
    from kedro.io import CatalogProtocol
    from kedro.pipeline import Pipeline
    from kedro.pipeline.node import Node
    from pluggy import PluginManager

log = logging.getLogger(__name__)

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
# Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which also turns off glibc's
# adaptive mmap threshold: every tensor buffer above 128 KiB is then mapped and unmapped anew, and
# training spends half its time in page faults (measured: 4x slower nodes). Workers of the
# LocalCluster start without it; give external workers the same setting (docs/scale-out.md).
WORKER_CONFIG = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


class SchedulerUnreachableError(ConnectionError):
    """No Dask scheduler answered at the configured address."""


class MemoryDatasetBetweenNodesError(ValueError):
    """A dataset between two nodes lives only in one process's memory."""


class DaskRunner(AbstractRunner):
    """Run each node (or each group of nodes joined by a declared ``MemoryDataset``) as a task
    on Dask distributed, as soon as the tasks it depends on are done.

    Args:
        address: the scheduler, e.g. ``tcp://10.0.0.5:8786``; default: ``$DASK_SCHEDULER_ADDRESS``,
            and without either a ``distributed.LocalCluster`` of ``n_workers`` processes.
        n_workers: worker processes of the LocalCluster (ignored with an address).
        threads_per_worker: threads per LocalCluster worker; 1 leaves the cores to torch.
        share_cores: the tasks running on one host split its cores between them, each giving torch
            ``cores // running tasks`` threads (``limeguard.runners.core_sharing``), so that a task
            that runs alone uses every core; off where ``runtime.num_threads`` is set.
        connect_timeout_s: how long to wait for the scheduler before giving up.
        is_async: load and save a node's datasets in threads (Kedro's ``--async``).
    """

    def __init__(self, address: str | None = None, n_workers: int = 2, threads_per_worker: int = 1,
                 connect_timeout_s: float = 10.0, is_async: bool = False,
                 share_cores: bool = True) -> None:  # fmt: skip
        super().__init__(is_async=is_async)
        self._share_cores = share_cores
        self._address = address or os.environ.get(SCHEDULER_ENV) or None
        self._source = "runner argument 'address'" if address else f"${SCHEDULER_ENV}"
        self._n_workers, self._threads = n_workers, threads_per_worker
        self._timeout = connect_timeout_s
        self.task_nodes: dict[str, list[str]] = {}  # Dask task key -> the node names it ran
        self.node_workers: dict[str, str] = {}  # node name -> address of the worker that ran it

    def run(self, pipeline: Pipeline, catalog: CatalogProtocol,
            hook_manager: PluginManager | None = None, run_id: str | None = None,
            only_missing_outputs: bool = False) -> dict[str, Any]:  # fmt: skip
        """Refuse undeclared datasets between nodes, then run as Kedro's runners do."""
        check_no_undeclared_between_nodes(pipeline, catalog)
        return super().run(pipeline, catalog, hook_manager, run_id, only_missing_outputs)

    def _get_executor(self, max_workers: int) -> None:
        return None

    def _run(self, pipeline: Pipeline, catalog: CatalogProtocol,
             hook_manager: PluginManager | None = None, run_id: str | None = None) -> None:  # fmt: skip
        groups = task_groups(pipeline, catalog)
        from kedro.framework.project import PACKAGE_NAME

        with self._client() as client:
            log.info("Dask: %d tasks for %d nodes on %s", len(groups), len(pipeline.nodes),
                     client.scheduler.address)  # fmt: skip
            futures = self._submit(client, groups, pipeline, catalog, PACKAGE_NAME, run_id)
            self._gather(client, futures, pipeline, catalog)

    def _submit(self, client: Client, groups: list[list[Node]], pipeline: Pipeline,
                catalog: CatalogProtocol, package: str | None, run_id: str | None) -> dict:  # fmt: skip
        import cloudpickle

        token = uuid.uuid4().hex[:8]
        shipped = cloudpickle.dumps(catalog)  # bytes: the scheduler never imports the project
        owner = {node: i for i, group in enumerate(groups) for node in group}
        deps = pipeline.node_dependencies
        futures: dict[int, Any] = {}
        for i, group in enumerate(groups):
            upstream = {owner[d] for n in group for d in deps[n]} - {i}
            key = f"{group[0].name}-{token}" if len(group) == 1 else \
                f"{group[0].name}+{len(group) - 1}-{token}"
            self.task_nodes[key] = [n.name for n in group]
            futures[i] = client.submit(_run_group, cloudpickle.dumps(group), shipped, package,
                                       self._is_async, run_id, self._share_cores,
                                       *[futures[u] for u in sorted(upstream)], key=key, pure=False)
        return futures

    def _gather(self, client: Client, futures: dict, pipeline: Pipeline,
                catalog: CatalogProtocol) -> None:  # fmt: skip
        from distributed import as_completed

        done: list[Node] = []
        by_name = {n.name: n for n in pipeline.nodes}
        try:
            for future, result in as_completed(list(futures.values()), with_results=True):
                if isinstance(result, BaseException):  # e.g. cancelled: the scheduler went away
                    raise RuntimeError(f"Dask task {future.key} did not finish: {result}")
                for name in result["nodes"]:
                    done.append(by_name[name])
                    self.node_workers[name] = result["worker"]
                    self._logger.info("Completed node: %s (on %s)", name, result["worker"])
                self._logger.info("Completed %d out of %d tasks", len(done), len(pipeline.nodes))
        except BaseException:
            client.cancel(list(futures.values()))
            self._suggest_resume_scenario(pipeline, done, catalog)
            raise

    @contextmanager
    def _client(self) -> Iterator[Client]:
        import dask
        from distributed import Client, LocalCluster

        if self._address is None:
            log.info("Dask: no scheduler address (%s unset): a LocalCluster of %d workers",
                     SCHEDULER_ENV, self._n_workers)  # fmt: skip
            with dask.config.set(WORKER_CONFIG), \
                    LocalCluster(n_workers=self._n_workers, threads_per_worker=self._threads,
                                 processes=True, dashboard_address=None) as cluster, \
                    Client(cluster) as client:  # fmt: skip
                yield client
            return
        try:
            client = Client(self._address, timeout=f"{self._timeout}s")
        except (OSError, TimeoutError) as err:
            raise SchedulerUnreachableError(
                f"Dask scheduler {self._address!r} (from {self._source}) is not reachable within "
                f"{self._timeout:g} s: {err}. Start one (`dask scheduler`), fix the address, or "
                f"unset {SCHEDULER_ENV} to run on a LocalCluster."
            ) from err
        with client:
            yield client


def check_no_undeclared_between_nodes(pipeline: Pipeline, catalog: CatalogProtocol) -> None:
    """``MemoryDatasetBetweenNodesError`` naming every dataset that a node of ``pipeline``
    writes and another reads but that the catalog neither declares nor matches by a pattern."""
    consumed = {name for node in pipeline.nodes for name in node.inputs}
    between = {name for node in pipeline.nodes for name in node.outputs if name in consumed}
    missing = sorted(name for name in between if name not in catalog)
    if missing:
        raise MemoryDatasetBetweenNodesError(
            f"DaskRunner: {', '.join(repr(m) for m in missing)} passed between nodes but not in the "
            "catalog: it would live in one worker's memory only. Declare it in catalog.yml with a "
            "file-backed type (or as a MemoryDataset to keep its producer and readers in one task)."
        )


def task_groups(pipeline: Pipeline, catalog: CatalogProtocol) -> list[list[Node]]:
    """The pipeline's nodes as tasks: nodes joined by a ``MemoryDataset`` share one task.

    Returns the groups in an order where every group comes after the groups it depends on, each
    group's nodes in the pipeline's topological order.

    Raises:
        MemoryDatasetBetweenNodesError: a group would depend on itself through other tasks.
    """
    nodes = pipeline.nodes  # topologically sorted
    parent = {node: node for node in nodes}

    def root(node: Node) -> Node:
        while parent[node] is not node:
            node = parent[node]
        return node

    producer = {name: node for node in nodes for name in node.outputs}
    for node in nodes:
        for name in node.inputs:
            if name in producer and isinstance(catalog.get(name), MemoryDataset):
                parent[root(node)] = root(producer[name])
    members: dict[Node, list[Node]] = {}
    for node in nodes:
        members.setdefault(root(node), []).append(node)
    return _ordered(list(members.values()), pipeline)


def _ordered(groups: list[list[Node]], pipeline: Pipeline) -> list[list[Node]]:
    owner = {node: i for i, group in enumerate(groups) for node in group}
    deps = pipeline.node_dependencies
    needs = {i: {owner[d] for n in g for d in deps[n]} - {i} for i, g in enumerate(groups)}
    order: list[int] = []
    while len(order) < len(groups):
        ready = [i for i in needs if i not in order and needs[i] <= set(order)]
        if not ready:
            stuck = [g[0].name for i, g in enumerate(groups) if i not in order]
            raise MemoryDatasetBetweenNodesError(
                f"DaskRunner: the MemoryDatasets around nodes {stuck} tie them into tasks that "
                "wait on each other; declare those datasets with a file-backed type."
            )
        order.extend(ready)
    return [groups[i] for i in order]


def _run_group(shipped_nodes: bytes, shipped_catalog: bytes, package: str | None,
               is_async: bool, run_id: str | None, share_cores: bool,
               *_upstream: Any) -> dict[str, Any]:  # fmt: skip
    """On a worker: run the pickled nodes in order with the project's node and dataset hooks,
    sharing the host's cores with the other tasks on it if asked and the threads are not pinned.

    The nodes and the catalog travel as bytes, unpickled here, so that the scheduler needs
    neither the project nor its imports (and its event loop never waits on them)."""
    import pickle

    from distributed import get_worker

    from limeguard.runners.core_sharing import share_host_cores

    hooks = _worker_hook_manager(package)
    nodes: list[Node] = pickle.loads(shipped_nodes)  # our own payload from the driver
    catalog: CatalogProtocol = pickle.loads(shipped_catalog)
    pinned = (catalog.load("parameters").get("runtime") or {}).get("num_threads") is not None
    sharing = share_host_cores(nodes[0].name) if share_cores and not pinned else contextlib.nullcontext()
    with sharing:
        for node in nodes:
            Task(node=node, catalog=catalog, is_async=is_async, hook_manager=hooks,
                 run_id=run_id).execute()  # fmt: skip
    for node in nodes:
        for name in node.outputs:
            if isinstance(catalog.get(name), MemoryDataset):
                catalog.release(name)
    return {"nodes": [n.name for n in nodes], "worker": get_worker().address}


@functools.cache
def _worker_hook_manager(package: str | None) -> PluginManager:
    """The project's hooks in this worker process (configured once per process)."""
    from kedro.framework import project
    from kedro.framework.hooks.manager import (
        _create_hook_manager,
        _register_hooks,
        _register_hooks_entry_points,
    )

    if package and project.PACKAGE_NAME != package:
        project.configure_project(package)
    manager = _create_hook_manager()
    _register_hooks(manager, project.settings.HOOKS)
    _register_hooks_entry_points(manager, project.settings.DISABLE_HOOKS_FOR_PLUGINS)
    return manager
