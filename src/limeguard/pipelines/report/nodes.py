"""Node of the ``report`` pipeline: Markdown report, metrics JSON and figures."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from limeguard.config import from_params
from limeguard.reporting import ModelResults, ReportConfig, ReportInputs, build_report, collect_provenance

# keys of the per-model inputs: "<model>__<kind>"
KINDS = {"robust_summary": "summary", "masking_checks": "masking", "corruption_accuracy": "corruption",
         "history": "history", "mining_summary": "mining", "bound_table": "bound",
         "bound_summary": "bound_summary", "round_info": "round_info",
         "cue_reliance": "cue_reliance", "cue_recovery": "cue_recovery",
         "uncued_robustness": "uncued_robustness"}


def build_run_report(
    manifest: dict[str, Any], node_timings: dict[str, float], parameters: dict[str, Any],
    report: dict[str, Any], **tables: Any,
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Gather every model's evaluation and build the report (Markdown, metrics, figures)."""
    cfg = from_params(ReportConfig, report, "report")
    per_model: dict[str, dict[str, Any]] = defaultdict(dict)
    for key, value in tables.items():
        model, kind = key.split("__", 1)
        per_model[model][KINDS[kind]] = value
    models = {name: _model_results(parts) for name, parts in per_model.items()}
    overlays = {f"../{name}/explanations": f"LIME explanations of {name}"
                for name, parts in per_model.items() if "mining" in parts}
    inputs = ReportInputs(manifest=manifest, models=models, extra_figures=overlays,
                          provenance=collect_provenance(parameters, node_timings))
    result = build_report(inputs, cfg)
    figures = {f"{name}.png": figure for name, figure in result.figures.items()}
    return result.markdown, result.metrics, figures


def _model_results(parts: dict[str, Any]) -> ModelResults:
    info = parts.pop("round_info", None)
    return ModelResults(**parts, notes=round_notes(info) if info else ())


def round_notes(info: dict[str, Any]) -> tuple[str, ...]:
    """What the report says about a round besides its numbers: its masks, which criterion kept
    which epoch, an empty spurious set, a divergence."""
    notes = [f"{info.get('masks', 'mined')} masks"]
    selection = info.get("selection")
    if selection:
        notes.append(f"epoch {info['best_epoch'] + 1} kept, chosen by {selection['metric']} on "
                     f"{selection['n_images']} {selection['split']} images")
    if info.get("empty_spurious_set"):
        notes.append("nothing was flagged spurious, so this round was plain adversarial "
                     "fine-tuning")
    if info.get("stop_reason") == "diverged":
        notes.append(f"the loss diverged; the last good weights (epoch {info['best_epoch'] + 1}) "
                     "were kept")
    return tuple(notes)
