"""SeedParameterHooks: one ``params:seed_runtime.seed_<k>`` per seed of ``runtime.seeds``."""

from __future__ import annotations

from kedro.io import DataCatalog

from limeguard.hooks import SeedParameterHooks


def test_one_runtime_per_seed() -> None:
    catalog = DataCatalog()
    runtime = {"seed": 0, "seeds": [1, 2], "device": "cpu"}
    SeedParameterHooks().after_catalog_created(catalog, {"parameters": {"runtime": runtime}})
    assert catalog.load("params:seed_runtime.seed_2") == {**runtime, "seed": 2}
    assert "params:seed_runtime.seed_1" in catalog and "params:seed_runtime.seed_0" not in catalog


def test_no_seeds_no_parameters() -> None:
    catalog = DataCatalog()
    SeedParameterHooks().after_catalog_created(catalog, {"parameters": {"runtime": {"seed": 0}}})
    assert not [name for name in catalog.keys() if name.startswith("params:seed_runtime")]
