"""Verdicts on the paper's claims (METHOD.md, "What the paper states") from this run's numbers.

Each verdict is one of :data:`VERDICTS` and reads the paired interval of the difference
(:mod:`limeguard.reporting.paired`): a gain is supported only when its interval's lower end is
above ``min_gain`` points, refuted when its upper end is below it, and undecided when the interval
holds ``min_gain`` (the difference is inside the noise).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from limeguard.reporting.numbers import finite
from limeguard.reporting.paired import Comparison, compare
from limeguard.reporting.tables import pct
from limeguard.reporting.view import RunView

SUPPORTED, NOT_SUPPORTED, MIXED, UNDECIDED, NOT_TESTED = (
    "supported", "not supported", "mixed", "undecided (within noise)",
    "not tested in this run")  # fmt: skip
VERDICTS = (SUPPORTED, NOT_SUPPORTED, MIXED, UNDECIDED, NOT_TESTED)
ARBITERS = ("autoattack", "worst_case", "pgd")


@dataclass(frozen=True)
class Claim:
    """One claim of the paper and what this run says about it."""

    key: str
    statement: str
    verdict: str
    evidence: str
    numbers: dict[str, Any] = field(default_factory=dict)
    reason: str = ""


def gain(view: RunView, candidate: str, reference: str, key: str) -> Comparison:
    """The paired difference ``candidate - reference`` on ``key`` (points, with its interval)."""
    return compare(view, candidate, reference, key)


def gain_verdict(view: RunView, g: Comparison) -> str:
    """SUPPORTED when the interval's lower end is above ``min_gain``, NOT_SUPPORTED when its
    upper end is below it, else UNDECIDED (NOT_TESTED when unmeasured)."""
    if not g.measured:
        return NOT_TESTED
    if g.low > view.cfg.min_gain:
        return SUPPORTED
    return NOT_SUPPORTED if g.high < view.cfg.min_gain else UNDECIDED


def arbiter(view: RunView, names: list[str]) -> str:
    """The headline robustness measure all ``names`` have: AutoAttack, else worst case, else PGD."""
    for key in ARBITERS:
        if all(finite(view.stat(n, key).mean) for n in names):
            return key
    return ARBITERS[-1]


def best_round(view: RunView) -> tuple[str | None, str]:
    """The round the claims are about, and the arbiter: the last round, the model the pipeline
    delivers (choosing the best round on the test images would bias its comparison upwards)."""
    names = [view.cfg.adversarial, *view.rounds]
    return (view.rounds[-1] if view.rounds else None), arbiter(view, names)


def measure_name(view: RunView, key: str) -> str:
    """The measure's name in prose, naming the AutoAttack variant."""
    if key == "autoattack":
        return f"AutoAttack ({view.autoattack_label})"
    names = {"worst_case": "worst case", "pgd": "PGD", "cifar10c_mean": "CIFAR-10-C mean"}
    return names.get(key, key)


def _vs(view: RunView, cand: str, ref: str, key: str) -> str:
    return f"{ref} {pct(view.stat(ref, key).mean)}% ({gain(view, cand, ref, key).interval_text()})"


def comparison(view: RunView, cand: str, key: str) -> str:
    """``cand`` on ``key`` against the adversarial baseline and (when it ran) the control."""
    refs = [r for r in (view.cfg.adversarial, view.cfg.control) if view.has(r)]
    against = " and ".join(_vs(view, cand, r, key) for r in refs)
    return f"{measure_name(view, key)}: {cand} {pct(view.stat(cand, key).mean)}% vs {against}"


