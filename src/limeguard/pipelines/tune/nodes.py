"""Nodes of the ``tune`` pipeline: run this worker's trials, then write what the study holds."""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd
from torch import nn

from limeguard.config import from_params
from limeguard.images.imageset import ImageSet
from limeguard.refinement.rounds import RoundsParams, cue_neutral_validation
from limeguard.runtime import RuntimeConfig, resolve_device
from limeguard.tuning import TuneConfig, TuneData, tune_refinement
from limeguard.tuning import outputs as tune_outputs
from limeguard.tuning.base import base_params, start_trees
from limeguard.tuning.study import prepare_study

BEST_PARAMS_PATH = "data/08_reporting/tune/best_params.yml"


def best_params_path(arm: str | None) -> str:
    """Where ``tune_best_params`` is (``globals:tune_dir``: tune, an arm's env tune_<arm>)."""
    return BEST_PARAMS_PATH if arm is None else f"data/08_reporting/tune_{arm}/best_params.yml"


def start(tune: dict[str, Any], rounds: dict[str, Any], mine: dict[str, Any]
          ) -> tuple[TuneConfig, dict[str, Any], dict[str, dict[str, Any]]]:
    """The tuning config, the ``rounds`` tree the trials use (the run's or ``tune.arm``'s) and
    their base params."""
    cfg = from_params(TuneConfig, tune, "tune")
    mine, rounds = start_trees(cfg.arm, mine, rounds)
    return cfg, rounds, base_params(rounds, mine)


def counterfactual_validation(val: ImageSet, masks: dict[str, Any], rounds: dict[str, Any]
                              ) -> ImageSet:
    """The cue-neutral validation images the rounds select on (``tune.objective.images``)."""
    cfg = from_params(RoundsParams, rounds, "rounds")
    return cue_neutral_validation(val, masks, dataclasses.replace(cfg, selection="counterfactual"),
                                  None)


def run_study(
    model: nn.Module, train: ImageSet, val: ImageSet, masks: dict[str, Any],
    segments: dict[str, Any], tune: dict[str, Any], rounds: dict[str, Any],
    mine: dict[str, Any], runtime: dict[str, Any],
) -> dict[str, Any]:
    """Add trials to the study until it holds ``tune.study.n_trials`` (resumes a stopped one)."""
    cfg, rounds, base = start(tune, rounds, mine)
    device = resolve_device(from_params(RuntimeConfig, runtime, "runtime").device)
    if cfg.objective.images == "counterfactual":
        val = counterfactual_validation(val, masks, rounds)
    data = TuneData(model, train, val, masks, segments)
    result = tune_refinement(data, cfg, base, device)
    return {"study": result.study_name, "storage": result.storage, "ran": list(result.ran),
            "counted": result.counted, "seconds": round(result.seconds, 1)}


def report_study(
    worker: dict[str, Any], tune: dict[str, Any], rounds: dict[str, Any], mine: dict[str, Any],
) -> tuple[str, pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Best parameters (a Kedro parameters YAML), trials table, figures and summary."""
    cfg, _, base = start(tune, rounds, mine)
    study, _ = prepare_study(cfg, base, load_only=True)
    summary = {**tune_outputs.summary(study, cfg), "this_worker": worker}
    return (tune_outputs.best_params_text(study, cfg, best_params_path(cfg.arm)),
            tune_outputs.trials_table(study), tune_outputs.figures(study, cfg), summary)
