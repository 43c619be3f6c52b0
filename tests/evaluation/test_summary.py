"""summarize on a hand-made results table: per-attack accuracy and per-image worst case."""

from __future__ import annotations

import pandas as pd

from limeguard.evaluation import summarize


def _rows(attack, eps, correct, blackbox=False):
    return [
        {
            "image_id": i,
            "label": 0,
            "attack": attack,
            "blackbox": blackbox,
            "eps_255": eps,
            "eps_linf": eps / 255,
            "attacked": attack != "clean",
            "correct": c,
            "pred": 0 if c else 1,
        }
        for i, c in enumerate(correct)
    ]


def test_worst_case_needs_every_attack_survived():
    results = pd.DataFrame(
        _rows("clean", 0.0, [True, True, True, False])
        + _rows("fgsm", 8.0, [True, True, False, False])
        + _rows("pgd", 8.0, [True, False, True, False])
        + _rows("square", 8.0, [False, True, True, False], blackbox=True)
        + _rows("fgsm", 4.0, [True, True, True, False])
    )
    s = summarize(results).set_index(["attack", "eps_255"])["accuracy"]
    assert s[("clean", 0.0)] == 0.75
    assert s[("fgsm", 8.0)] == 0.5 and s[("pgd", 8.0)] == 0.5 and s[("square", 8.0)] == 0.5
    assert s[("worst_case", 8.0)] == 0.0
    assert s[("worst_case_whitebox", 8.0)] == 0.25  # image 0 survives fgsm and pgd
    assert s[("worst_case", 4.0)] == 0.75


def test_worst_case_counts_clean_mistakes_even_if_an_attack_row_says_correct():
    results = pd.DataFrame(_rows("clean", 0.0, [False, True]) + _rows("pgd", 8.0, [True, True]))
    s = summarize(results).set_index(["attack", "eps_255"])
    assert s.loc[("worst_case", 8.0), "n_correct"] == 1
    assert list(s.columns) == ["eps_linf", "n", "n_correct", "accuracy"]
