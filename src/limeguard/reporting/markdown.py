"""The report's Markdown, one function per section."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from limeguard.reporting import arms, observation, paired, planted, tables
from limeguard.reporting.claims import (
    MIXED,
    NOT_SUPPORTED,
    NOT_TESTED,
    SUPPORTED,
    UNDECIDED,
    Claim,
    best_round,
    comparison,
    measure_name,
    suspect_results,
)
from limeguard.reporting.inputs import ModelResults
from limeguard.reporting.numbers import finite
from limeguard.reporting.tables import pct_stat
from limeguard.reporting.view import RunView, collapsed_rounds

ANSWERS = {SUPPORTED: "Yes", NOT_SUPPORTED: "No", MIXED: "Partly",
           UNDECIDED: "Undecided: the difference is within noise", NOT_TESTED: "Not tested"}
AA_VARIANTS = {
    "autoattack": "standard AutoAttack (APGD-CE, APGD-T, FAB-T, Square), the published arbiter",
    "autoattack_fast": "the cheaper AutoAttack variant for CPU runs (by default APGD-CE + APGD-T, "
                       "fewer iterations), not the standard version: an upper bound on what "
                       "standard AutoAttack would report",
}  # fmt: skip
REFERENCE = ("The METHOD.md reference numbers for CIFAR-10 at 8/255 (ResNet-18-class models, full "
             "training set, GPU budgets): PGD-AT 83.9 clean / 53.3 PGD-10 / 48.4 AutoAttack; "
             "FGSM-RS 83.3 / 46.1 / 43.2; standard training 95.3 / 0.0 / 0.0.")  # fmt: skip


def figure_link(view: RunView, name: str, caption: str) -> str:
    """A Markdown image link to ``<figure_dir>/<name>.png``."""
    return f"![{caption}]({view.cfg.figure_dir}/{name}.png)"


def caption(view: RunView, what: str) -> str:
    """An accuracy table's caption; always names the data set."""
    return f"*{what}. Data: {view.caption}; accuracies in %.*"


def section_title(view: RunView) -> str:
    """Title and the data set, with the JPEG-mirror warning when it applies."""
    counts = view.manifest.get("counts") or {}
    split = ", ".join(f"{k} {v}" for k, v in counts.items()) or "n/a"
    lines = [f"# {view.cfg.title}", "", f"Data: **{view.caption}** (source "
             f"`{view.manifest.get('source')}`; images per split: {split})."]  # fmt: skip
    if view.mirror:
        lines += ["", "> **Note:** the pixels come from the CIFAR-10 (JPEG q75 mirror). JPEG "
                  "compression changes the images, so these numbers are not comparable "
                  "digit-for-digit with published CIFAR-10 results."]  # fmt: skip
    return "\n".join(lines)


def section_verdict(view: RunView, claims: Sequence[Claim]) -> str:
    """The one-paragraph answer, with numbers, warnings and the AutoAttack variant."""
    question = "Does attribution-guided refinement beat standard adversarial training in this run?"
    best, key = best_round(view)
    answer = ANSWERS[claims[0].verdict]
    parts = [f"**{question} {answer}** (claim (a): {claims[0].verdict})."]
    if best is None:
        adv = view.cfg.adversarial
        parts.append("No refinement rounds ran: baselines only. The adversarial baseline "
                     f"reaches {pct_stat(view.stat(adv, 'clean'))}% clean, "
                     f"{pct_stat(view.stat(adv, 'pgd'))}% PGD and "
                     f"{pct_stat(view.stat(adv, 'autoattack'))}% AutoAttack at "
                     f"ε={view.cfg.headline_eps_255:g}/255.")  # fmt: skip
    else:
        parts.append(f"The refined model is the last round, {best}; robustness is judged by "
                     f"{measure_name(view, key)} at ε={view.cfg.headline_eps_255:g}/255. "
                     "Differences are paired (same images and seeds) with "
                     f"{100 * view.cfg.interval_level:g}% bootstrap intervals.")
        parts += [comparison(view, best, k) + "." for k in ("autoattack", "pgd", "worst_case")
                  if finite(view.stat(best, k).mean)]  # fmt: skip
        parts.append(f"In short: {claims[0].reason}")
        if len(view.arms) > 1:
            parts.append(f"This is the first arm's answer ({best.split('.')[0]}); the Arms "
                         "section below answers for every arm.")
    variants = sorted({v for v in view.variants.values() if v})
    parts.append("AutoAttack: " + ("; ".join(f"`{v}` = {AA_VARIANTS.get(v, v)}" for v in variants)
                                   or "not run") + ".")  # fmt: skip
    parts += [f"**`{label}` on this data:** {plan.note()}."
              for label, plan in view.applicability.autoattack.items() if label in variants]
    n = sorted(set(view.n_images.values()))
    seeds = sorted({len(r) for r in view.models.values()})
    parts.append(f"Test images per model: {', '.join(map(str, n))} (per attack in the table "
                 f"below); seeds per model: {', '.join(map(str, seeds))}"
                 + (" (one seed: the intervals cover the choice of test images, not the "
                    "variation between training runs)" if seeds == [1] else "") + ".")
    violations = tables.masking_violations(view)
    if violations:
        parts.append(f"**Warning: {len(violations)} gradient-masking check(s) failed** "
                     "(see the gradient-masking section); robust numbers of those models are "
                     "not trustworthy.")
    parts += [f"**Suspect:** {s}." for s in suspect_results(view)]
    parts += [f"**Warning: {note}.**" for note in collapsed_rounds(view)]
    return "## Verdict\n\n" + " ".join(parts)


