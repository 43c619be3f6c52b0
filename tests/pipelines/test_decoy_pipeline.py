"""The ``decoy`` pipeline's shape: one namespace per seed with the six arms, one report; the
catalog gives every seed and arm its own files under the env's data root."""

from __future__ import annotations

import pandas as pd
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog

from limeguard.decoy.config import METHODS, REFINED_ARMS
from limeguard.pipelines.decoy.nodes import summarise_seed
from limeguard.pipelines.decoy.pipeline import create_pipeline, decoy_namespace
from tests.conftest import PROJECT_ROOT


def test_each_seed_trains_every_arm_and_one_report_reads_them(monkeypatch) -> None:
    monkeypatch.setattr("limeguard.pipelines.decoy.pipeline.configured_seeds", lambda: (0, 1, 2))
    pipe = create_pipeline()
    names = {n.name for n in pipe.nodes}
    for seed in (0, 1, 2):
        ns = decoy_namespace(seed)
        assert {f"{ns}.train_{a}" for a in METHODS if a not in REFINED_ARMS} <= names
        assert {f"{ns}.refine_vanilla", f"{ns}.refine_paper"} <= names
    report = next(n for n in pipe.nodes if n.name == "report_decoy")
    assert {f"decoy_seed_{s}.outcomes" for s in (0, 1, 2)} <= set(report.inputs)
    mined = next(n for n in pipe.nodes if n.name == "decoy_seed_1.refine_vanilla")
    assert "decoy_seed_1.vanilla_model" in mined.inputs  # ours fine-tunes this seed's vanilla
    assert "params:seed_runtime.seed_1" in mined.inputs and "params:mine" in mined.inputs
    paper = next(n for n in pipe.nodes if n.name == "decoy_seed_1.refine_paper")
    assert {"decoy_seed_1.vanilla_model", "params:arm_mine.paper"} <= set(paper.inputs)
    assert "decoy_seed_1.paper_rounds" in paper.outputs
    evaluate = next(n for n in pipe.nodes if n.name == "decoy_seed_1.evaluate_arms")
    assert "decoy_seed_1.paper_model" in evaluate.inputs
    summary = next(n for n in pipe.nodes if n.name == "decoy_seed_1.summarise_seed")
    assert {"decoy_seed_1.mined_rounds", "decoy_seed_1.paper_rounds"} <= set(summary.inputs)


def test_summary_adds_each_refined_arms_rounds_and_mining_time() -> None:
    history = pd.DataFrame({"train_acc": [0.5, 0.9]})
    runs = {f"{m}_{k}": v for m in METHODS
            for k, v in (("history", history), ("timings", [{"seconds": 2.0}]))}
    rounds = {arm: [{"round": 1, "mining_seconds": s}] for arm, s in (("mined", 3.0),
                                                                      ("paper", 5.0))}
    out = summarise_seed(**runs, **{f"{a}_rounds": r for a, r in rounds.items()})
    assert out["paper"]["rounds"] == rounds["paper"] and out["paper"]["seconds"] == 7.0
    assert out["mined"]["seconds"] == 5.0 and out["vanilla"]["seconds"] == 2.0
    assert "rounds" not in out["vanilla"] and out["paper"]["curve"] == [0.5, 0.9]


def test_catalog_gives_each_seed_and_arm_its_files() -> None:
    loader = OmegaConfigLoader(conf_source=str(PROJECT_ROOT / "conf"), base_env="base",
                               default_run_env="base", env="decoy_fmnist",
                               merge_strategy={"parameters": "soft"})
    catalog = DataCatalog.from_config(loader["catalog"])
    path = catalog.get("decoy_seed_2.rrr_model")._describe()["filepath"]
    assert str(path).endswith("data/decoy_fmnist/06_models/decoy/seed_2/rrr.safetensors")
    path = catalog.get("decoy_seed_1.paper_rounds")._describe()["filepath"]
    assert str(path).endswith("data/decoy_fmnist/08_reporting/decoy/seed_1/paper_rounds.json")
    path = catalog.get("decoy_seed_1.mined_rounds")._describe()["filepath"]
    assert str(path).endswith("data/decoy_fmnist/08_reporting/decoy/seed_1/mined_rounds.json")
    path = catalog.get("decoy_seed_0.outcomes")._describe()["filepath"]
    assert str(path).endswith("data/decoy_fmnist/07_model_output/decoy/seed_0/outcomes.parquet")
