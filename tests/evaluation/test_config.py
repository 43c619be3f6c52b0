"""Evaluation configuration from parameter dicts: radii, units and bad input."""

from __future__ import annotations

import pytest

from limeguard.config import ConfigError, from_params
from limeguard.evaluation import AttackSpec, EvalConfig, MaskingCheckConfig, linf_to_255


def test_defaults_and_radii():
    cfg = EvalConfig()
    assert cfg.eps_255 == (1.0, 2.0, 4.0, 8.0, 16.0)
    assert cfg.small_eps_linf[0] == 0.01 and cfg.small_eps_linf[-1] == 0.1
    assert [a.key for a in cfg.attacks] == [
        "fgsm",
        "pgd",
        "pgd_restarts",
        "cw",
        "autoattack",
        "square",
    ]
    pgd = cfg.attacks[1]
    radii = cfg.radii_255(pgd)
    assert radii == tuple(sorted(radii)) and 2.55 in radii and 25.5 in radii and 16.0 in radii
    assert cfg.radii_255(cfg.attacks[3]) == (8.0,)


def test_small_eps_is_converted_from_linf_units():
    assert linf_to_255(0.01) == 2.55
    assert linf_to_255(0.03) == 7.65
    assert linf_to_255(0.1) == 25.5


def test_from_params_builds_nested_specs():
    cfg = from_params(
        EvalConfig,
        {
            "attacks": [
                {"name": "pgd", "sweep": True, "options": {"steps": 5}},
                {"name": "pgd", "label": "pgd_cw", "options": {"steps": 5}},
            ],
            "eps_255": [4, 8],
            "small_eps_linf": [],
            "batch_size": 32,
        },
        "evaluate",
    )
    assert cfg.attacks[0] == AttackSpec("pgd", options={"steps": 5}, sweep=True)
    assert cfg.attacks[1].key == "pgd_cw" and cfg.eps_255 == (4.0, 8.0)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"attacks": [{"name": "pgdd"}]}, "name: unknown attack name .pgdd."),
        ({"attacks": [{"name": "pgd", "options": {"steps": 0}}]}, "steps: must be"),
        ({"attacks": [{"name": "pgd", "option": {}}]}, "did you mean 'options'"),
        ({"attacks": [{"name": "pgd"}, {"name": "pgd"}]}, "labels must be unique"),
        ({"attacks": []}, "at least one attack"),
        ({"eps_255": [8, -1]}, r"eps_255\[1\]: must be in \[0, 255\]"),
        ({"eps_255": [300]}, r"eps_255\[0\]"),
        ({"small_eps_linf": [8]}, r"small_eps_linf\[0\]: must be an L∞ radius in \[0, 1\]"),
        ({"headline_eps_255": float("nan")}, "headline_eps_255"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch": 3}, "unknown parameter 'batch'"),
    ],
)
def test_bad_params_name_the_parameter(params, match):
    with pytest.raises(ConfigError, match=match):
        from_params(EvalConfig, params, "evaluate")


def test_masking_config_validates():
    with pytest.raises(ConfigError, match="tolerance"):
        MaskingCheckConfig(tolerance=2.0)
    with pytest.raises(ConfigError, match="probe_eps_255"):
        MaskingCheckConfig(probe_eps_255=-4)
