"""Paired comparisons of the report: per-image scores of two models on the same seeds and images.

Each measure the report compares has a per-image score: whether the image is classified correctly
(clean, under an attack at the headline ε, under every attack: the worst case), the share of its
CIFAR-10-C versions classified correctly, or the planted cue's gap (right on the aligned version
minus right on the swapped one). :func:`compare` pairs two models seed by seed on the images both
were scored on and gives the difference a bootstrap interval
(:func:`limeguard.evaluation.paired.paired_difference`); without per-image outcomes it falls back
to the unpaired normal interval and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from limeguard.evaluation.paired import PairedDifference, paired_difference, unpaired_difference
from limeguard.evaluation.summary import WORST_CASE, WORST_CASE_WHITEBOX
from limeguard.reporting.inputs import ModelResults
from limeguard.reporting.numbers import AUTOATTACK_VARIANTS, finite
from limeguard.reporting.view import RunView

ATTACK_MEASURES = ("fgsm", "pgd", "pgd_restarts", "cw", "autoattack", "square")
MEASURES = ("clean", *ATTACK_MEASURES, WORST_CASE, WORST_CASE_WHITEBOX, "cifar10c_mean",
            "gap", "uncued", "uncued_autoattack")  # fmt: skip


@dataclass(frozen=True)
class Comparison:
    """``candidate - reference`` on one measure, in points, with its interval."""

    candidate: str
    reference: str
    measure: str
    result: PairedDifference | None

    @property
    def measured(self) -> bool:
        return self.result is not None and finite(self.result.diff)

    @property
    def paired(self) -> bool:
        return self.measured and not self.result.over.startswith("unpaired")

    @property
    def diff(self) -> float:
        return 100 * self.result.diff if self.measured else float("nan")

    @property
    def low(self) -> float:
        return 100 * self.result.low if self.measured else float("nan")

    @property
    def high(self) -> float:
        return 100 * self.result.high if self.measured else float("nan")

    def interval_text(self) -> str:
        """e.g. ``+2.1 points [95% CI +0.4, +3.9; 3 seeds x 5000 images; McNemar p = 0.02]``."""
        if not self.measured:
            return "n/a"
        r = self.result
        scope = (f"{r.n_seeds} seeds x {r.n_images} images" if r.n_seeds > 1
                 else f"{r.n_images} images, 1 seed: seed variation not covered")
        if not self.paired:
            scope = f"unpaired, {r.n_images} images: no per-image outcomes"
        test = f"; McNemar p = {r.mcnemar_p:.3g}" if r.mcnemar_p is not None else ""
        return (f"{self.diff:+.1f} points [{100 * r.level:g}% CI {self.low:+.1f}, "
                f"{self.high:+.1f}; {scope}{test}]")


def scores(run: ModelResults, measure: str, eps_255: float) -> pd.Series | None:
    """Per-image scores of one model (one seed) on ``measure``, indexed by image id; None when
    the run has no per-image outcomes for it."""
    if measure in ("gap", "uncued"):
        return _cue_scores(run.cue_outcomes, measure)
    if measure == "uncued_autoattack":
        return _attacked(run.uncued_attack_results, None, eps_255)
    if measure == "cifar10c_mean":
        if run.corruption_outcomes is None:
            return None
        return run.corruption_outcomes.groupby("image_id")["correct"].mean().astype(float)
    results = run.attack_results
    if results is None:
        return None
    if measure == "clean":
        rows = results[results["attack"] == "clean"]
        return rows.set_index("image_id")["correct"].astype(float)
    if measure in (WORST_CASE, WORST_CASE_WHITEBOX):
        return _worst_case(results, eps_255, whitebox_only=measure == WORST_CASE_WHITEBOX)
    label = measure
    if measure == "autoattack":
        present = set(results["attack"])
        label = next((v for v in AUTOATTACK_VARIANTS if v in present), measure)
    return _attacked(results, label, eps_255)


def compare(view: RunView, candidate: str, reference: str, measure: str) -> Comparison:
    """The paired difference ``candidate - reference`` on ``measure`` at the headline ε.

    Seeds are matched by their value (by position when the seeds are not recorded); images by id
    (the images both models were scored on in every matched seed).
    """
    key = (candidate, reference, measure)
    if key not in view.paired:
        view.paired[key] = _compare(view, candidate, reference, measure)
    return view.paired[key]


def _compare(view: RunView, candidate: str, reference: str, measure: str) -> Comparison:
    cfg = view.cfg
    pairs = _matched_runs(view.models.get(candidate, ()), view.models.get(reference, ()))
    if not pairs:
        return Comparison(candidate, reference, measure, None)
    eps = cfg.headline_eps_255
    per_seed = [(scores(a, measure, eps), scores(b, measure, eps)) for a, b in pairs]
    if any(a is None or b is None for a, b in per_seed):
        return Comparison(candidate, reference, measure, _unpaired(view, candidate, reference,
                                                                   measure))
    common = sorted(set.intersection(*(set(a.index) & set(b.index) for a, b in per_seed)),
                    key=str)
    if not common:
        return Comparison(candidate, reference, measure, None)
    cand = np.stack([a.loc[common].to_numpy(float) for a, _ in per_seed])
    ref = np.stack([b.loc[common].to_numpy(float) for _, b in per_seed])
    result = paired_difference(cand, ref, level=cfg.interval_level, n_boot=cfg.bootstrap_samples,
                               seed=cfg.bootstrap_seed)
    return Comparison(candidate, reference, measure, result)


def comparisons(view: RunView, measures: tuple[str, ...] = MEASURES) -> list[Comparison]:
    """Every comparison the report makes, on every measure both models have: each round (of every
    arm) and the control against the adversarial baseline, each round against the control, each
    round against the one before it in its arm."""
    adv, ctl = view.cfg.adversarial, view.cfg.control
    arms = list(view.arms.values()) or [view.rounds]
    rounds = [r for arm in arms for r in arm]
    pairs = [(r, adv) for r in rounds]
    if view.has(ctl):
        pairs = [(ctl, adv), *pairs, *((r, ctl) for r in rounds)]
    pairs += [pair for arm in arms for pair in zip(arm[1:], arm, strict=False)]
    out = [compare(view, a, b, m) for a, b in pairs for m in measures]
    return [c for c in out if c.measured]


def _matched_runs(a: tuple[ModelResults, ...], b: tuple[ModelResults, ...]
                  ) -> list[tuple[ModelResults, ModelResults]]:
    seeds_a, seeds_b = [r.seed for r in a], [r.seed for r in b]
    if None not in seeds_a and None not in seeds_b and len(set(seeds_a)) == len(seeds_a):
        by_seed = {r.seed: r for r in b}
        return [(r, by_seed[r.seed]) for r in a if r.seed in by_seed]
    return list(zip(a, b, strict=False))


def _unpaired(view: RunView, candidate: str, reference: str, measure: str
              ) -> PairedDifference | None:
    if measure not in view.stats.get(candidate, {}):
        return None
    a, b = view.stat(candidate, measure), view.stat(reference, measure)
    if not (finite(a.mean) and finite(b.mean)):
        return None
    return unpaired_difference(a.mean, b.mean, view.n_images.get(candidate, 0),
                               view.n_images.get(reference, 0), view.cfg.interval_level)


def _attacked(results: pd.DataFrame | None, label: str | None, eps_255: float) -> pd.Series | None:
    if results is None:
        return None
    rows = results[results["attack"] != "clean"] if label is None else results[
        results["attack"] == label]
    rows = rows[np.isclose(rows["eps_255"].astype(float), eps_255)]
    return rows.set_index("image_id")["correct"].astype(float) if len(rows) else None


def _worst_case(results: pd.DataFrame, eps_255: float, whitebox_only: bool) -> pd.Series | None:
    at = results[np.isclose(results["eps_255"].astype(float), eps_255)]
    if whitebox_only:
        at = at[~at["blackbox"].astype(bool)]
    if at.empty:
        return None
    clean = results[results["attack"] == "clean"].set_index("image_id")["correct"]
    attacks = at["attack"].nunique()
    per_image = at.groupby("image_id").agg(n=("attack", "nunique"), robust=("correct", "all"))
    per_image = per_image[per_image["n"] == attacks]  # the images every attack ran on
    robust = per_image["robust"] & clean.reindex(per_image.index).fillna(False).astype(bool)
    return robust.astype(float)


def _cue_scores(outcomes: pd.DataFrame | None, measure: str) -> pd.Series | None:
    if outcomes is None:
        return None
    table = outcomes.set_index("image_id")
    if measure == "uncued":
        return table["uncued"].astype(float)
    return table["aligned"].astype(float) - table["swapped"].astype(float)
