"""DaskRunner: refusals before any node runs, task grouping, and `refine` on a 2-worker cluster."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Node, Pipeline
from kedro_datasets.json import JSONDataset

from limeguard.runners import DaskRunner, MemoryDatasetBetweenNodesError, SchedulerUnreachableError
from limeguard.runners.dask_runner import WORKER_CONFIG, task_groups
from tests.kedro_project import kedro, make_project_copy
from tests.runners.pipeline_funcs import add_one, touch


def _two_node_pipeline() -> Pipeline:
    return Pipeline([
        Node(touch, ["params:folder", "params:name"], "count", name="first"),
        Node(add_one, "count", "total", name="second"),
    ])


def _catalog(folder: Path, **datasets) -> DataCatalog:
    return DataCatalog({"params:folder": MemoryDataset(str(folder)),
                        "params:name": MemoryDataset("first.txt"), **datasets})


def test_undeclared_dataset_between_nodes_is_refused_before_any_node(tmp_path) -> None:
    runner = DaskRunner(address="tcp://127.0.0.1:1")  # never contacted: the check comes first
    with pytest.raises(MemoryDatasetBetweenNodesError, match="'count' passed between nodes"):
        runner.run(_two_node_pipeline(), _catalog(tmp_path))
    assert not (tmp_path / "first.txt").exists()


def test_unreachable_scheduler_is_named_before_any_node(tmp_path) -> None:
    catalog = _catalog(tmp_path, count=JSONDataset(filepath=str(tmp_path / "count.json")))
    runner = DaskRunner(address="tcp://127.0.0.1:1", connect_timeout_s=2)
    with pytest.raises(SchedulerUnreachableError, match=r"'tcp://127\.0\.0\.1:1' \(from runner"):
        runner.run(_two_node_pipeline(), catalog)
    assert not (tmp_path / "first.txt").exists()


def test_scheduler_address_from_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://127.0.0.1:2")
    catalog = _catalog(tmp_path, count=JSONDataset(filepath=str(tmp_path / "count.json")))
    with pytest.raises(SchedulerUnreachableError, match=r"127\.0\.0\.1:2' \(from \$DASK_SCHEDULER"):
        DaskRunner(connect_timeout_s=2).run(_two_node_pipeline(), catalog)


def test_local_cluster_workers_start_without_the_malloc_trim_threshold(monkeypatch) -> None:
    """Dask's default MALLOC_TRIM_THRESHOLD_ made every node 3 to 5 times slower (page faults)."""
    import os

    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with DaskRunner(n_workers=1)._client() as client:
        found = client.run(lambda: (os.environ.get("MALLOC_TRIM_THRESHOLD_"),
                                    os.environ.get("OMP_NUM_THREADS")))
    assert list(found.values()) == [(None, "1")]  # the nanny's other settings stay


def test_declared_memory_datasets_keep_their_nodes_in_one_task(tmp_path) -> None:
    pipeline = Pipeline([
        Node(touch, ["params:folder", "params:name"], "count", name="first"),
        Node(add_one, "count", "total", name="second"),
        Node(add_one, "count", "other", name="third"),
        Node(add_one, "total", "last", name="fourth"),
    ])
    catalog = _catalog(tmp_path, count=MemoryDataset(), total=JSONDataset(filepath=str(tmp_path / "t.json")))
    groups = [[n.name for n in g] for g in task_groups(pipeline, catalog)]
    assert groups[0] == ["first", "second", "third"] and groups[1] == ["fourth"]


def test_memory_datasets_that_would_make_tasks_wait_on_each_other_are_refused(tmp_path) -> None:
    pipeline = Pipeline([  # first -(file a)-> second -(file c)-> third, first -(memory b)-> third
        Node(touch, ["params:folder", "params:name"], ["a", "b"], name="first"),
        Node(add_one, "a", "c", name="second"),
        Node(lambda b, c: b + c, ["b", "c"], "d", name="third"),
    ])
    catalog = _catalog(tmp_path, a=JSONDataset(filepath=str(tmp_path / "a.json")), b=MemoryDataset(),
                       c=JSONDataset(filepath=str(tmp_path / "c.json")))
    with pytest.raises(MemoryDatasetBetweenNodesError, match="wait on each other"):
        task_groups(pipeline, catalog)


WALL_TIME = re.compile(r"second|time|duration|per_s|elapsed", re.IGNORECASE)


def _without_wall_times(value):
    if isinstance(value, dict):
        return {k: _without_wall_times(v) for k, v in value.items() if not WALL_TIME.search(k)}
    if isinstance(value, list):
        return [_without_wall_times(v) for v in value]
    return value


def _metric_files(data: Path) -> dict[str, object]:
    """Every per-model metric file (``08_reporting/<model>/``) and history, wall times dropped."""
    out: dict[str, object] = {}
    reporting = next(p.parent for p in data.rglob("08_reporting/report.md"))  # the env's root
    files = [p for p in reporting.glob("*/*") if p.suffix in (".json", ".csv")]
    files += list((reporting.parent / "07_model_output").glob("*_history.csv"))
    for path in files:
        if path.suffix == ".json":
            out[str(path.relative_to(data))] = _without_wall_times(json.loads(path.read_text()))
        else:
            frame = pd.read_csv(path)
            out[str(path.relative_to(data))] = frame[[c for c in frame if not WALL_TIME.search(c)]]
    return out


@pytest.mark.slow
def test_refine_on_a_two_worker_local_cluster_matches_sequential(tmp_path, monkeypatch, tiny_run) -> None:
    """The ``tiny_run`` fixture (sequential runner, ``runtime.num_threads=1`` as on the Dask
    workers) against the same parameters on a 2-worker LocalCluster."""
    import dask
    from distributed import Client, LocalCluster, get_task_stream

    params, seq = tiny_run["params"], tiny_run["project"]
    project = make_project_copy(tmp_path / "dask")
    monkeypatch.chdir(project)  # the workers start here: relative checkpoint dirs land in the copy
    monkeypatch.setenv("PYTHONPATH", str(project / "src"))
    with dask.config.set(WORKER_CONFIG), LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster.scheduler_address)
        with get_task_stream(client) as stream:
            run = kedro(project, "run", "--env", "test", "--params", params,
                        "--runner", "limeguard.runners.DaskRunner", timeout=1500)
        workers = set(client.scheduler_info()["workers"])
    assert run.returncode == 0, run.stderr[-3000:]

    expected, got = _metric_files(seq / "data" / "test"), _metric_files(project / "data" / "test")
    assert set(got) == set(expected) and len(expected) >= 12
    for name, value in expected.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(got[name], value, obj=name)
        else:
            assert got[name] == value, name

    tasks = [(r["key"], r["worker"], s["start"], s["stop"]) for r in stream.data
             for s in r["startstops"] if s["action"] == "compute"]
    assert {w for _, w, _, _ in tasks} == workers and len(workers) == 2
    overlapping = [(a[0], b[0]) for a in tasks for b in tasks
                   if a[1] != b[1] and a[2] < b[3] and b[2] < a[3]]
    assert overlapping  # two tasks computed at the same time on the two workers: independent nodes
