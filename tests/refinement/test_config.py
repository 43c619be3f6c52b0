"""RefineConfig: defaults, ablation presets, bad values fail naming the key."""

from __future__ import annotations

import pytest

from limeguard.config import ConfigError, from_params
from limeguard.refinement import ABLATIONS, RefineConfig
from limeguard.training.config import AttackSettings


def test_defaults_turn_every_term_on() -> None:
    cfg = RefineConfig()
    assert (cfg.use_masking, cfg.use_regularization, cfg.use_augmentation) == (True, True, True)
    assert cfg.terms == ("adversarial", "masking", "regularization")
    assert cfg.fill == "counterfactual" and cfg.mask_fraction == 1.0
    assert cfg.penalty == "rrr" and cfg.masks == "mined" and cfg.consistency_weight == 0.0


@pytest.mark.parametrize("name", list(ABLATIONS))
def test_presets_set_the_switches(name: str) -> None:
    cfg = from_params(RefineConfig, {"ablation": name}, "refine")
    assert (cfg.use_masking, cfg.use_regularization, cfg.use_augmentation) == ABLATIONS[name]


def test_presets_choose_the_terms() -> None:
    assert RefineConfig(ablation="masking_only").terms == ("base", "masking")
    assert RefineConfig(ablation="regularization_only").terms == ("base", "regularization")
    assert RefineConfig(ablation="augmentation_only").terms == ("adversarial",)
    assert RefineConfig(augment="none").terms[0] == "base"


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"fill": "noise"}, "fill"),
        ({"augment": "cw"}, "augment"),
        ({"mask_fraction": 1.5}, "mask_fraction"),
        ({"alpha": -1.0}, "alpha"),
        ({"lambda_reg": float("nan")}, "lambda_reg"),
        ({"blur_sigma": 0}, "blur_sigma"),
        ({"ablation": "masking"}, "ablation"),
        ({"ablation": "masking_only", "use_augmentation": True}, "use_augmentation"),
        ({"class_mask_threshold": 2.0}, "class_mask_threshold"),
        ({"lamda_reg": 1.0}, "lambda_reg"),
        ({"lambda_reg": -1.0}, "lambda_reg"),
        ({"lambda_reg": float("inf")}, "lambda_reg"),
        ({"consistency_weight": -0.5}, "consistency_weight"),
        ({"penalty": "jacobian"}, "penalty"),
        ({"masks": "truth"}, "masks"),
    ],
)
def test_bad_values_name_the_key(params: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        from_params(RefineConfig, params, "refine")


@pytest.mark.parametrize("key", ["eps_255", "alpha_255", "steps", "fgsm_alpha_ratio"])
def test_the_attack_settings_are_the_training_recipes(key: str) -> None:
    with pytest.raises(ConfigError, match=rf"refine: unknown parameter '{key}'"):
        from_params(RefineConfig, {key: 1}, "refine")


def test_augmentation_needs_an_attack_radius() -> None:
    flat = AttackSettings(eps_255=0)
    with pytest.raises(ConfigError, match=r"rounds\.train\.attack\.eps_255: must be > 0 with augment 'pgd'"):
        RefineConfig().check_attack(flat, "rounds.train.attack")
    RefineConfig(augment="none").check_attack(flat)
    RefineConfig(use_augmentation=False).check_attack(flat)
    RefineConfig().check_attack(AttackSettings())


def test_switches_without_preset_are_free() -> None:
    cfg = RefineConfig(use_regularization=False)
    assert cfg.terms == ("adversarial", "masking")