def section_models(view: RunView, figures: Mapping[str, Any]) -> str:
    """Accuracy per model at the headline ε, CIFAR-10-C mean, and the training curves."""
    eps = f"{view.cfg.headline_eps_255:g}/255"
    lines = ["## Accuracy per model", "",
             caption(view, f"Clean accuracy, robust accuracy under each attack at ε={eps} and "
                     "the per-image worst case over all attacks, CIFAR-10-C mean accuracy; "
                     "mean ± std over seeds where several ran, n images per model as stated"),
             "", tables.headline_table(view)]  # fmt: skip
    if "training_curves" in figures:
        lines += ["", figure_link(view, "training_curves", "training curves")]
    return "\n".join(lines)


def section_eps(view: RunView) -> str:
    """Robust accuracy against ε: figure, the sweep table and the small-ε grid table."""
    sweep, small = tables.eps_tables(view)
    lines = ["## Robust accuracy vs ε", "",
             figure_link(view, "robust_accuracy_vs_eps", "robust accuracy vs eps"), "",
             caption(view, "PGD and worst-case accuracy per ε (pixel units, /255); away from "
                     "the headline ε the worst case covers only the attacks swept there"),
             "", sweep]  # fmt: skip
    if small:
        lines += ["", caption(view, "Small-ε grid in raw L∞ units ([0, 1] pixel scale; "
                                    "0.01 = 2.55/255)"), "", small]  # fmt: skip
    return "\n".join(lines)


def section_progress(view: RunView) -> str:
    """Per-round table and figure, the criteria shares, and every model's notes."""
    lines = ["## Progress per round", ""]
    if not view.rounds:
        lines.append("No refinement rounds ran: baselines only (T = 0).")
    else:
        eps = f"{view.cfg.headline_eps_255:g}/255"
        lines += [figure_link(view, "round_progress", "progress per round"), "",
                  caption(view, f"Accuracy at ε={eps} per round (round 0 is the adversarial "
                          "baseline the rounds start from) and the share of superpixels LIME "
                          "mining flags as spurious"), "", tables.progress_table(view)]  # fmt: skip
    criteria = tables.criteria_table(view)
    if criteria:
        lines += ["", "*Share of superpixels flagged per criterion (all probed images).*", "",
                  criteria]
    notes = [f"- {name}: {note}" for name, runs in view.models.items()
             for note in model_notes(runs)]  # fmt: skip
    notes += [f"- **{note}**" for note in collapsed_rounds(view)]
    if notes:
        lines += ["", "Notes:", "", *notes]
    return "\n".join(lines)


def model_notes(runs: Sequence[ModelResults]) -> list[str]:
    """Each distinct note of a model's runs once; a note that only some seeds share names them."""
    seeds: dict[str, list] = {}
    for run in runs:
        for note in run.notes:
            seeds.setdefault(note, []).append(run.seed)
    return [note if len(found) == len(runs) else
            f"{note} (seed{'s' if len(found) > 1 else ''} {', '.join(map(str, found))})"
            for note, found in seeds.items()]


def section_overlays(view: RunView, extra: Sequence[str] | Mapping[str, str]) -> str:
    """Links to the LIME overlay figures provided by the caller."""
    lines = ["## LIME overlays before and after refinement", ""]
    captions = dict(extra) if isinstance(extra, Mapping) else {n: n for n in extra}
    if not captions:
        lines.append("No LIME overlay figures were provided for this run.")
    for name, text in captions.items():
        lines += [f"**{text}**", "", figure_link(view, name, text), ""]
    return "\n".join(lines).rstrip()