def beats_references(view: RunView, cand: str, key: str) -> tuple[str, str]:
    """Verdict and reason for ``cand`` beating the adversarial baseline and the control."""
    adv, ctl = view.cfg.adversarial, view.cfg.control
    floor = f"{view.cfg.min_gain:g} points"
    vs_adv = gain_verdict(view, gain(view, cand, adv, key))
    if vs_adv == NOT_SUPPORTED:
        return NOT_SUPPORTED, (f"{cand} does not beat the adversarial baseline: the interval's "
                               f"upper end is below the minimum gain of {floor}")
    if vs_adv != SUPPORTED:
        return UNDECIDED, (f"the difference between {cand} and the adversarial baseline is "
                           f"within noise: the interval holds the minimum gain of {floor}")
    if not view.has(ctl):
        return MIXED, (f"{cand} beats the adversarial baseline, but no matched control ran, so "
                       "the gain may come from the extra epochs alone")  # fmt: skip
    vs_ctl = gain_verdict(view, gain(view, cand, ctl, key))
    if vs_ctl == NOT_SUPPORTED:
        return NOT_SUPPORTED, (f"{cand} beats the adversarial baseline but not the matched "
                               "control: the gain is explained by the extra epochs, not by "
                               "refinement")  # fmt: skip
    if vs_ctl != SUPPORTED:
        return UNDECIDED, (f"{cand} beats the adversarial baseline, but its difference from the "
                           f"matched control is within noise (the interval holds {floor})")
    return SUPPORTED, f"{cand} beats both the adversarial baseline and the matched control"


def _numbers(view: RunView, cand: str, key: str) -> dict[str, Any]:
    out: dict[str, Any] = {"model": cand, "measure": key, "value": view.stat(cand, key).mean}
    for ref in (view.cfg.adversarial, view.cfg.control):
        if view.has(ref):
            out[ref] = view.stat(ref, key).mean
            out[f"vs_{ref}"] = interval_numbers(gain(view, cand, ref, key))
    return out


def interval_numbers(g: Comparison) -> dict[str, Any]:
    """The metrics entry of one comparison (points)."""
    r = g.result
    if r is None:
        return {"measured": False}
    return {"diff_points": g.diff, "low_points": g.low, "high_points": g.high,
            "half_width_points": 100 * r.half_width, "level": r.level, "n_seeds": r.n_seeds,
            "n_images": r.n_images, "over": r.over, "wins": r.wins, "losses": r.losses,
            "mcnemar_p": r.mcnemar_p}


def claim_robustness(view: RunView) -> Claim:
    """(a) Refinement improves adversarial robustness over standard adversarial training."""
    statement = "Refinement improves adversarial robustness over standard adversarial training."
    best, key = best_round(view)
    if best is None:
        return Claim("a", statement, NOT_TESTED, "No refinement rounds ran (baselines only).")
    verdict, why = beats_references(view, best, key)
    second = next((k for k in ("worst_case", "pgd") if k != key
                   and finite(view.stat(best, k).mean)), None)  # fmt: skip
    lines = [f"Last round {best} at ε={view.cfg.headline_eps_255:g}/255",
             comparison(view, best, key)]
    if second:
        lines.append(comparison(view, best, second))
        refs = [r for r in (view.cfg.adversarial, view.cfg.control) if view.has(r)]
        if verdict == SUPPORTED and not all(
                gain_verdict(view, gain(view, best, r, second)) == SUPPORTED for r in refs):
            verdict, why = MIXED, f"{why} on {measure_name(view, key)}, but the " \
                                  f"{measure_name(view, second)} gain is not"
    numbers = {**_numbers(view, best, key), "secondary": _numbers(view, best, second)
               if second else None}  # fmt: skip
    return Claim("a", statement, verdict, "; ".join([*lines, why]) + ".", numbers, why + ".")


