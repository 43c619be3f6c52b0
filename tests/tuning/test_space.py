"""Search-space and config validation: every error names the entry, before any trial runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from limeguard.config import ConfigError, from_params
from limeguard.tuning import TuneConfig, conf_overrides, parse_space
from limeguard.tuning.objective import WHERE
from limeguard.tuning.space import apply_values, check_space_against, conf_name
from tests.conftest import PROJECT_ROOT
from tests.tuning.toy import BASE


def _space(**entry) -> dict:
    return {"refine": {"lambda_reg": {"type": "float", "low": 0.1, "high": 10.0, **entry}}}


@pytest.mark.parametrize(("entry", "message"), [
    ({"low": 1.0, "high": 1.0}, r"refine.lambda_reg: empty range \(low == high == 1.0\)"),
    ({"low": 5.0, "high": 0.5}, r"refine.lambda_reg: inverted range \(low 5.0 > high 0.5\)"),
    ({"low": 0.0, "log": True}, r"refine.lambda_reg.low: a log range needs low > 0"),
    ({"high": float("nan")}, r"refine.lambda_reg.high: expected a finite float"),
    ({"lows": 1}, r"refine.lambda_reg: unknown key\(s\) \['lows'\]"),
    ({"type": "uniform"}, r"refine.lambda_reg.type: unknown value 'uniform'"),
    ({"step": 0.5, "log": True}, r"step: not allowed together with log"),
    ({"step": 20.0}, r"refine.lambda_reg.step: must be in \(0, 9.9\], got 20.0"),
    ({"step": True}, r"refine.lambda_reg.step: must be in \(0, 9.9\], got True"),
])  # fmt: skip
def test_bad_ranges_are_named(entry: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_space(_space(**entry))


def test_unknown_names_suggest_the_close_one() -> None:
    with pytest.raises(ConfigError, match=r"unknown parameter of refine 'lambda_regg' \(did you mean 'lambda_reg'\?\)"):
        parse_space({"refine": {"lambda_regg": {"type": "float", "low": 1, "high": 2}}})
    with pytest.raises(ConfigError, match=r"unknown root 'refin' \(did you mean 'refine'\?\)"):
        parse_space({"refin": {"alpha": {"type": "float", "low": 1, "high": 2}}})
    with pytest.raises(ConfigError, match=r"unknown parameter of mining.criteria 'irrelevant_q'"):
        parse_space({"mining": {"criteria": {"irrelevant_q": {"type": "float", "low": 0.1, "high": 0.2}}}})
    with pytest.raises(ConfigError, match=r"mining.lime is a section"):
        parse_space({"mining": {"lime": {"type": "float", "low": 0.1, "high": 0.2}}})


def test_types_must_fit_the_field() -> None:
    with pytest.raises(ConfigError, match=r"train.epochs is an integer field; use type int"):
        parse_space({"train": {"epochs": {"type": "float", "low": 1, "high": 3}}})
    with pytest.raises(ConfigError, match=r"refine.fill is not numeric \(str\); use type categorical"):
        parse_space({"refine": {"fill": {"type": "int", "low": 1, "high": 3}}})
    with pytest.raises(ConfigError, match=r"choices: a non-empty list is required"):
        parse_space({"refine": {"fill": {"type": "categorical", "choices": []}}})
    with pytest.raises(ConfigError, match=r"choices: repeated values"):
        parse_space({"refine": {"fill": {"type": "categorical", "choices": ["blur", "blur"]}}})


def test_empty_space_and_dropped_entries() -> None:
    with pytest.raises(ConfigError, match="the search space is empty"):
        parse_space({"refine": {"lambda_reg": None}})
    space = parse_space({"refine": {"lambda_reg": None, "alpha": {"type": "float", "low": 0.1, "high": 2}},
                         "train.epochs": {"type": "int", "low": 1, "high": 3}})
    assert space.names == ("refine.alpha", "train.epochs")


def test_bounds_are_checked_against_the_configs() -> None:
    space = parse_space({"refine": {"mask_fraction": {"type": "float", "low": 0.1, "high": 1.5}}})
    with pytest.raises(ConfigError, match=r"tune.space.refine.mask_fraction: the value 1.5 is not valid"):
        check_space_against(space, BASE, WHERE)
    space = parse_space({"refine": {"fill": {"type": "categorical", "choices": ["blur", "gold"]}}})
    with pytest.raises(ConfigError, match=r"the value 'gold' is not valid there: .*unknown value 'gold'"):
        check_space_against(space, BASE, WHERE)


def test_tune_config_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"tune\.space\.refine\.lambda_reg: inverted range"):
        from_params(TuneConfig, {"space": _space(low=3.0, high=1.0)}, "tune")
    with pytest.raises(ConfigError, match=r"tune.objective.mode: unknown value 'best'"):
        from_params(TuneConfig, {"space": _space(), "objective": {"mode": "best"}}, "tune")
    with pytest.raises(ConfigError, match=r"tune.study.n_trials: must be an integer >= 1"):
        from_params(TuneConfig, {"space": _space(), "study": {"n_trials": 0}}, "tune")
    with pytest.raises(ConfigError, match=r"tune: unknown parameter 'spaces'"):
        from_params(TuneConfig, {"spaces": _space()}, "tune")


@pytest.mark.parametrize(("section", "params", "message"), [
    ("objective", {"min_clean_acc": 1.5}, r"tune.objective.min_clean_acc: must be in \[0, 1\]"),
    ("objective", {"images": "test"}, r"tune.objective.images: unknown value 'test'"),
    ("objective", {"val_images": 0}, r"tune.objective.val_images: must be an integer >= 1"),
    ("objective", {"eps_255": 0}, r"tune.objective.eps_255: must be in \(0, 64\]"),
    ("objective", {"alpha_255": 65}, r"tune.objective.alpha_255: must be in \(0, 64\]"),
    ("objective", {"steps": 0}, r"tune.objective.steps: must be an integer >= 1"),
    ("objective", {"eval_batch_size": 0}, r"tune.objective.eval_batch_size: must be an integer"),
    ("study", {"timeout_s": 0}, r"tune.study.timeout_s: must be a finite number > 0"),
    ("study", {"heartbeat_s": 0}, r"tune.study.heartbeat_s: must be an integer >= 1"),
    ("study", {"grace_s": 0}, r"tune.study.grace_s: must be an integer >= 1"),
    ("study", {"retries": -1}, r"tune.study.retries: must be an integer >= 0"),
    ("study", {"name": ""}, r"tune.study.name: must not be empty"),
    ("sampler", {"seed": -1}, r"tune.sampler.seed: must be an integer in \[0, 4294967295\]"),
    ("sampler", {"n_startup_trials": -1}, r"tune.sampler.n_startup_trials: must be an integer >= 0"),
    ("sampler", {"population_size": 1}, r"tune.sampler.population_size: must be an integer >= 2"),
    ("pruner", {"kind": "asha"}, r"tune.pruner.kind: unknown value 'asha'"),
    ("pruner", {"n_startup_trials": -1}, r"tune.pruner.n_startup_trials: must be an integer >= 0"),
    ("pruner", {"n_warmup_steps": -1}, r"tune.pruner.n_warmup_steps: must be an integer >= 0"),
    ("pruner", {"min_resource": 0}, r"tune.pruner.min_resource: must be an integer >= 1"),
    ("pruner", {"reduction_factor": 1}, r"tune.pruner.reduction_factor: must be an integer >= 2"),
])  # fmt: skip
def test_each_tune_setting_is_checked_naming_its_key(section: str, params: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_params(TuneConfig, {"space": _space(), section: params}, "tune")
    with pytest.raises(ConfigError, match=r"tune.remine: unknown value 'always'"):
        from_params(TuneConfig, {"space": _space(), "remine": "always"}, "tune")


def test_the_training_attack_is_searched_in_its_section() -> None:
    entry = {"type": "float", "low": 4.0, "high": 10.0}
    space = parse_space({"train": {"attack": {"eps_255": entry}}})
    assert space.names == ("train.attack.eps_255",)
    check_space_against(space, BASE, WHERE)
    assert conf_overrides({"train.attack.eps_255": 6.0}) == {"rounds": {"train": {"attack": {"eps_255": 6.0}}}}
    too_far = parse_space({"train": {"attack": {"eps_255": {**entry, "high": 100.0}}}})
    with pytest.raises(ConfigError, match=r"tune.space.train.attack.eps_255: the value 100.0 is not valid"):
        check_space_against(too_far, BASE, WHERE)
    with pytest.raises(ConfigError, match=r"unknown parameter of refine 'eps_255'"):
        parse_space({"refine": {"eps_255": entry}})


def test_values_become_kedro_parameters() -> None:
    values = {"refine.lambda_reg": 3.0, "train.epochs": 2, "mining.lime.num_samples": 100}
    assert conf_overrides(values) == {"rounds": {"refine": {"lambda_reg": 3.0}, "train": {"epochs": 2}},
                                      "mine": {"mining": {"lime": {"num_samples": 100}}}}
    assert conf_name("mining.lime.num_samples") == "mine.mining.lime.num_samples"
    applied = apply_values(BASE, values)
    assert applied["refine"]["lambda_reg"] == 3.0 and BASE["refine"]["lambda_reg"] == 1.0
    assert applied["mining"] == {"lime": {"num_samples": 100}}


@pytest.mark.parametrize("env", ["base", "test", "paper"])
def test_the_shipped_conf_parses(env: str) -> None:
    merged: dict = {}
    for e in dict.fromkeys(["base", env]):
        layer = yaml.safe_load((PROJECT_ROOT / "conf" / e / "parameters_tune.yml").read_text())["tune"]
        merged = _merge(merged, layer)
    cfg = from_params(TuneConfig, merged, "tune")
    rounds = yaml.safe_load(Path(PROJECT_ROOT / "conf/base/parameters_rounds.yml").read_text())["rounds"]
    mine = yaml.safe_load(Path(PROJECT_ROOT / "conf/base/parameters_mine.yml").read_text())["mine"]
    base = {"refine": rounds["refine"], "train": rounds["train"], "mining": mine["mining"]}
    check_space_against(parse_space(cfg.space), base, WHERE)


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