def section_corruptions(view: RunView, figures: Mapping[str, Any]) -> str:
    """CIFAR-10-C accuracy per corruption and per severity."""
    per_name, per_sev = tables.corruption_tables(view)
    lines = ["## CIFAR-10-C per corruption", ""]
    skipped = view.applicability.cifar10c_skipped
    if not per_name:
        text = (f"CIFAR-10-C was skipped: {skipped}." if skipped
                else "CIFAR-10-C was not evaluated in this run.")
        return "\n".join([*lines, text])
    if "cifar10c_by_corruption" in figures:
        lines += [figure_link(view, "cifar10c_by_corruption", "CIFAR-10-C per corruption"), ""]
    lines += [caption(view, "CIFAR-10-C accuracy per corruption, mean over severities "
                      "(corruptions applied to the test images)"), "", per_name, "",
              caption(view, "CIFAR-10-C accuracy per severity, mean over corruptions"), "",
              per_sev]  # fmt: skip
    return "\n".join(lines)


def section_bound(view: RunView, figures: Mapping[str, Any]) -> str:
    """The ESTIMATED attribution-aware bound against the empirical minimal distortion."""
    table = tables.bound_table(view)
    lines = ["## Attribution-aware bound vs empirical distortion", ""]
    if not table:
        return "\n".join([*lines, "The bound was not estimated in this run."])
    lines += ["The bound `eps_min(x) >= g(x) / (L_S(x) + L_R(x))` is an **ESTIMATED** bound: the "
              "local Lipschitz constants are maxima over samples in the ε-ball, not certified, so "
              "it can exceed the empirical distortion. Means over correctly classified images.",
              ""]  # fmt: skip
    if "bound_vs_distortion" in figures:
        lines += [figure_link(view, "bound_vs_distortion", "bound vs empirical distortion"), ""]
    lines += [f"*Estimated bound per model. Data: {view.caption}.*", "", table]  # fmt: skip
    return "\n".join(lines)


def section_masking(view: RunView) -> str:
    """Pass/fail per model and check, and every violation with its message."""
    lines = ["## Gradient-masking checks", "",
             "FGSM ≥ PGD ≥ AutoAttack accuracy; accuracy falls as ε grows; black-box Square "
             "never beats the white-box attacks; outputs are logits; the forward pass is "
             "deterministic.", "", tables.masking_summary_table(view)]  # fmt: skip
    matrix = tables.masking_matrix(view)
    if matrix:
        lines += ["", matrix]
    violations = tables.masking_violations(view)
    lines += ["", "**Violations:**" if violations else "No violations.", ""]
    lines += [f"- {v}" for v in violations]
    return "\n".join(lines).rstrip()


def section_claims(view: RunView, claims: Sequence[Claim]) -> str:
    """Each claim with its verdict and numbers, then the reference comparison and suspects."""
    lines = ["## Claims of the paper", "",
             f"Verdicts: supported, not supported, mixed, undecided (within noise), or not tested "
             f"in this run. Each difference is paired (the same test images and seeds) with its "
             f"{100 * view.cfg.interval_level:g}% bootstrap interval; a gain is supported when the "
             f"interval's lower end is above {view.cfg.min_gain:g} points and refuted when its "
             f"upper end is below it; a clean cost is modest when the whole interval is at most "
             f"{view.cfg.clean_cost_tolerance:g} points. Data: {view.caption}.", ""]  # fmt: skip
    for claim in claims:
        lines.append(f"- **({claim.key}) {claim.statement}** Verdict: **{claim.verdict}**. "
                     f"{claim.evidence}")
    lines += ["", "### Against the reference numbers", "", reference_comparison(view)]
    suspects = suspect_results(view)
    lines += ["", *(f"- **Suspect:** {s}" for s in suspects)] if suspects else []
    return "\n".join(lines)


def reference_comparison(view: RunView) -> str:
    """A qualitative comparison of the adversarial baseline with METHOD.md's references."""
    adv = view.cfg.adversarial
    own = (f"This run's adversarial baseline: {pct_stat(view.stat(adv, 'clean'))}% clean, "
           f"{pct_stat(view.stat(adv, 'pgd'))}% PGD, {pct_stat(view.stat(adv, 'autoattack'))}% "
           f"AutoAttack ({view.variants.get(adv) or 'not run'}) on {view.n_images[adv]} test "
           "images.")  # fmt: skip
    aa = view.stat(adv, "autoattack").mean
    if not view.has_reference:
        return (f"METHOD.md's reference numbers are for CIFAR-10 at 8/255; this run is on "
                f"{view.caption} at ε={view.cfg.headline_eps_255:g}/255, so no published number "
                f"is placed beside it (the gradient-masking checks are its sanity check). {own}")
    if not finite(aa):
        judgement = "Without AutoAttack the baseline cannot be placed against the references."
    elif 100 * aa > view.cfg.suspect_autoattack:
        judgement = ("It is ABOVE the published state of the art for ResNet-18 without extra "
                     "data: suspect until checked.")
    else:
        judgement = ("A smaller CPU run (fewer images, epochs and a smaller model) is expected "
                     "to sit below the references; the comparison is qualitative only.")
    return f"{REFERENCE} {own} {judgement}"


