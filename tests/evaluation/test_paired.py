"""paired_difference: the bootstrap interval covers a known difference at about its level."""

from __future__ import annotations

import numpy as np
import pytest

from limeguard.evaluation.paired import mcnemar_p, paired_difference, unpaired_difference


def paired_draw(rng: np.random.Generator, n: int, p_ref: float, gain: float,
                seeds: int = 1, seed_sd: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Two models on the same ``n`` images: the candidate is right wherever the reference is,
    and on a further ``gain / (1 - p_ref)`` of the rest, so the true difference is ``gain``; each
    seed shifts both models' accuracy by a common amount and the candidate's by its own."""
    difficulty = rng.uniform(size=n)
    ref, cand = [], []
    for _ in range(seeds):
        shift = rng.normal(0, seed_sd)
        ref.append(difficulty < p_ref + shift)
        cand.append(difficulty < p_ref + gain + shift + rng.normal(0, seed_sd))
    return np.array(cand), np.array(ref)


@pytest.mark.parametrize("seeds, seed_sd", [(1, 0.0), (3, 0.0)])
def test_interval_covers_the_true_difference_at_about_the_nominal_rate(seeds, seed_sd) -> None:
    rng = np.random.default_rng(0)
    trials, covered, widths = 200, 0, []
    for t in range(trials):
        cand, ref = paired_draw(rng, 300, 0.4, 0.03, seeds, seed_sd)
        result = paired_difference(cand, ref, n_boot=400, seed=t)
        covered += result.low <= 0.03 <= result.high
        widths.append(result.half_width)
    assert 0.90 <= covered / trials <= 0.99
    assert 0.005 < np.mean(widths) < 0.03  # paired: far narrower than the unpaired ±7.8 points


def test_paired_interval_is_narrower_than_the_unpaired_one_on_the_same_images() -> None:
    cand, ref = paired_draw(np.random.default_rng(1), 1000, 0.4, 0.02)
    paired = paired_difference(cand, ref)
    unpaired = unpaired_difference(cand.mean(), ref.mean(), 1000, 1000)
    assert paired.diff == pytest.approx(unpaired.diff)
    assert paired.half_width < unpaired.half_width / 3


def test_mcnemar_counts_the_discordant_pairs_by_hand() -> None:
    cand = np.array([[1, 1, 0, 1, 0, 1], [1, 0, 0, 1, 1, 1]], dtype=bool)
    ref = np.array([[1, 0, 0, 0, 1, 1], [0, 0, 0, 1, 1, 0]], dtype=bool)
    result = paired_difference(cand, ref, n_boot=200)
    assert (result.wins, result.losses) == (4, 1)  # seed 0: images 1, 3 vs 4; seed 1: 0, 5
    assert result.diff == pytest.approx(3 / 12)
    assert result.mcnemar_p == pytest.approx(0.375)  # 2 * P(Bin(5, 1/2) <= 1) = 2 * 6/32
    assert (result.n_seeds, result.n_images, result.over) == (2, 6, "seeds x images")
    assert mcnemar_p(0, 0) == 1.0


def test_scores_need_not_be_binary_and_then_get_no_mcnemar() -> None:
    gap_a, gap_b = np.array([1.0, 0.0, 1.0, -1.0]), np.array([0.0, 0.0, 1.0, -1.0])
    result = paired_difference(gap_a, gap_b, n_boot=200)
    assert result.diff == pytest.approx(0.25) and result.mcnemar_p is None
    assert result.low <= result.diff <= result.high


def test_identical_models_get_a_zero_width_interval() -> None:
    same = np.random.default_rng(2).uniform(size=(2, 50)) < 0.5
    result = paired_difference(same, same.copy(), n_boot=200)
    assert result.diff == result.low == result.high == 0.0 and result.mcnemar_p == 1.0


@pytest.mark.parametrize("cand, ref, match", [
    (np.ones((2, 5)), np.ones((2, 4)), "differ in shape"),
    (np.ones((1, 0)), np.ones((1, 0)), "at least one image"),
    (np.array([1.0, np.nan]), np.ones(2), "non-finite"),
])
def test_bad_scores_are_refused(cand, ref, match) -> None:
    with pytest.raises(ValueError, match=match):
        paired_difference(cand, ref)
