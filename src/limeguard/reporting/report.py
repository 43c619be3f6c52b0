"""``build_report``: the run report as Markdown, a metrics dict and figures."""

from __future__ import annotations

import logging
import math
from typing import Any

from limeguard.jsonable import to_jsonable
from limeguard.reporting import arms, observation, paired, planted, tables
from limeguard.reporting.claims import (
    Claim,
    all_claims,
    best_round,
    interval_numbers,
    suspect_results,
)
from limeguard.reporting.figures import build_figures
from limeguard.reporting.inputs import Report, ReportConfig, ReportInputs
from limeguard.reporting.markdown import render_markdown
from limeguard.reporting.view import RunView, build_view, collapsed_rounds, progress_rows

log = logging.getLogger(__name__)
METRIC_KEYS = ("clean", "fgsm", "pgd", "pgd_restarts", "cw", "autoattack", "square",
               "worst_case", "worst_case_whitebox", "cifar10c_mean", "spurious_share")  # fmt: skip


def build_report(inputs: ReportInputs, cfg: ReportConfig | None = None) -> Report:
    """Build the run report.

    Args:
        inputs: manifest, per-model results (the adversarial baseline is required),
            provenance and the names of figures saved elsewhere.
        cfg: thresholds and names (default :class:`ReportConfig`).

    Returns:
        :class:`Report`: ``markdown`` (figures linked as ``<figure_dir>/<name>.png``),
        ``metrics`` (JSON-serialisable; NaN as None) and ``figures`` (name -> Figure).

    Raises:
        ValueError: no adversarial baseline, a table missing a column (naming model and
            column), or a manifest without ``source``.
    """
    cfg = cfg or ReportConfig()
    view = build_view(inputs, cfg)
    claims = all_claims(view)
    per_arm = arms.arm_results(view)
    figures = build_figures(view)
    markdown = render_markdown(view, claims, figures, inputs.extra_figures, inputs.provenance,
                               per_arm)
    metrics = build_metrics(view, claims, inputs.provenance, per_arm)
    for claim in claims:
        log.info("claim (%s): %s", claim.key, claim.verdict)
    return Report(markdown=markdown, metrics=metrics, figures=figures)


def build_metrics(view: RunView, claims: list[Claim], provenance: Any,
                  per_arm: list[arms.ArmResult] | None = None) -> dict[str, Any]:
    """The DVC metrics dict: headline numbers per model, rounds, claims, each arm's, data,
    checks."""
    best, key = best_round(view)
    prov = provenance or {}
    planted_cue = planted.metrics(view)
    confined, pooled = observation.metrics(view), observation.pooled_metrics(view)
    return to_jsonable({
        **({"planted_cue": planted_cue} if planted_cue else {}),
        **({"confined_attack": confined} if confined else {}),
        **({"confined_attack_pooled": pooled} if pooled else {}),
        "data": {"source": view.manifest.get("source"), "description": view.caption,
                 "jpeg_mirror": view.mirror, "counts": dict(view.manifest.get("counts") or {})},
        "headline_eps_255": view.cfg.headline_eps_255,
        "autoattack_variant": view.autoattack_label,
        **view.applicability.metrics(),
        "models": {name: model_metrics(view, name) for name in view.models},
        "rounds": progress_rows(view),
        "collapsed_rounds": collapsed_rounds(view),
        "n_rounds": len(view.rounds),
        "refined_model": best,
        "robustness_measure": key,
        "claims": {c.key: {"statement": c.statement, "verdict": c.verdict,
                           "evidence": c.evidence, "numbers": c.numbers} for c in claims},
        "arms": arms.metrics(view, per_arm or []),
        "arms_headline": arms.headline(view, per_arm or []),
        "paired": [{"candidate": c.candidate, "reference": c.reference, "measure": c.measure,
                    **interval_numbers(c)} for c in paired.comparisons(view)],
        "suspect": suspect_results(view),
        "masking_violations": tables.masking_violations(view),
        # no wall times: metrics.json is a function of the run's inputs (they are in the report)
        "provenance": {"git_commit": prov.get("git_commit"), "seeds": prov.get("seeds"),
                       "seed_commits": prov.get("seed_commits"), "device": prov.get("device")},
    }, digits=6)  # fmt: skip


def model_metrics(view: RunView, name: str) -> dict[str, Any]:
    """Headline means (and std with several seeds) and masking-check counts of one model."""
    out: dict[str, Any] = {"n_images": view.n_images[name], "n_seeds": len(view.models[name]),
                           "autoattack_variant": view.variants[name]}
    for key in METRIC_KEYS:
        stat = view.stat(name, key)
        out[key] = stat.mean
        if stat.n > 1:
            out[f"{key}_std"] = stat.std
    checks = [r.masking for r in view.models[name] if r.masking is not None]
    out["masking"] = {
        "ran": bool(checks),
        "n_checks": sum(int(m.get("n_checks", 0)) for m in checks),
        "n_failed": sum(int(m.get("n_failed", len(m.get("failed", [])))) for m in checks),
        "n_skipped": sum(len(m.get("skipped", [])) for m in checks),
    }
    bound = view.bounds[name]
    if any(math.isfinite(v) for v in bound.values()):
        out["bound"] = bound
    return out
