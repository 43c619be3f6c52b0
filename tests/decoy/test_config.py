"""``decoy.paper``: parsed in both decoy envs, its refinement the paper arm's (``rounds.arms.paper``)
at the decoy radius; its mining reaches the run as ``params:arm_mine.paper``; a bad key fails."""

from __future__ import annotations

import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog

from limeguard.arms import parse_arms
from limeguard.config import ConfigError, from_params
from limeguard.decoy.config import DecoyParams
from limeguard.explain.config import MineParams
from limeguard.hooks import ArmParameterHooks
from limeguard.refinement.config import RefineConfig
from tests.conftest import PROJECT_ROOT

ENVS = ("decoy_fmnist", "decoy_fmnist_paper")


def env_parameters(env: str) -> dict:
    return OmegaConfigLoader(conf_source=str(PROJECT_ROOT / "conf"), base_env="base",
                             default_run_env="base", env=env,
                             merge_strategy={"parameters": "soft"})["parameters"]


@pytest.mark.parametrize("env", ENVS)
def test_decoy_paper_is_the_paper_arms_refinement_at_the_decoy_radius(env: str) -> None:
    params = env_parameters(env)
    decoy = from_params(DecoyParams, params["decoy"], "decoy")
    arm = next(a for a in parse_arms(params["mine"], params["rounds"]) if a.name == "paper")
    assert decoy.paper.refine == from_params(RefineConfig, arm.rounds["refine"], "refine")
    assert decoy.paper.refine.terms == ("adversarial", "masking", "regularization")
    assert decoy.paper.accumulate_masks is arm.rounds["accumulate_masks"] is False
    assert decoy.paper.train.attack.eps_255 == decoy.attack.eps_255 == 25.5
    assert decoy.paper.rounds == decoy.mined.rounds
    assert decoy.mined.accumulate_masks  # ours keeps accumulating (its conf does not say)


@pytest.mark.parametrize("env", ENVS)
def test_the_hook_gives_the_decoy_run_the_paper_arms_mining(env: str) -> None:
    """What the paper node reads (``params:arm_mine.paper``): the env's ``mine`` with the paper
    arm's overrides, added to the catalog by :class:`ArmParameterHooks`."""
    params = env_parameters(env)
    catalog = DataCatalog()
    ArmParameterHooks().after_catalog_created(catalog, {"parameters": params})
    mine = from_params(MineParams, catalog["params:arm_mine.paper"].load(), "mine")
    assert mine.mining.criteria.spurious == "union" and mine.transfer.mode == "class"
    assert from_params(MineParams, params["mine"], "mine").mining.criteria.spurious == "transplant"


@pytest.mark.parametrize(("section", "where"), [
    ({"refine": {"fil": "mean"}}, r"decoy\.paper\.refine: unknown parameter 'fil' \(did you mean "
                                  r"'fill'\?\)"),
    ({"rounds": 0}, r"decoy\.paper.*rounds"),
    ({"accumulate_mask": False}, r"decoy\.paper: unknown parameter 'accumulate_mask'"),
    ({"refine": {"use_augmentation": True, "augment": "fgsm_rs"}, "train": {"attack": {
        "eps_255": 0.0}}}, r"decoy\.paper.*train\.attack\.eps_255: must be > 0"),
])
def test_a_bad_key_in_decoy_paper_fails_naming_it(section: dict, where: str) -> None:
    with pytest.raises(ConfigError, match=where):
        from_params(DecoyParams, {"paper": section}, "decoy")
