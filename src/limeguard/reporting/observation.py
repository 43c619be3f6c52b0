"""The observation section: are the pixels LIME flagged disproportionately vulnerable?

Per mined model and criterion, robust accuracy under PGD confined to the flagged pixels against
the same attack confined to as many pixels of unflagged superpixels of the same images
(``limeguard.evaluation.confined``), per seed and, with several seeds, pooled over them. Left
out when no mined model carries the comparison.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import t as student_t

from limeguard.evaluation.confined import VERDICTS, verdict
from limeguard.reporting.numbers import finite
from limeguard.reporting.tables import md_table, pct
from limeguard.reporting.view import RunView


def comparisons(view: RunView) -> dict[str, list[tuple[str, Mapping[str, Any]]]]:
    """Mined model -> its confined-attack comparison per seed (seed label, comparison), in the
    report's model order; the AT baseline as each arm that mines it itself mined it
    (``<arm>.adversarial``: its own spurious set) right after the AT baseline."""
    order = view.ordered
    at = order.index(view.cfg.adversarial) + 1 if view.cfg.adversarial in order else len(order)
    results = {**view.models, **view.arm_baselines}
    names = [*order[:at], *view.arm_baselines, *order[at:]]
    found = {name: [(_seed(r, i), r.confined) for i, r in enumerate(results[name])
                    if r.confined is not None and r.confined.get("enabled", True)]
             for name in names}
    return {name: per_seed for name, per_seed in found.items() if per_seed}


def rows(comps: Mapping[str, list[tuple[str, Mapping[str, Any]]]],
         several: bool) -> list[list[Any]]:
    """One table row per mined model x seed x criterion of ``comps`` (:func:`comparisons`), with
    the seed column when ``several``."""
    out = []
    for name, per_seed in comps.items():
        for seed, comp in per_seed:
            for criterion, c in comp.get("criteria", {}).items():
                left = f"{c.get('n_no_flags', 0)} / {c.get('n_unmatched', 0)}"
                out.append([name, *([seed] if several else []), criterion, c.get("n_images", 0),
                            left, pct(c.get("pixel_share")),
                            pct(c.get("robust_accuracy_flagged")),
                            pct(c.get("robust_accuracy_random")), _interval(c),
                            c.get("verdict", "not measured")])
    return out


def pooled(comps: Mapping[str, list[tuple[str, Mapping[str, Any]]]],
           level: float) -> dict[str, dict[str, dict[str, Any]]]:
    """Mined model -> criterion -> its seeds' differences pooled (:func:`pool`)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, per_seed in comps.items():
        diffs: dict[str, list[float]] = {}
        for _, comp in per_seed:
            for criterion, c in comp.get("criteria", {}).items():
                measured = [float(c["difference"])] if finite(c.get("difference")) else []
                diffs.setdefault(criterion, []).extend(measured)
        out[name] = {criterion: pool(d, len(per_seed), level) for criterion, d in diffs.items()}
    return out


def pool(diffs: Sequence[float], n_seeds: int, level: float) -> dict[str, Any]:
    """The mean of the seeds' ``random - flagged`` differences with a Student-t interval over
    seeds (at least two measured), how many seeds were measured and how many found the flagged
    pixels the more vulnerable."""
    out: dict[str, Any] = {"n_seeds": n_seeds, "n_measured": len(diffs),
                           "n_flagged_more_vulnerable": sum(d > 0 for d in diffs)}
    if len(diffs) < 2:
        return {**out, "verdict": VERDICTS[3]}
    d = np.asarray(diffs, dtype=float)
    half = float(student_t.ppf((1 + level) / 2, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d)))
    mean = float(d.mean())
    return {**out, "difference": mean, "low": mean - half, "high": mean + half, "level": level,
            "verdict": verdict(mean - half, mean + half)}


