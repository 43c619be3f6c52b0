"""The planted-cue section: does mining find the cue, and does refinement reduce reliance on it?

Only runs of the planted-spurious-feature variant (``data.spurious``) carry these numbers; the
section and the metrics entry are left out otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from scipy.stats import norm

from limeguard.reporting.numbers import finite
from limeguard.reporting.paired import compare
from limeguard.reporting.tables import md_table, num, pct
from limeguard.reporting.view import RunView

CRITERIA = ("irrelevant", "sensitive", "unstable", "transplant", "spurious")


def reliance(view: RunView) -> dict[str, Mapping[str, Any]]:
    """Model -> its cue reliance (first seed), for the models that have one, in the order
    standard, adversarial, control, round_1 .. round_T."""
    return {name: view.models[name][0].cue_reliance for name in view.ordered
            if view.models[name][0].cue_reliance is not None}


def uncued_robustness(view: RunView) -> dict[str, Mapping[str, Any]]:
    """Model -> clean and AutoAttack accuracy on the uncued test images (first seed), in the
    order of :func:`reliance`."""
    return {name: view.models[name][0].uncued_robustness for name in view.ordered
            if view.models[name][0].uncued_robustness is not None}


def recovery(view: RunView) -> dict[str, Mapping[str, Any]]:
    """Mined model -> mining precision / recall of the cue (first seed)."""
    return {name: runs[0].cue_recovery for name, runs in view.models.items()
            if runs[0].cue_recovery is not None}


def gap_change(view: RunView, candidate: str, reference: str) -> tuple[float, float, float]:
    """(candidate gap - reference gap, and its interval's low and high ends), in points; NaN when
    unmeasured.

    Paired over the same test images (and seeds) from the per-image cue outcomes; without them the
    normal interval of two independent gaps (each the difference of two accuracies on n images).
    """
    paired = compare(view, candidate, reference, "gap")
    if paired.paired:
        return paired.diff, paired.low, paired.high
    rel = reliance(view)
    if candidate not in rel or reference not in rel:
        return float("nan"), float("nan"), float("nan")
    z = float(norm.ppf(1 - (1 - view.cfg.interval_level) / 2))
    half = z * 100 * math.sqrt(sum(_gap_variance(rel[name]) for name in (candidate, reference)))
    change = 100 * (rel[candidate]["gap"] - rel[reference]["gap"])
    return change, change - half, change + half


def verdict(view: RunView) -> str:
    """One sentence: whether the last round reduced the gap against the AT baseline and the control.

    A smaller gap counts as reduced reliance only when swapped accuracy rose by at least as much as
    aligned accuracy fell; a gap closed mostly by losing aligned accuracy (e.g. a model collapsed
    to chance) is said to be that.
    """
    if not view.rounds:
        return "No refinement round ran, so this run cannot say whether refinement reduces the gap."
    last = view.rounds[-1]
    parts = [_comparison(view, last, reference)
             for reference in (view.cfg.adversarial, view.cfg.control)]
    return f"Refinement (`{last}`): " + "; ".join(parts) + "."


def _comparison(view: RunView, candidate: str, reference: str) -> str:
    change, low, high = gap_change(view, candidate, reference)
    if not finite(change):
        return f"against `{reference}`: not measured"
    numbers = (f"{change:+.1f} points, {100 * view.cfg.interval_level:g}% interval "
               f"[{low:+.1f}, {high:+.1f}]")
    floor = view.cfg.min_gain
    if low > floor:
        return f"against `{reference}` it increased the gap ({numbers})"
    if high >= -floor:
        return (f"against `{reference}` it did not reduce the gap beyond noise ({numbers}: the "
                f"interval reaches above -{floor:g} points)")
    rel = reliance(view)
    a, b = rel[candidate], rel[reference]
    swapped_gain = 100 * (a["swapped_accuracy"] - b["swapped_accuracy"])
    aligned_loss = 100 * (b["aligned_accuracy"] - a["aligned_accuracy"])
    accuracies = (f"aligned {pct(b['aligned_accuracy'])}% -> {pct(a['aligned_accuracy'])}%, "
                  f"swapped {pct(b['swapped_accuracy'])}% -> {pct(a['swapped_accuracy'])}%")
    if swapped_gain >= aligned_loss:
        return f"against `{reference}` it reduced the gap ({numbers}; {accuracies})"
    return (f"against `{reference}` the gap closed mostly because aligned accuracy fell "
            f"({numbers}; {accuracies}): the cue was lost more than the object's features were "
            "learnt, so this is not a reduction that counts")


def section(view: RunView) -> str:
    """The Markdown section, or "" when the run is not the planted-cue variant."""
    rel, rec = reliance(view), recovery(view)
    if not rel and not rec:
        return ""
    lines = ["## Planted spurious cue", "",
             "A class-specific patch (a flat colour or a fixed texture) was planted in a share of "
             "each class's images "
             "(`data.spurious`). *Aligned*: the cue of the image's class; *swapped*: on the same "
             "images, the cue of another class. The gap (aligned - swapped accuracy) measures the "
             "model's reliance on the cue. Data: " + view.caption + "."]
    if rel:
        lines += ["", _reliance_table(rel, uncued_robustness(view)), "", verdict(view)]
    if rec:
        lines += ["", _mining_table(rec)]
    applied = {name: r["training_images"] for name, r in rec.items() if "training_images" in r}
    if applied:
        lines += ["", _applied_table(applied)]
    return "\n".join(lines)


def _applied_table(applied: Mapping[str, Mapping[str, Any]]) -> str:
    """Per mined model: the masks the next round gives every training image (probed: mined;
    others: searched, ``mine.transfer``, or their class's aggregate) against the planted pixels."""
    rows = [[name, f"{pct(r['precision'])} / {pct(r['recall'])}", pct(r["images_masked_cued"]),
             pct(r["images_masked_uncued"]), pct(r["pixel_share"])]
            for name, r in applied.items()]
    first = next(iter(applied.values()))
    return "\n".join([
        f"The masks each mined model hands to the next round, on all {first['n_images']} training "
        f"images ({first['n_cued_images']} with a cue): precision / recall in % against each "
        "image's own cue pixels, the share of images with any mask (with and without a cue) and "
        "of pixels masked. Probed images keep their mined mask; the others get what "
        "`mine.transfer` finds on them (`search`) or their class's aggregate (`class`).", "",
        md_table(["mined model", "precision / recall", "images masked, cued (%)",
                  "images masked, uncued (%)", "pixels masked (%)"], rows)])


def _reliance_table(rel: Mapping[str, Mapping[str, Any]],
                    uncued: Mapping[str, Mapping[str, Any]]) -> str:
    """Accuracies in %: aligned, swapped, their gap, swapped on cued images, uncued (every test
    image without a cue) and AutoAttack on the first uncued test images."""
    rows = [[name, r["n_images"], pct(r["aligned_accuracy"]), pct(r["swapped_accuracy"]),
             _points(r["gap"]), pct(r.get("cued_swapped_accuracy")), pct(r.get("uncued_accuracy")),
             pct(uncued.get(name, {}).get("autoattack_accuracy"))]
            for name, r in rel.items()]
    table = md_table(["model", "n images", "aligned", "swapped", "gap (points)",
                      "swapped, cued images only", "uncued", "AutoAttack, uncued"], rows)
    runs = {(u.get("attack"), u.get("eps_255"), u.get("n_images")) for u in uncued.values()}
    if not runs:
        return table
    attack = "; ".join(f"`{a}` at ε = {num(e)}/255 on the first {n} uncued test images"
                       for a, e, n in sorted(runs, key=str))
    return (table + "\n\n*Uncued*: accuracy on the test images with no cue at all; "
            f"*AutoAttack, uncued*: {attack} (the cue inflates robust accuracy where it is present).")


def _mining_table(rec: Mapping[str, Mapping[str, Any]]) -> str:
    """Per mined model and criterion: precision / recall against the planted pixels, and the
    share of pixels flagged on the cued and on the uncued probe images, with degenerate notes."""
    rows = []
    for name, r in rec.items():
        crit, notes = r["criteria"], r.get("notes", {})
        for c in (c for c in CRITERIA if c in crit):
            m = crit[c]
            rows.append([name, c, f"{pct(m['precision'])} / {pct(m['recall'])}",
                         pct(m.get("flagged_share_cued")), pct(m.get("flagged_share_uncued")),
                         notes.get(c, "")])
    first = next(iter(rec.values()))
    return "\n".join([
        "Mining against the planted pixels: precision / recall in % (pixels pooled over the "
        f"{first['n_images']} mined images, {first['n_cued_images']} with a cue; chance "
        f"precision {num(first['chance_precision'], 3)}, the cue's share of all mined pixels), "
        "and the share of pixels flagged on the probe images with and without a cue. "
        "*spurious* is the set refinement uses (`mine.mining.criteria.spurious`).", "",
        md_table(["mined model", "criterion", "precision / recall", "flagged, cued (%)",
                  "flagged, uncued (%)", "note"], rows)])


def metrics(view: RunView) -> dict[str, Any] | None:
    """The metrics entry (None when the run is not the planted-cue variant)."""
    rel, rec = reliance(view), recovery(view)
    if not rel and not rec:
        return None
    out: dict[str, Any] = {"reliance": rel, "uncued_robustness": uncued_robustness(view),
                           "mining": rec, "verdict": verdict(view)}
    if view.rounds:
        last = view.rounds[-1]
        out["gap_change"] = {ref: dict(zip(("points", "low_points", "high_points"),
                                           gap_change(view, last, ref), strict=True))
                             for ref in (view.cfg.adversarial, view.cfg.control)}
    return out


def _gap_variance(r: Mapping[str, Any]) -> float:
    n = max(int(r.get("n_images", 0)), 1)
    return sum(p * (1 - p) / n for p in (r["aligned_accuracy"], r["swapped_accuracy"]) if finite(p))


def _points(fraction: Any) -> str:
    return f"{100 * float(fraction):+.1f}" if finite(fraction) else "n/a"
