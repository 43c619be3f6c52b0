"""Paired comparisons of two models scored on the same images (and seeds).

Both models' per-image outcomes are given as ``(S, N)`` arrays: ``S`` seeds (training runs) by
``N`` test images, the same images in the same order for both and for every seed. The difference
of mean scores gets a percentile bootstrap interval that resamples images, and with several seeds
seeds and images together (the two-way bootstrap of crossed designs: a draw picks ``S`` seeds and
``N`` images with replacement, independently, so both sources of variation are in the interval).
Binary outcomes also get McNemar's exact test on the discordant pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest, norm

CHUNK = 250  # bootstrap draws per matrix product


@dataclass(frozen=True)
class PairedDifference:
    """``mean(candidate) - mean(reference)`` over seeds and images (fractions; 0.01 = 1 point).

    Attributes:
        diff: the observed difference.
        low, high: the ends of the percentile bootstrap interval at ``level``.
        level: the interval's coverage, e.g. 0.95.
        n_seeds, n_images: the seeds and images compared.
        over: what the interval resamples: ``images`` or ``seeds x images``.
        wins, losses: binary outcomes only, summed over seeds: images the candidate gets right and
            the reference wrong, and the other way round (None for non-binary scores).
        mcnemar_p: McNemar's exact two-sided p-value on ``wins`` vs ``losses`` (pooled over
            seeds), None for non-binary scores.
    """

    diff: float
    low: float
    high: float
    level: float
    n_seeds: int
    n_images: int
    over: str
    wins: int | None = None
    losses: int | None = None
    mcnemar_p: float | None = None

    @property
    def half_width(self) -> float:
        """Half the interval's width."""
        return (self.high - self.low) / 2


def paired_difference(
    candidate: np.ndarray, reference: np.ndarray, level: float = 0.95, n_boot: int = 2000,
    seed: int = 0,
) -> PairedDifference:
    """The paired difference of two models' per-image scores with its bootstrap interval.

    Args:
        candidate, reference: ``(S, N)`` (or ``(N,)`` for one seed) per-image scores, bool or
            float, seeds x images in the same order for both.
        level: coverage of the interval, in (0, 1).
        n_boot: bootstrap draws.
        seed: seed of the draws (the interval is reproducible).

    Raises:
        ValueError: shapes differ, no image, a non-finite score, or ``level`` / ``n_boot`` out of
            range.
    """
    a, b = _as_matrix(candidate, "candidate"), _as_matrix(reference, "reference")
    if a.shape != b.shape:
        raise ValueError(f"paired scores: candidate {a.shape} and reference {b.shape} differ in "
                         "shape; both must hold the same seeds and images")
    if not 0 < level < 1:
        raise ValueError(f"level: must be in (0, 1), got {level}")
    if n_boot < 100:
        raise ValueError(f"n_boot: at least 100 draws are needed, got {n_boot}")
    diffs = a - b
    draws = _bootstrap_means(diffs, n_boot, np.random.default_rng(seed))
    tail = (1 - level) / 2
    low, high = np.quantile(draws, [tail, 1 - tail])
    n_seeds, n_images = diffs.shape
    out = dict(diff=float(diffs.mean()), low=float(low), high=float(high), level=level,
               n_seeds=n_seeds, n_images=n_images,
               over="images" if n_seeds == 1 else "seeds x images")
    if _binary(a) and _binary(b):
        wins, losses = int(((a == 1) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum())
        out |= dict(wins=wins, losses=losses, mcnemar_p=mcnemar_p(wins, losses))
    return PairedDifference(**out)


def mcnemar_p(wins: int, losses: int) -> float:
    """McNemar's exact two-sided p-value: ``wins`` ~ Binomial(wins + losses, 1/2) under no
    difference (1.0 without discordant pairs)."""
    total = wins + losses
    return 1.0 if total == 0 else float(binomtest(wins, total, 0.5).pvalue)


def unpaired_difference(
    candidate: float, reference: float, n_candidate: int, n_reference: int, level: float = 0.95,
) -> PairedDifference:
    """The normal-approximation interval of two independent binomial accuracies: for results
    without per-image outcomes, wider than the paired interval of the same images."""
    z = float(norm.ppf(1 - (1 - level) / 2))
    var = sum(p * (1 - p) / n for p, n in ((candidate, n_candidate), (reference, n_reference))
              if n > 0)  # fmt: skip
    diff, half = candidate - reference, z * math.sqrt(max(var, 0.0))
    return PairedDifference(diff, diff - half, diff + half, level, 1,
                            min(n_candidate, n_reference), "unpaired (no per-image outcomes)")


def _bootstrap_means(diffs: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    n_seeds, n_images = diffs.shape
    out = []
    for start in range(0, n_boot, CHUNK):
        size = min(CHUNK, n_boot - start)
        images = rng.integers(0, n_images, size=(size, n_images))
        per_seed = diffs[:, images].mean(2).T  # (size, S): each seed's mean on the drawn images
        if n_seeds == 1:
            out.append(per_seed[:, 0])
            continue
        seeds = rng.integers(0, n_seeds, size=(size, n_seeds))
        out.append(np.take_along_axis(per_seed, seeds, axis=1).mean(1))
    return np.concatenate(out)


def _as_matrix(scores: np.ndarray, name: str) -> np.ndarray:
    matrix = np.asarray(scores, dtype=float)
    matrix = matrix[None, :] if matrix.ndim == 1 else matrix
    if matrix.ndim != 2 or matrix.shape[1] == 0 or matrix.shape[0] == 0:
        raise ValueError(f"paired scores: {name} must be (seeds, images) with at least one image, "
                         f"got shape {np.shape(scores)}")
    if not np.isfinite(matrix).all():
        raise ValueError(f"paired scores: {name} holds non-finite scores")
    return matrix


def _binary(matrix: np.ndarray) -> bool:
    return bool(np.isin(matrix, (0.0, 1.0)).all())