def claim_ood(view: RunView) -> Claim:
    """(b) Better out-of-distribution (CIFAR-10-C) accuracy."""
    statement = "Refinement gives better out-of-distribution (CIFAR-10-C) accuracy."
    best, _ = best_round(view)
    if best is None:
        return Claim("b", statement, NOT_TESTED, "No refinement rounds ran (baselines only).")
    key = "cifar10c_mean"
    adv = view.stat(view.cfg.adversarial, key).mean
    if not (finite(view.stat(best, key).mean) and finite(adv)):
        return Claim("b", statement, NOT_TESTED, "CIFAR-10-C was not evaluated on these models.")
    verdict, why = beats_references(view, best, key)
    std = view.cfg.standard
    extra = f"; standard model {pct(view.stat(std, key).mean)}%" if view.has(std) else ""
    evidence = f"{comparison(view, best, key)}{extra}; {why}."
    return Claim("b", statement, verdict, evidence, _numbers(view, best, key))


def claim_clean_cost(view: RunView) -> Claim:
    """(c) The robustness comes at a modest cost in clean accuracy."""
    statement = "The cost in clean accuracy is modest."
    best, _ = best_round(view)
    if best is None:
        return Claim("c", statement, NOT_TESTED, "No refinement rounds ran (baselines only).")
    tol = view.cfg.clean_cost_tolerance
    g = gain(view, best, view.cfg.adversarial, "clean")
    if not g.measured:
        return Claim("c", statement, NOT_TESTED, "Clean accuracy was not measured.")
    cost, worst, least = -g.diff, -g.low, -g.high  # the cost and its interval's ends
    verdict = SUPPORTED if worst <= tol else NOT_SUPPORTED if least > tol else UNDECIDED
    others = [f"{r} {pct(view.stat(r, 'clean').mean)}%" for r in
              (view.cfg.control, view.cfg.standard) if view.has(r)]  # fmt: skip
    evidence = (f"Clean accuracy {best} {pct(view.stat(best, 'clean').mean)}% vs adversarial "
                f"{pct(view.stat(view.cfg.adversarial, 'clean').mean)}%: cost {cost:.1f} points, "
                f"interval {least:+.1f} to {worst:+.1f} (modest: at most {tol:g} points over the "
                "whole interval)" + (f"; {', '.join(others)}" if others else "") + ".")
    return Claim("c", statement, verdict, evidence,
                 {"model": best, "cost_points": cost, "cost_interval_points": [least, worst],
                  "tolerance_points": tol})


def _combine(parts: list[bool]) -> str:
    if not parts:
        return NOT_TESTED
    return SUPPORTED if all(parts) else NOT_SUPPORTED if not any(parts) else MIXED


def claim_spurious(view: RunView) -> Claim:
    """(d) Spurious features carry the vulnerability; refinement reduces their share."""
    statement = ("Features LIME flags as spurious account for a disproportionate share of "
                 "vulnerability, and refinement reduces the share of spurious features.")
    adv = view.spurious_start
    parts, lines, numbers = [], [], {}
    b = view.bounds.get(adv, {})
    l_s, l_r, mask = b.get("mean_L_S"), b.get("mean_L_R"), b.get("mean_mask_share_S")
    if all(finite(v) for v in (l_s, l_r, mask)) and l_s + l_r > 0:
        grad_share = l_s / (l_s + l_r)
        parts.append(grad_share > mask)
        numbers.update(gradient_share_S=grad_share, pixel_share_S=mask)
        lines.append(f"on {adv}, S holds {pct(grad_share)}% of the margin-gradient mass "
                     f"(L_S / (L_S + L_R)) on {pct(mask)}% of the pixels")
    start, last = view.stat(adv, "spurious_share").mean, None
    if view.rounds:
        last = view.rounds[-1]
        end = view.stat(last, "spurious_share").mean
        if finite(start) and finite(end):
            drop = 100 * (start - end)
            parts.append(drop >= view.cfg.min_share_drop)
            numbers.update(share_start=start, share_end=end, drop_points=drop)
            lines.append(f"superpixels flagged spurious: {adv} {pct(start)}% -> {last} "
                         f"{pct(end)}% (drop {drop:.1f} points, counts from "
                         f"{view.cfg.min_share_drop:g}; if the criteria thresholds are "
                         "re-estimated per model as probe-set quantiles, this share is "
                         "near-constant by construction)")  # fmt: skip
    if not parts:
        why = "no mining summary across rounds and no bound on the adversarial baseline"
        return Claim("d", statement, NOT_TESTED, why[0].upper() + why[1:] + ".")
    evidence = "; ".join(lines)
    return Claim("d", statement, _combine(parts), evidence[0].upper() + evidence[1:] + ".", numbers)


