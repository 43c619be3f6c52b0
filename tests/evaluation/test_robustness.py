"""autoattack_accuracy: the evaluation's own AutoAttack, alone, on one image set."""

from __future__ import annotations

import dataclasses

import pytest

from limeguard.config import ConfigError
from limeguard.evaluation import AttackSpec, EvalConfig, evaluate_model, summarize
from limeguard.evaluation.robustness import autoattack_accuracy, autoattack_only, autoattack_results
from tests.attacks.tiny import synthetic_images

AA_LABELS = ("autoattack", "autoattack_fast")
CFG = EvalConfig(
    attacks=(
        AttackSpec("pgd", options={"steps": 3}, sweep=True),
        AttackSpec("autoattack_fast", options={"n_iter": 5, "n_target_classes": 2}),
    ),
    eps_255=(4.0,),
    small_eps_linf=(),
    headline_eps_255=8.0,
    batch_size=8,
)


def test_only_the_first_configured_autoattack_runs_at_the_headline_eps() -> None:
    sweeping = dataclasses.replace(CFG, attacks=(*CFG.attacks[:1], dataclasses.replace(
        CFG.attacks[1], sweep=True)))
    only = autoattack_only(sweeping, AA_LABELS)
    assert [s.key for s in only.attacks] == ["autoattack_fast"]
    assert only.radii_255(only.attacks[0]) == (8.0,)
    assert (only.batch_size, only.seed, only.skip_misclassified) == (8, 0, True)


def test_no_autoattack_configured_is_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"evaluate\.attacks: no AutoAttack configured"):
        autoattack_only(dataclasses.replace(CFG, attacks=CFG.attacks[:1]), AA_LABELS)


def test_accuracies_equal_those_of_the_full_evaluation(tiny_model) -> None:
    x, y = synthetic_images(20, seed=7)
    y[:4] = (y[:4] + 1) % 10  # four images the model gets wrong: never robust
    ids = list(range(20))
    full = summarize(evaluate_model(tiny_model, x, y, ids, CFG, progress=False)).set_index(
        ["attack", "eps_255"])["accuracy"]
    rows = autoattack_results(tiny_model, x, y, ids, CFG, AA_LABELS)
    result = autoattack_accuracy(rows, CFG.headline_eps_255)
    assert result["attack"] == "autoattack_fast" and result["eps_255"] == 8.0
    assert result["n_images"] == 20
    assert result["clean_accuracy"] == full[("clean", 0.0)] <= 16 / 20
    assert result["autoattack_accuracy"] == full[("autoattack_fast", 8.0)]
    assert result["autoattack_accuracy"] < result["clean_accuracy"]
