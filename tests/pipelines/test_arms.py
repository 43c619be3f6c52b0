"""Arms (``rounds.arms``): each arm's rounds are refined against its own arm's masks, with its own
parameters; a bad override fails naming its key."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from limeguard.arms import merge_tree, parse_arms
from limeguard.config import ConfigError, from_params
from limeguard.hooks import ArmParameterHooks
from limeguard.hooks.parameters import check_across_sections
from limeguard.images.imageset import ImageSet
from limeguard.pipelines.evaluate.pipeline import create_pipeline as evaluate_pipeline
from limeguard.pipelines.mine.pipeline import namespaced_mining
from limeguard.pipelines.report.pipeline import report_inputs
from limeguard.pipelines.rounds.pipeline import create_pipeline
from limeguard.pipelines.shape import configured_parameters
from limeguard.refinement.config import RefineConfig
from limeguard.refinement.rounds import training_masks
from tests.explain.conftest import TinyCNN, smooth_images

ARMS = ("transplant", "paper")  # conf/base's rounds.arms, in order


def _arm_of(dataset: str) -> str | None:
    head = dataset.split(".")[0]
    return head if head in ARMS else None


def test_each_arms_rounds_read_their_own_arms_masks_and_params() -> None:
    rounds = create_pipeline()
    for arm in ARMS:
        nodes = [n for n in rounds.nodes if n.name.startswith(f"{arm}.")]
        assert nodes, arm
        for node in nodes:  # nothing of another arm, and the arm's own parameters
            assert {_arm_of(d) for d in node.inputs} <= {arm, None}, node.name
            assert not {"params:mine", "params:rounds"} & set(node.inputs), node.name
        refine = {n.name: n for n in nodes if n.name.endswith(".refine_round")}
        first = refine[f"{arm}.round_1.refine_round"]
        own = "paper.adversarial.refinement_masks" if arm == "paper" else "adversarial.refinement_masks"
        assert own in first.inputs and f"params:arm_rounds.{arm}" in first.inputs
        for k in range(2, len(refine) + 1):
            assert f"{arm}.round_{k - 1}.refinement_masks" in refine[f"{arm}.round_{k}.refine_round"].inputs
        mining = [n for n in nodes if n.name.endswith(".mine_model")]
        assert all(f"params:arm_mine.{arm}" in n.inputs for n in mining)
    control = next(n for n in rounds.nodes if n.name == "train_matched_control")
    assert {"adversarial.refinement_masks", "params:rounds"} <= set(control.inputs)


def test_an_own_mining_arms_bounds_use_its_masks_and_start_on_the_baseline() -> None:
    evaluate = evaluate_pipeline()
    bound = {n.name: n for n in evaluate.nodes if n.name.endswith(".estimate_bound")}
    assert "paper.adversarial.spurious_masks" in bound["paper.round_1.estimate_bound"].inputs
    assert "adversarial.spurious_masks" in bound["transplant.round_1.estimate_bound"].inputs
    start = bound["paper.adversarial.estimate_bound"]
    assert {"adversarial_model", "paper.adversarial.spurious_masks"} <= set(start.inputs)
    assert "transplant.adversarial.estimate_bound" not in bound  # it reuses the run's mining
    inputs = report_inputs()
    assert inputs["paper.adversarial__mining_summary"] == "paper.adversarial.mining_summary"
    assert "transplant.adversarial__mining_summary" not in inputs


def _image_set(n: int, first_id: int, seed: int) -> ImageSet:
    return ImageSet(torch.as_tensor(smooth_images(n, seed=seed)), torch.arange(n) % 4,
                    torch.arange(first_id, first_id + n), ("a", "b", "c", "d"))


def _params(tmp_path: Path) -> dict:
    """conf/test's parameters with LIME and the rounds sized for 8 tiny images; arms as conf/base."""
    params = configured_parameters(Path(__file__).resolve().parents[2])
    small = {"mine": {"figure_images": 2, "stability_images": 2,
                      "mining": {"lime": {"num_samples": 60},
                                 "criteria": {"copies": 2, "transplant": {"recipients": 2}}}},
             "rounds": {"count": 1, "checkpoint_root": str(tmp_path / "ckpt"),
                        "train": {"epochs": 1, "batch_size": 8, "val_steps": 1,
                                  "val_max_images": 8}},
             "runtime": {"device": "cpu", "progress": False}}
    return merge_tree(params, small)


