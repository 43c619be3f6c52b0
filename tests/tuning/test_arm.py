"""``tune.arm``: the study tunes one arm of ``rounds.arms`` from that arm's merged settings and
masks, in a study of its own, and writes its best parameters as the arm's overrides."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml
from kedro.config import OmegaConfigLoader

from limeguard.arms import parse_arms
from limeguard.config import ConfigError, from_params
from limeguard.hooks.parameters import check_across_sections, check_parameters, parameter_schemas
from limeguard.pipelines.shape import check_run_matches_dag, configured_parameters
from limeguard.pipelines.tune import nodes
from limeguard.pipelines.tune.pipeline import create_pipeline
from limeguard.tuning import TuneConfig, WorkerResult, outputs
from limeguard.tuning.base import base_params
from tests.conftest import PROJECT_ROOT

BEST = {"refine.lambda_reg": 3.0, "refine.fill": "blur", "mining.criteria.unstable_quantile": 0.9}


def _params(env: str, conf: Path = PROJECT_ROOT / "conf") -> dict[str, Any]:
    return OmegaConfigLoader(conf_source=str(conf), base_env="base", default_run_env="base",
                             env=env, merge_strategy={"parameters": "soft"})["parameters"]


def _run_study(params: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """``run_study`` with the trials left out: what it hands to ``tune_refinement``."""
    seen: dict[str, Any] = {}

    def tune_refinement(data: Any, cfg: TuneConfig, base: dict, device: Any) -> WorkerResult:
        seen.update(cfg=cfg, base=base, masks=data.masks)
        return WorkerResult(cfg.study_name, cfg.study.storage, (), 0, 0.0)

    monkeypatch.setattr(nodes, "tune_refinement", tune_refinement)
    nodes.run_study(None, None, None, {"masks": "given"}, None, params["tune"], params["rounds"],
                    params["mine"], {"device": "cpu"})
    return seen


def _masks_input(env: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("KEDRO_ENV", env)
    run = next(n for n in create_pipeline().nodes if n.name == "run_tuning_study")
    return run.inputs[3]


def test_an_arm_is_tuned_from_its_merged_settings_and_masks(monkeypatch: pytest.MonkeyPatch) -> None:
    params = _params("tune_paper")
    seen = _run_study(params, monkeypatch)
    base, run = seen["base"], base_params(params["rounds"], params["mine"])
    assert base["refine"]["fill"] == "mean" and run["refine"]["fill"] == "counterfactual"
    assert base["refine"]["use_regularization"] is True and base["refine"]["penalty"] == "rrr"
    assert base["mining"]["criteria"]["spurious"] == "union"
    assert base["train"] == run["train"]  # shared with the matched control
    assert seen["cfg"].study_name == "limeguard-refine-paper" and seen["masks"] == {"masks": "given"}
    assert _masks_input("tune_paper", monkeypatch) == "paper.adversarial.refinement_masks"


def test_tune_arm_shapes_the_dag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEDRO_ENV", "tune_paper")
    params = configured_parameters(PROJECT_ROOT)
    check_run_matches_dag(params, "tune_paper")
    params["tune"]["arm"] = None  # e.g. --params tune.arm=null
    with pytest.raises(ConfigError, match=r"tune\.arm: the run's parameters .* differ from its conf"):
        check_run_matches_dag(params, "tune_paper")


def test_an_unknown_arm_fails_before_any_trial_naming_tune_arm(monkeypatch: pytest.MonkeyPatch) -> None:
    params = _params("tune_paper")
    params["tune"]["arm"] = "papr"
    unknown = r"tune\.arm: unknown arm 'papr'; the arms of rounds\.arms are transplant, paper"
    with pytest.raises(ConfigError, match=unknown):
        check_across_sections(params)  # the parameter check, before any node runs
    with pytest.raises(ConfigError, match=unknown):
        _run_study(params, monkeypatch)
    assert _masks_input("base", monkeypatch) == "adversarial.refinement_masks"


def test_an_arm_cannot_search_the_shared_training() -> None:
    space = {"train": {"epochs": {"type": "int", "low": 1, "high": 3}}}
    with pytest.raises(ConfigError, match=r"tune\.space\.train\.epochs: an arm cannot override "
                                          r"rounds\.train"):
        from_params(TuneConfig, {"arm": "paper", "space": space}, "tune")
    with pytest.raises(ConfigError, match=r"tune\.arm: expected null or the name of an arm"):
        from_params(TuneConfig, {"arm": "", "space": space}, "tune")
    assert from_params(TuneConfig, {"space": space}, "tune").arm is None


def _study(cfg: TuneConfig) -> optuna.Study:
    """A study holding one complete trial with the values of ``BEST``."""
    study = optuna.create_study(study_name=cfg.study_name, directions=cfg.objective.directions)
    dists = {"refine.lambda_reg": optuna.distributions.FloatDistribution(0.01, 100.0, log=True),
             "refine.fill": optuna.distributions.CategoricalDistribution(["mean", "blur"]),
             "mining.criteria.unstable_quantile": optuna.distributions.FloatDistribution(0.6, 0.97)}
    study.add_trial(optuna.trial.create_trial(params=BEST, distributions=dists, values=[0.4],
                                              user_attrs={"pgd_acc": 0.4, "clean_acc": 0.6}))
    return study


def test_an_arms_best_params_are_its_overrides(tmp_path: Path) -> None:
    cfg = from_params(TuneConfig, _params("tune_paper")["tune"], "tune")
    text = outputs.best_params_text(_study(cfg), cfg, nodes.best_params_path(cfg.arm))
    assert "study 'limeguard-refine-paper'" in text and "data/08_reporting/tune_paper/" in text
    assert "rounds.arms.paper.rounds.refine.lambda_reg=3.0" in text
    assert yaml.safe_load(text) == {"rounds": {"arms": {"paper": {
        "rounds": {"refine": {"lambda_reg": 3.0, "fill": "blur"}},
        "mine": {"mining": {"criteria": {"unstable_quantile": 0.9}}}}}}}
    shutil.copytree(PROJECT_ROOT / "conf" / "base", tmp_path / "conf" / "base")
    (tmp_path / "conf" / "tuned").mkdir()
    (tmp_path / "conf" / "tuned" / "parameters_tuned.yml").write_text(text)
    params = _params("tuned", tmp_path / "conf")  # dropped into an env: soft-merged
    check_parameters(params, parameter_schemas())
    arms = {arm.name: arm for arm in parse_arms(params["mine"], params["rounds"])}
    paper, transplant = arms["paper"], arms["transplant"]
    assert paper.rounds["refine"]["lambda_reg"] == 3.0 and paper.rounds["refine"]["fill"] == "blur"
    assert paper.rounds["refine"]["use_regularization"] is True  # its other overrides stay
    assert paper.mine["mining"]["criteria"] == {**params["mine"]["mining"]["criteria"],
                                                "spurious": "union", "unstable_quantile": 0.9}
    assert paper.own_mining and paper.rounds["accumulate_masks"] is False
    assert params["rounds"]["refine"]["lambda_reg"] == 1.0  # the run and the other arm: untouched
    assert transplant.rounds["refine"] == params["rounds"]["refine"]


def test_no_arm_tunes_the_run_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    params = _params("base")
    seen = _run_study(params, monkeypatch)
    assert seen["base"] == base_params(params["rounds"], params["mine"])
    assert seen["cfg"].arm is None and seen["cfg"].study_name == "limeguard-refine"
    assert _masks_input("base", monkeypatch) == "adversarial.refinement_masks"
    cfg = seen["cfg"]
    text = outputs.best_params_text(_study(cfg), cfg, nodes.best_params_path(None))
    assert yaml.safe_load(text) == {"rounds": {"refine": {"lambda_reg": 3.0, "fill": "blur"}},
                                    "mine": {"mining": {"criteria": {"unstable_quantile": 0.9}}}}
    assert "cp data/08_reporting/tune/best_params.yml conf/tuned/parameters_tuned.yml" in text
    assert "rounds.refine.lambda_reg=3.0" in text and "arms" not in text
