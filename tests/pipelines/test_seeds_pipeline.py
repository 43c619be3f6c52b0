"""`kedro run --pipelines seeds --env test`: two tiny seeded runs and the one report over them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from limeguard.config import ConfigError, from_params
from limeguard.runtime import RuntimeConfig
from tests.kedro_project import kedro, make_project_copy, tiny_run_params

SEEDS = (0, 1)  # conf/test's runtime.seeds


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("seeds")
    params = tiny_run_params(root)
    project = make_project_copy(root / "project")
    run = kedro(project, "run", "--pipelines", "seeds", "--env", "test", "--params", params,
                timeout=1800)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return project / "data" / "test"


def outcomes(data: Path, seed: int, model: str, attack: str) -> pd.Series:
    table = pd.read_parquet(data / f"07_model_output/seed_{seed}.{model}/attack_results.parquet")
    rows = table[(table["attack"] == attack) & table["eps_255"].isin([0.0, 8.0])]
    return rows.set_index("image_id")["correct"].sort_index()


@pytest.mark.slow
def test_each_seed_trains_its_own_models_on_the_shared_splits(seeds_run: Path) -> None:
    from safetensors.torch import load_file

    for name in ("standard", "adversarial", "transplant.round_1", "paper.round_1"):
        weights = [load_file(seeds_run / f"06_models/seed_{s}.{name}.safetensors") for s in SEEDS]
        assert any(not weights[0][k].equal(weights[1][k]) for k in weights[0]), name
    for name in ("standard", "control"):
        losses = [pd.read_csv(seeds_run / f"07_model_output/seed_{s}.{name}_history.csv")
                  ["train_loss"].tolist() for s in SEEDS]
        assert losses[0] != losses[1], name  # initialisation and data order follow the seed
    assert (seeds_run / "05_model_input/test_images.safetensors").is_file()  # one split for all
    assert not list(seeds_run.glob("05_model_input/seed_*"))
    ids = [outcomes(seeds_run, s, "adversarial", "clean").index.tolist() for s in SEEDS]
    assert ids[0] == ids[1] and len(ids[0]) == 20  # the same test images in every seed


@pytest.mark.slow
def test_the_report_aggregates_the_seeds_as_a_hand_count_does(seeds_run: Path) -> None:
    metrics = json.loads((seeds_run / "08_reporting/seeds/metrics.json").read_text())
    adv = metrics["models"]["adversarial"]
    clean = [outcomes(seeds_run, s, "adversarial", "clean").mean() for s in SEEDS]
    assert adv["n_seeds"] == 2
    assert adv["clean"] == pytest.approx(sum(clean) / 2, abs=1e-6)
    assert adv["clean_std"] == pytest.approx(pd.Series(clean).std(), abs=1e-6)

    aa = "autoattack_fast"
    paired = {(p["candidate"], p["reference"], p["measure"]): p for p in metrics["paired"]}
    entry = paired[("paper.round_1", "adversarial", "autoattack")]
    cand = [outcomes(seeds_run, s, "paper.round_1", aa) for s in SEEDS]
    ref = [outcomes(seeds_run, s, "adversarial", aa) for s in SEEDS]
    diffs = pd.concat([c.astype(int) - r.astype(int) for c, r in zip(cand, ref, strict=True)])
    assert entry["n_seeds"] == 2 and entry["n_images"] == 20 and entry["over"] == "seeds x images"
    assert entry["diff_points"] == pytest.approx(100 * diffs.mean(), abs=1e-4)
    assert (entry["wins"], entry["losses"]) == ((diffs == 1).sum(), (diffs == -1).sum())
    assert entry["low_points"] <= entry["diff_points"] <= entry["high_points"]
    report = (seeds_run / "08_reporting/seeds/report.md").read_text()
    assert "## Paired comparisons" in report and "2 x 20" in report
    assert metrics["provenance"]["seed_commits"].keys() == {"seed_0", "seed_1"}


def test_a_seed_list_with_duplicates_is_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"runtime\.seeds: seeds repeat"):
        from_params(RuntimeConfig, {"seeds": [0, 1, 0]}, "runtime")
    with pytest.raises(ConfigError, match=r"runtime\.seeds"):
        from_params(RuntimeConfig, {"seeds": [-1]}, "runtime")


def test_a_run_seed_offsets_the_training_seed_and_seed_0_keeps_the_recipe() -> None:
    from limeguard.training import TrainConfig

    recipe = TrainConfig(seed=5)
    assert recipe.for_run(0) == recipe
    assert [recipe.for_run(s).seed for s in (1, 2)] == [6, 7]