def claim_bound(view: RunView) -> Claim:
    """(e) The bound links explanation alignment to robustness."""
    statement = ("The attribution-aware bound links explanation alignment to robustness "
                 "(bound correlates with empirical distortion; attribution share on S falls).")
    adv = view.spurious_start
    names = [adv if n == view.cfg.adversarial else n for n in view.models]
    rho = {n: view.bounds[n]["spearman_bound_vs_empirical"] for n in names
           if finite(view.bounds[n]["spearman_bound_vs_empirical"])}  # fmt: skip
    if not rho:
        return Claim("e", statement, NOT_TESTED, "The bound was not estimated in this run.")
    positive = [n for n, r in rho.items() if r >= view.cfg.min_correlation]
    parts = [len(positive) > len(rho) / 2]
    lines = ["Spearman(bound, empirical ε): " + ", ".join(f"{n} {r:.2f}" for n, r in rho.items())
             + f" (positive from {view.cfg.min_correlation:g}; {len(positive)}/{len(rho)} models)"]
    numbers: dict[str, Any] = {"spearman": rho}
    start = view.bounds.get(adv, {}).get("mean_attribution_share_S")
    if view.rounds and finite(start):
        last = view.rounds[-1]
        end = view.bounds.get(last, {}).get("mean_attribution_share_S")
        if finite(end):
            drop = 100 * (start - end)
            parts.append(drop >= view.cfg.min_share_drop)
            numbers.update(attribution_share_start=start, attribution_share_end=end)
            lines.append(f"attribution share on S: {adv} {pct(start)}% -> {last} {pct(end)}% "
                         f"(drop {drop:.1f} points)")
    lines.append("the bound is ESTIMATED (Lipschitz constants sampled in the ε-ball), "
                 "not certified")
    return Claim("e", statement, _combine(parts), "; ".join(lines) + ".", numbers)


def claim_cifar100(view: RunView, robustness: Claim) -> Claim:
    """(f) The results carry over to CIFAR-100."""
    statement = "The results hold on CIFAR-100."
    classes = len(view.manifest.get("classes") or [])
    if classes != 100:
        return Claim("f", statement, NOT_TESTED,
                     f"This run used {view.caption} ({classes or 'unknown'} classes); "
                     "CIFAR-100 needs its own run of the same pipeline.")
    return Claim("f", statement, robustness.verdict,
                 f"This run is on CIFAR-100; see claim (a): {robustness.evidence}")


def all_claims(view: RunView) -> list[Claim]:
    """Claims (a) to (f), in order."""
    robustness = claim_robustness(view)
    return [robustness, claim_ood(view), claim_clean_cost(view), claim_spurious(view),
            claim_bound(view), claim_cifar100(view, robustness)]


def suspect_results(view: RunView) -> list[str]:
    """Models whose AutoAttack accuracy exceeds the published ResNet-18 state of the art (CIFAR-10
    at 8/255 only: other data and radii have no such reference here)."""
    if not view.has_reference:
        return []
    limit = view.cfg.suspect_autoattack
    return [f"{name}: AutoAttack {pct(view.stat(name, 'autoattack').mean)}% > {limit:g}% at "
            f"ε={view.cfg.headline_eps_255:g}/255, above the best published ResNet-18 without "
            "extra data (52.5%): suspect until checked for gradient masking"
            for name in view.models if finite(view.stat(name, "autoattack").mean)
            and 100 * view.stat(name, "autoattack").mean > limit]  # fmt: skip
