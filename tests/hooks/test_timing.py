"""TimingHooks: every node's wall time and commit, merged into the JSON datasets across runs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from kedro.io import DataCatalog
from kedro_datasets.json import JSONDataset

from limeguard.hooks import timing
from limeguard.hooks.timing import TimingHooks


def _catalog(root: Path) -> DataCatalog:
    return DataCatalog({name: JSONDataset(filepath=str(root / f"{name}.json"))
                        for name in ("node_timings", "node_record")})


def test_node_times_and_commits_merge_across_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timing, "_commit", lambda: "abc123")
    # the registry of whatever project an earlier test configured in this process must not prune
    monkeypatch.setattr(timing, "_registered_node_names", lambda: None)
    catalog = _catalog(tmp_path)
    catalog.save("node_timings", {"earlier_node": 1.0})
    hooks = TimingHooks()
    hooks.before_pipeline_run({}, None, catalog)
    for name in ("a", "ns.b"):
        node = SimpleNamespace(name=name)
        hooks.before_node_run(node)
        hooks.after_node_run(node, catalog)
    timings, record = catalog.load("node_timings"), catalog.load("node_record")
    assert set(timings) == {"earlier_node", "a", "ns.b"} and timings["earlier_node"] == 1.0
    assert set(record) == {"a", "ns.b"}
    assert record["a"]["commit"] == "abc123" and record["a"]["seconds"] == timings["a"]
    assert record["a"]["finished"].endswith("+00:00")


def test_nodes_no_pipeline_has_any_more_are_dropped(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timing, "_commit", lambda: "abc123")
    monkeypatch.setattr(timing, "_registered_node_names", lambda: frozenset({"a", "kept"}))
    catalog = _catalog(tmp_path)
    catalog.save("node_timings", {"kept": 1.0, "round_1.refine_round": 2.0})
    catalog.save("node_record", {"round_1.refine_round": {"seconds": 2.0}})
    hooks, node = TimingHooks(), SimpleNamespace(name="a")
    hooks.before_pipeline_run({}, None, catalog)
    hooks.before_node_run(node)
    hooks.after_node_run(node, catalog)
    assert set(catalog.load("node_timings")) == {"kept", "a"}
    assert set(catalog.load("node_record")) == {"a"}


def test_a_worker_without_before_pipeline_run_records_too(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timing, "_commit", lambda: "abc123")
    catalog, hooks, node = _catalog(tmp_path), TimingHooks(), SimpleNamespace(name="a")
    hooks.before_node_run(node)
    hooks.after_node_run(node, catalog)
    assert set(catalog.load("node_timings")) == {"a"}


def test_a_catalog_without_node_timings_records_nothing(tmp_path: Path) -> None:
    catalog, hooks, node = DataCatalog(), TimingHooks(), SimpleNamespace(name="a")
    hooks.before_pipeline_run({}, None, catalog)
    hooks.before_node_run(node)
    hooks.after_node_run(node, catalog)
    assert not list(tmp_path.iterdir())


def test_a_run_of_one_stage_knows_every_stage_s_nodes() -> None:
    """`kedro run --pipelines report` (a DVC stage) loads only `report` into Kedro's registry; the
    other stages' timings must survive it."""
    from kedro.framework.project import configure_project, pipelines

    configure_project("limeguard")
    pipelines.set_requested(["report"])
    try:
        assert {n.name for p in pipelines.values() for n in p.nodes} == {"build_run_report"}
        known = timing._registered_node_names()
    finally:
        pipelines.set_requested(None)
    assert {"build_run_report", "adversarial.mine_model", "train_matched_control"} <= known