def section_paired(view: RunView) -> str:
    """Every paired comparison: difference, interval, McNemar's test where outcomes are binary."""
    rows = paired.comparisons(view)
    lines = ["## Paired comparisons", ""]
    if not rows:
        return "\n".join([*lines, "No two models of this run can be compared."])
    seeds = sorted({c.result.n_seeds for c in rows})
    scope = ("one seed: the intervals resample the test images only, so they do not cover the "
             "variation between training runs" if seeds == [1] else
             "seeds and images are resampled together (two-way bootstrap)")
    lines += [f"*Candidate minus reference in points, on the same images (and seeds) at "
              f"ε={view.cfg.headline_eps_255:g}/255; {100 * view.cfg.interval_level:g}% "
              f"bootstrap interval ({view.cfg.bootstrap_samples} draws; {scope}); wins / losses: "
              "images only the candidate / only the reference gets right (summed over seeds), "
              "with McNemar's exact p. *gap*: the planted cue's aligned minus swapped accuracy. "
              f"Data: {view.caption}.*", "", tables.paired_table(rows)]  # fmt: skip
    return "\n".join(lines)


def section_provenance(view: RunView, provenance: Mapping[str, Any] | None) -> str:
    """Data source, seeds, commit, device, versions, wall time per stage, resolved config."""
    source = view.manifest.get("source")
    lines = ["## Provenance", "", f"- Data: {view.caption} (source `{source}`)"]
    if not provenance:
        return "\n".join([*lines, "- No provenance was recorded for this run."])
    dirty = provenance.get("git_dirty")
    commits = provenance.get("seed_commits") or {}
    lines += [f"- Git commit: `{provenance.get('git_commit', 'unknown')}`"
              + (" (uncommitted changes)" if dirty else "") + " (this report)",
              "- Commits each seed's nodes last ran at (training, mining, attacks): " + ("; ".join(
                  f"{seed}: " + ", ".join(f"`{c}`" for c in found)
                  for seed, found in commits.items()) or "n/a (no node record)"),
              f"- Seeds: {_inline(provenance.get('seeds'))}",
              f"- Device: {provenance.get('device', 'n/a')}; "
              f"Python {provenance.get('python', 'n/a')} on {provenance.get('platform', 'n/a')}",
              f"- Started: {provenance.get('started') or 'n/a'}; finished: "
              f"{provenance.get('finished') or 'n/a'}; total node time: "
              f"{tables.num(provenance.get('wall_time_total_s'), 5)} s"]  # fmt: skip
    stages = provenance.get("wall_time_s") or {}
    if stages:
        lines += ["", tables.md_table(["stage", "wall time (s)"],
                                      [[k, tables.num(v, 5)] for k, v in stages.items()])]
    libs = provenance.get("libraries") or {}
    if libs:
        lines += ["", tables.md_table(["library", "version"], list(libs.items()))]
    config = provenance.get("config")
    if config:
        text = json.dumps(config, indent=2, default=str, sort_keys=True)
        lines += ["", "<details><summary>Resolved configuration</summary>", "", "```json", text,
                  "```", "", "</details>"]  # fmt: skip
    return "\n".join(lines)


def _inline(value: Any) -> str:
    if not value:
        return "n/a"
    if isinstance(value, Mapping):
        return ", ".join(f"`{k}`={v}" for k, v in value.items())
    return str(value)


def render_markdown(view: RunView, claims: Sequence[Claim], figures: Mapping[str, Any],
                    extra_figures: Sequence[str] | Mapping[str, str],
                    provenance: Mapping[str, Any] | None,
                    per_arm: Sequence[arms.ArmResult] = ()) -> str:
    """The whole report, sections in order (the arms right after the verdict)."""
    sections = [
        section_title(view), section_verdict(view, claims), arms.section(view, list(per_arm)),
        section_models(view, figures),
        section_eps(view), section_progress(view), planted.section(view), observation.section(view),
        section_overlays(view, extra_figures),
        section_corruptions(view, figures), section_bound(view, figures), section_masking(view),
        section_claims(view, claims), section_paired(view), section_provenance(view, provenance),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"
