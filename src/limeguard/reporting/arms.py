"""The report per arm: every claim's verdict for each arm's last round against the matched
control and the AT baseline (robustness, CIFAR-10-C, clean cost, spurious share, bound), and the
headline, which arm, if any, beats the control.

Every arm is judged with the same rules as the main claims (:mod:`limeguard.reporting.claims`), on
a view whose rounds are that arm's; the paired intervals pair the same test images and seeds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from limeguard.reporting import planted
from limeguard.reporting.claims import (
    Claim,
    all_claims,
    arbiter,
    gain,
    interval_numbers,
    measure_name,
)
from limeguard.reporting.paired import Comparison
from limeguard.reporting.view import RunView

TABLE_CLAIMS = {"a": "(a) robustness", "b": "(b) CIFAR-10-C", "c": "(c) clean cost",
                "d": "(d) spurious share", "e": "(e) bound"}


@dataclass(frozen=True)
class ArmResult:
    """One arm: its last round, its claims (a) to (f) and its standing against the control on
    the run's robustness measure (``standing``: beats, within noise, does not beat, loses to)."""

    arm: str
    model: str
    claims: tuple[Claim, ...]
    vs_control: Comparison | None
    vs_adversarial: Comparison
    standing: str
    planted: str | None = None  # the planted-cue variant: whether the arm reduced the cue's gap


def arm_results(view: RunView) -> list[ArmResult]:
    """Every named arm with rounds, in the run's order (none when no round ran or the rounds
    carry no arm's name: the main sections are then the whole answer)."""
    if not view.arms or list(view.arms) == [""]:
        return []
    key = headline_measure(view)
    out = []
    for arm, rounds in view.arms.items():
        start = f"{arm}.{view.cfg.adversarial}"
        arm_view = dataclasses.replace(view, rounds=rounds,
                                       arm_start=start if start in view.stats else "")
        last, ctl = rounds[-1], view.cfg.control
        vs_control = gain(view, last, ctl, key) if view.has(ctl) else None
        cue = planted.verdict(arm_view) if planted.reliance(view) else None
        out.append(ArmResult(arm, last, tuple(all_claims(arm_view)),
                             vs_control, gain(view, last, view.cfg.adversarial, key),
                             standing(view, vs_control), cue))
    return out


def headline_measure(view: RunView) -> str:
    """The robustness measure every arm's last round, the control and the baseline have."""
    names = [view.cfg.adversarial, *(r[-1] for r in view.arms.values())]
    return arbiter(view, names + ([view.cfg.control] if view.has(view.cfg.control) else []))


def standing(view: RunView, g: Comparison | None) -> str:
    """How a last round stands against the control: its interval above the minimum gain
    (beats), below zero (loses to), below the minimum gain (does not beat), else within noise."""
    if g is None or not g.measured:
        return "not compared with"
    if g.low > view.cfg.min_gain:
        return "beats"
    if g.high < 0:
        return "loses to"
    return "does not beat" if g.high < view.cfg.min_gain else "is within noise of"


def headline(view: RunView, results: list[ArmResult]) -> str:
    """One paragraph: each arm against the matched control, and which arm, if any, beats it."""
    if not results:
        return ""
    if not view.has(view.cfg.control):
        return "**No matched control ran, so no arm can be said to beat it.**"
    key = headline_measure(view)
    winners = [r.arm for r in results if r.standing == "beats"]
    answer = (f"**Arms that beat the matched control: {', '.join(winners)}.**" if winners else
              "**No arm beats the matched control.**")
    lines = [f"{r.arm} ({r.model}) {r.standing} the control: {r.vs_control.interval_text()}"
             for r in results]
    return (f"{answer} On {measure_name(view, key)} at ε={view.cfg.headline_eps_255:g}/255, "
            f"each arm's last round against the control: {'; '.join(lines)}.")


def section(view: RunView, results: list[ArmResult]) -> str:
    """``## Arms``: the headline, then per arm its claims with their evidence."""
    if not results:
        return ""
    lines = ["## Arms", "", headline(view, results), "",
             "| arm | last round | vs control | vs adversarial baseline | "
             + " | ".join(TABLE_CLAIMS.values()) + " |", "|---" * (4 + len(TABLE_CLAIMS)) + "|"]
    for r in results:
        control = r.vs_control.interval_text() if r.vs_control is not None else "no control"
        verdicts = " | ".join(c.verdict for c in r.claims if c.key in TABLE_CLAIMS)
        lines.append(f"| {r.arm} | {r.model} | {control} | {r.vs_adversarial.interval_text()} | "
                     f"{verdicts} |")
    for r in results:
        lines += ["", f"### Arm {r.arm}", ""]
        lines += [f"- **({c.key}) {c.statement}** Verdict: **{c.verdict}**. {c.evidence}"
                  for c in r.claims]
        lines += [f"- **Planted cue:** {r.planted}"] if r.planted else []
    return "\n".join(lines)


def metrics(view: RunView, results: list[ArmResult]) -> dict[str, Any]:
    """``arms`` of metrics.json: per arm its last round, standing and claims."""
    return {r.arm: {
        "refined_model": r.model, "standing_vs_control": r.standing,
        "beats_control": r.standing == "beats", "measure": headline_measure(view),
        "vs_control": interval_numbers(r.vs_control) if r.vs_control else {"measured": False},
        "vs_adversarial": interval_numbers(r.vs_adversarial),
        "claims": {c.key: {"verdict": c.verdict, "evidence": c.evidence, "numbers": c.numbers}
                   for c in r.claims},
        **({"planted_cue": r.planted} if r.planted else {}),
    } for r in results}
