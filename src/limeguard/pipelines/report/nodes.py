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
ARM_START = ".adversarial"  # <arm>.adversarial: the AT baseline as an arm that mines it itself saw it


def build_run_report(
    manifest: dict[str, Any], node_timings: dict[str, float], node_record: dict[str, Any],
    parameters: dict[str, Any], report: dict[str, Any], **tables: Any,
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Gather every model's evaluation and build the report (Markdown, metrics, figures)."""
    seed = int((parameters.get("runtime") or {}).get("seed", 0))
    per_model, per_start = _arm_starts(_per_model(tables))
    models = {name: _model_results(parts, seed) for name, parts in per_model.items()}
    starts = {arm: _model_results(parts, seed) for arm, parts in per_start.items()}
    overlays = {f"../{name}/explanations": f"LIME explanations of {name}"
                for name, runs in models.items() if runs.mining is not None}
    return _build(manifest, (models, starts), overlays, parameters, (node_timings, node_record),
                  report)


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
    starts: dict[str, list[ModelResults]] = defaultdict(list)
    for seed in sorted(per_seed):
        per_model, per_start = _arm_starts(_per_model(per_seed[seed]))
        for name, parts in per_model.items():
            models[name].append(_model_results(parts, seed))
        for arm, parts in per_start.items():
            starts[arm].append(_model_results(parts, seed))
    first = f"{SEED_PREFIX}{min(per_seed)}"
    overlays = {f"../{first}.{name}/explanations": f"LIME explanations of {name} ({first})"
                for name, runs in models.items() if runs[0].mining is not None}
    return _build(manifest, (dict(models), dict(starts)), overlays, parameters,
                  (node_timings, node_record), report)


def _build(manifest: dict[str, Any], models: tuple[dict[str, Any], dict[str, Any]],
           overlays: dict[str, str], parameters: dict[str, Any],
           records: tuple[dict[str, Any], dict[str, Any]],
           report: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    cfg = from_params(ReportConfig, report, "report")
    inputs = ReportInputs(manifest=manifest, models=models[0], arm_baselines=models[1],
                          extra_figures=overlays,
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


def _arm_starts(per_model: dict[str, dict[str, Any]]
                ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Split off ``<arm>.adversarial`` (an arm's own mining of the AT baseline and the bound on
    its masks): arm -> the AT baseline's tables with those in place of the run's mining."""
    starts = {name.removesuffix(ARM_START): parts for name, parts in per_model.items()
              if name.endswith(ARM_START)}
    models = {name: parts for name, parts in per_model.items() if not name.endswith(ARM_START)}
    baseline = models.get(ARM_START.lstrip("."), {})
    return models, {arm: {**baseline, **parts} for arm, parts in starts.items()}


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