def test_arm_specific_params_lead_to_arm_specific_masks(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the shared mining, the paper arm's own mining (its union of the three criteria) and
    both arms' first rounds through Kedro: each round applies exactly its arm's masks."""
    monkeypatch.setenv("KEDRO_ENV", "test")
    params = _params(tmp_path)
    catalog = DataCatalog({"params:mine": MemoryDataset(params["mine"]),
                           "params:runtime": MemoryDataset(params["runtime"])})
    ArmParameterHooks().after_catalog_created(catalog, {"parameters": params})
    train, val = _image_set(8, 100, seed=1), _image_set(8, 200, seed=2)
    from limeguard.pipelines.mine.nodes import segment_mining_images

    torch.manual_seed(0)
    data = {"adversarial_model": TinyCNN().eval(), "train_images": train, "val_images": val,
            "mining_images": train, "mining_segments": segment_mining_images(train, params["mine"])}
    for name, value in data.items():
        catalog[name] = value
    rounds = create_pipeline()
    mining = namespaced_mining("adversarial", "adversarial_model").only_nodes(
        "adversarial.mine_model", "adversarial.transfer_masks") + rounds.only_nodes(
        "paper.adversarial.mine_model", "paper.adversarial.transfer_masks")
    SequentialRunner().run(mining, catalog)  # the masks are this run's outputs: kept
    masks = {arm: catalog[name].load() for arm, name in (
        ("transplant", "adversarial.refinement_masks"),
        ("paper", "paper.adversarial.refinement_masks"))}
    SequentialRunner().run(
        rounds.only_nodes("transplant.round_1.refine_round", "paper.round_1.refine_round"), catalog)

    applied = {}
    for arm in ARMS:
        refine = from_params(RefineConfig, catalog[f"params:arm_rounds.{arm}"].load()["refine"],
                             "rounds.refine")
        pixel, _ = training_masks(train, masks[arm], refine, None)
        info = catalog[f"{arm}.round_1.round_info"].load()
        assert info["masked_pixel_share"] == pytest.approx(float(pixel.mean())), arm
        applied[arm] = info["masked_pixel_share"]
    assert applied["paper"] > applied["transplant"]  # the union flags what the transplant does not
    assert catalog["params:arm_mine.paper"].load()["mining"]["criteria"]["spurious"] == "union"
    assert catalog["params:arm_mine.transplant"].load() == params["mine"]


def test_a_misspelt_override_fails_naming_its_key() -> None:
    arms = {"paper": {"mine": {"mining": {"criteria": {"spuriuos": "union"}}}}}
    with pytest.raises(ConfigError, match=r"rounds\.arms\.paper\.mine\.mining\.criteria: unknown "
                                          r"parameter 'spuriuos' \(did you mean 'spurious'\?\)"):
        check_across_sections({"rounds": {"arms": arms}})
    with pytest.raises(ConfigError, match=r"rounds\.arms\.paper\.rounds\.refine\.fill"):
        parse_arms({}, {"arms": {"paper": {"rounds": {"refine": {"fill": "purple"}}}}})
    with pytest.raises(ConfigError, match=r"rounds\.arms\.paper\.round: unknown section"):
        parse_arms({}, {"arms": {"paper": {"round": {}}}})


@pytest.mark.parametrize("key", ["count", "train", "selection"])
def test_an_arm_cannot_change_what_the_control_and_the_dag_share(key: str) -> None:
    with pytest.raises(ConfigError, match=rf"rounds\.arms\.paper\.rounds\.{key}: an arm cannot"):
        parse_arms({}, {"arms": {"paper": {"rounds": {key: {}}}}})


@pytest.mark.parametrize("name", ["control", "round_2", "Paper", "seed_0"])
def test_an_arm_name_that_is_a_model_name_is_refused(name: str) -> None:
    with pytest.raises(ConfigError, match=rf"rounds\.arms\.{name}: an arm's name"):
        parse_arms({}, {"arms": {name: {}}})


def test_an_arm_switched_off_is_not_run_and_one_arm_must_stay() -> None:
    arms = parse_arms({}, {"arms": {"transplant": None, "paper": {"rounds": {}}}})
    assert [a.name for a in arms] == ["paper"]
    with pytest.raises(ConfigError, match=r"rounds\.arms: every arm is switched off"):
        parse_arms({}, {"arms": {"transplant": None}})


def test_arms_that_differ_from_the_dags_stop_the_run_naming_the_key(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from limeguard.pipelines.shape import check_run_matches_dag

    monkeypatch.setenv("KEDRO_ENV", "base")
    params = configured_parameters(Path(__file__).resolve().parents[2])  # the DAG's shape
    check_run_matches_dag(params, "base")
    params["rounds"]["arms"]["transplant"] = None  # e.g. --params rounds.arms.transplant=null
    with pytest.raises(ConfigError, match=r"rounds\.arms: the run's parameters \(env 'base' and "
                                          r"--params\) differ from its conf"):
        check_run_matches_dag(params, "base")
