"""Node of the ``report`` pipeline: Markdown report, metrics JSON and figures."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from limeguard.config import from_params
from limeguard.reporting import ModelResults, ReportConfig, ReportInputs, build_report, collect_provenance
from limeguard.reporting.applicability import applicability

# keys of the per-model inputs: "<model>__<kind>"
KINDS = {"robust_summary": "summary", "attack_results": "attack_results",
         "masking_checks": "masking", "corruption_accuracy": "corruption",
         "corruption_outcomes": "corruption_outcomes", "history": "history",
         "mining_summary": "mining", "bound_table": "bound", "bound_summary": "bound_summary",
         "round_info": "round_info", "cue_reliance": "cue_reliance", "cue_outcomes": "cue_outcomes",
         "cue_recovery": "cue_recovery", "uncued_robustness": "uncued_robustness",
         "uncued_attack_results": "uncued_attack_results", "confined_attack": "confined"}
SEED_PREFIX = "seed_"


def build_run_report(
    manifest: dict[str, Any], node_timings: dict[str, float], node_record: dict[str, Any],
    parameters: dict[str, Any], report: dict[str, Any], **tables: Any,
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Gather every model's evaluation and build the report (Markdown, metrics, figures)."""
    seed = int((parameters.get("runtime") or {}).get("seed", 0))
    models = {name: _model_results(parts, seed) for name, parts in _per_model(tables).items()}
    overlays = {f"../{name}/explanations": f"LIME explanations of {name}"
                for name, runs in models.items() if runs.mining is not None}
    return _build(manifest, models, overlays, parameters, (node_timings, node_record), report)


def build_seeds_report(
    manifest: dict[str, Any], node_timings: dict[str, float], node_record: dict[str, Any],
    parameters: dict[str, Any], report: dict[str, Any], **tables: Any,
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The report over the seeds of the ``seeds`` pipeline: inputs ``seed_<k>__<model>__<kind>``;
    every model gets one result per seed, and comparisons pair the same seed and image."""
    per_seed: dict[int, dict[str, Any]] = defaultdict(dict)
    for key, value in tables.items():
        namespace, rest = key.split("__", 1)
        per_seed[int(namespace.removeprefix(SEED_PREFIX))][rest] = value
    models: dict[str, list[ModelResults]] = defaultdict(list)
    for seed in sorted(per_seed):
        for name, parts in _per_model(per_seed[seed]).items():
            models[name].append(_model_results(parts, seed))
    first = f"{SEED_PREFIX}{min(per_seed)}"
    overlays = {f"../{first}.{name}/explanations": f"LIME explanations of {name} ({first})"
                for name, runs in models.items() if runs[0].mining is not None}
    return _build(manifest, dict(models), overlays, parameters, (node_timings, node_record),
                  report)


def _build(manifest: dict[str, Any], models: dict[str, Any], overlays: dict[str, str],
           parameters: dict[str, Any], records: tuple[dict[str, Any], dict[str, Any]],
           report: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    cfg = from_params(ReportConfig, report, "report")
    inputs = ReportInputs(manifest=manifest, models=models, extra_figures=overlays,
                          provenance=collect_provenance(parameters, *records),
                          applicability=applicability(parameters, manifest))
    result = build_report(inputs, cfg)
    figures = {f"{name}.png": figure for name, figure in result.figures.items()}
    return result.markdown, result.metrics, figures


def _per_model(tables: dict[str, Any]) -> dict[str, dict[str, Any]]:
    per_model: dict[str, dict[str, Any]] = defaultdict(dict)
    for key, value in tables.items():
        model, kind = key.split("__", 1)
        per_model[model][KINDS[kind]] = value
    return per_model


def _model_results(parts: dict[str, Any], seed: int) -> ModelResults:
    info = parts.pop("round_info", None)
    return ModelResults(**parts, notes=round_notes(info) if info else (), seed=seed)


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
