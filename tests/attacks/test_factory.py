"""Bad input to the attack factory fails at once, naming the parameter."""

from __future__ import annotations

import pytest

from limeguard.attacks import ATTACKS, PGD, AutoAttackLinf, SquareLinf, build_attack, is_blackbox
from limeguard.config import ConfigError


@pytest.mark.parametrize(
    ("name", "eps", "options", "match"),
    [
        ("pgdd", 8, {}, "attack: unknown attack name 'pgdd'"),
        ("pgd", -1, {}, "eps_255: must be in"),
        ("pgd", 256, {}, "eps_255: must be in"),
        ("fgsm", float("nan"), {}, "eps_255: must be in"),
        ("pgd", "8", {}, "eps_255: expected a number"),
        ("pgd", 8, {"steps": 0}, "steps: must be"),
        ("cw", 8, {"restarts": 0}, "restarts: must be"),
        ("pgd", 8, {"alpha_255": -1}, "alpha_255"),
        ("pgd", 8, {"stpes": 10}, r"unknown option\(s\) \['stpes'\]"),
        ("fgsm", 8, {"steps": 3}, "unknown option"),
        ("autoattack", 8, {"n_iter": 5}, "unknown option"),
        ("autoattack_fast", 8, {"n_iter": 0}, "n_iter: must be"),
        ("autoattack_fast", 8, {"attacks": ["apgd-xx"]}, "attacks: unknown"),
        ("square", 8, {"n_queries": 0}, "n_queries: must be"),
        ("square", 300, {}, "eps_255"),
    ],
)
def test_bad_input_names_the_parameter(name, eps, options, match):
    with pytest.raises(ConfigError, match=match):
        build_attack(name, eps, **options)


def test_recipes():
    fgsm = build_attack("fgsm", 4)
    assert fgsm == PGD(4.0, 4.0, steps=1, random_start=False)
    pgd = build_attack("pgd", 8)
    assert (pgd.steps, pgd.alpha_255, pgd.random_start, pgd.restarts) == (20, 2.0, True, 1)
    assert build_attack("pgd", 8, alpha_255=1).alpha_255 == 1.0
    assert build_attack("pgd_restarts", 8).restarts == 5
    assert build_attack("cw", 8).loss == "cw"
    assert build_attack("autoattack", 8, seed=3) == AutoAttackLinf(8.0, version="standard", seed=3)
    fast = build_attack("autoattack_fast", 8, attacks=["apgd-ce"])
    assert fast.version == "custom" and fast.attacks == ("apgd-ce",) and fast.n_iter == 20
    assert build_attack("square", 8, n_queries=100) == SquareLinf(8.0, n_queries=100)
    assert [n for n in ATTACKS if is_blackbox(n)] == ["square"]


def test_pgd_dataclass_validates_directly():
    with pytest.raises(ConfigError, match="loss"):
        PGD(loss="dlr")
    with pytest.raises(ConfigError, match="alpha_255"):
        PGD(alpha_255=float("nan"))
