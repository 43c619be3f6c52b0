"""The ``decoy`` pipeline's shape: one namespace per seed with the five arms, one report; the
catalog gives every seed and arm its own files under the env's data root."""

from __future__ import annotations

from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog

from limeguard.decoy.config import METHODS
from limeguard.pipelines.decoy.pipeline import create_pipeline, decoy_namespace
from tests.conftest import PROJECT_ROOT


def test_each_seed_trains_every_arm_and_one_report_reads_them(monkeypatch) -> None:
    monkeypatch.setattr("limeguard.pipelines.decoy.pipeline.configured_seeds", lambda: (0, 1, 2))
    pipe = create_pipeline()
    names = {n.name for n in pipe.nodes}
    for seed in (0, 1, 2):
        ns = decoy_namespace(seed)
        assert {f"{ns}.train_{a}" for a in METHODS if a != "mined"} <= names
        assert f"{ns}.refine_vanilla" in names
    report = next(n for n in pipe.nodes if n.name == "report_decoy")
    assert {f"decoy_seed_{s}.outcomes" for s in (0, 1, 2)} <= set(report.inputs)
    mined = next(n for n in pipe.nodes if n.name == "decoy_seed_1.refine_vanilla")
    assert "decoy_seed_1.vanilla_model" in mined.inputs  # ours fine-tunes this seed's vanilla
    assert "params:seed_runtime.seed_1" in mined.inputs


def test_catalog_gives_each_seed_and_arm_its_files() -> None:
    loader = OmegaConfigLoader(conf_source=str(PROJECT_ROOT / "conf"), base_env="base",
                               default_run_env="base", env="decoy_fmnist",
                               merge_strategy={"parameters": "soft"})
    catalog = DataCatalog.from_config(loader["catalog"])
    path = catalog.get("decoy_seed_2.rrr_model")._describe()["filepath"]
    assert str(path).endswith("data/decoy_fmnist/06_models/decoy/seed_2/rrr.safetensors")
    path = catalog.get("decoy_seed_0.outcomes")._describe()["filepath"]
    assert str(path).endswith("data/decoy_fmnist/07_model_output/decoy/seed_0/outcomes.parquet")