def pooled_rows(pools: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[list[Any]]:
    """One table row per mined model x criterion of ``pools`` (:func:`pooled`)."""
    return [[name, criterion, f"{p['n_measured']} of {p['n_seeds']}",
             p["n_flagged_more_vulnerable"], _interval(p), p["verdict"]]
            for name, by_criterion in pools.items() for criterion, p in by_criterion.items()]


def section(view: RunView) -> str:
    """The Markdown section (empty when no mined model has the comparison)."""
    comps = comparisons(view)
    if not comps:
        return ""
    several = any(len(per_seed) > 1 for per_seed in comps.values())
    cfg = next(iter(comps.values()))[0][1].get("config", {})
    level = 100 * float(cfg.get("level", 0.95))
    intro = (
        "## The paper's observation, measured\n\n"
        "Are the pixels LIME flagged disproportionately vulnerable? The same PGD attack "
        f"(L∞, ε = {cfg.get('eps_255')}/255, {cfg.get('steps')} steps, {cfg.get('restarts')} "
        "restart(s), random start) is confined to the pixels a criterion flagged on an image, and "
        "to as many pixels from the image's unflagged superpixels "
        f"({cfg.get('draws')} seeded draws, robust accuracy averaged over them). *Difference* is "
        "random-region minus flagged-region robust accuracy, in points, paired over images with "
        f"its {level:g}% bootstrap interval: above 0, the flagged pixels are the more vulnerable. "
        "*Left out*: images where the criterion flagged nothing / with too few unflagged pixels "
        "to match. *No image broken*: neither attack changed a prediction (the interval [0, 0] says "
        "nothing). *spurious* is the set refinement uses (on `<arm>.adversarial`, the AT baseline "
        "as an arm that mines it itself mined it, that arm's own set); *planted cue* (planted-cue runs) "
        "attacks the cue's own pixels, the known answer. "
        + ("One row per seed: each seed's models are attacked on the same images." if several
           else ""))
    table = md_table(["mined model", *(["seed"] if several else []), "criterion", "images",
                      "left out", "pixels flagged (%)", "robust, flagged (%)",
                      "robust, random (%)", "difference (points)", "verdict"], rows(comps, several))
    return intro + "\n\n" + (_pooled_table(comps, level / 100) if several else "") + table


def _pooled_table(comps: Mapping[str, list[tuple[str, Mapping[str, Any]]]], level: float) -> str:
    intro = (
        f"**Pooled over seeds**: the mean of the seeds' differences with its {100 * level:g}% "
        "Student-t interval over seeds (at least two measured). Every seed's models are attacked "
        "on the same images, so the interval covers the variation between training runs, attack "
        "starts and random draws, not the choice of those images. *Flagged more vulnerable*: "
        "the seeds whose difference is above 0.")
    table = md_table(["mined model", "criterion", "seeds measured", "flagged more vulnerable",
                      "mean difference (points)", "verdict"], pooled_rows(pooled(comps, level)))
    return intro + "\n\n" + table + "\n\n**Per seed**:\n\n"


def metrics(view: RunView) -> dict[str, Any] | None:
    """The metrics entry: per mined model, seed (its label) and criterion, the two robust
    accuracies, the difference with its interval and the verdict (None without comparisons)."""
    comps = comparisons(view)
    if not comps:
        return None
    keys = ("n_images", "n_no_flags", "n_unmatched", "robust_accuracy_flagged",
            "robust_accuracy_random", "difference", "low", "high", "verdict")
    return {name: {seed: {criterion: {k: c.get(k) for k in keys}
                          for criterion, c in comp.get("criteria", {}).items()}
                   for seed, comp in per_seed}
            for name, per_seed in comps.items()}


def pooled_metrics(view: RunView) -> dict[str, Any] | None:
    """The metrics entry of the pooled comparisons (None with fewer than two seeds)."""
    comps = comparisons(view)
    if not any(len(per_seed) > 1 for per_seed in comps.values()):
        return None
    level = float(next(iter(comps.values()))[0][1].get("config", {}).get("level", 0.95))
    return pooled(comps, level)


def _seed(result: Any, index: int) -> str:
    """The seed's label: ``seed_<k>`` (``#<i>``: the i-th result when its seed is unknown)."""
    return f"seed_{result.seed}" if result.seed is not None else f"#{index}"


def _interval(c: Mapping[str, Any]) -> str:
    diff, low, high = (c.get(k) for k in ("difference", "low", "high"))
    if not all(finite(v) for v in (diff, low, high)):
        return "n/a"
    return f"{100 * diff:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"
