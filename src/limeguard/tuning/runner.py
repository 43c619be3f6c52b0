"""``tune_refinement``: check, create or resume the study, and run this worker's trials."""

from __future__ import annotations

import logging
from typing import Any

import torch

from limeguard.tuning.config import TuneConfig
from limeguard.tuning.objective import Objective, TuneData
from limeguard.tuning.storage import redact
from limeguard.tuning.study import WorkerResult, prepare_study, run_worker

log = logging.getLogger(__name__)


def tune_refinement(data: TuneData, cfg: TuneConfig, base: dict[str, dict[str, Any]],
                    device: torch.device | str = "cpu") -> WorkerResult:
    """Tune one refinement round from ``data.model`` over ``cfg.space``.

    Args:
        data: the baseline, the splits, its mined masks (and segments when re-mining).
        cfg: the tuning config; ``cfg.study.n_trials`` is the study's total.
        base: ``{"refine": rounds.refine, "train": rounds.train, "mining": mine.mining}`` params
            dicts the trials start from.
        device: where trials train.

    Raises:
        ConfigError / StorageError: before any trial, for a bad space, storage or study.
    """
    study, space = prepare_study(cfg, base)
    objective = Objective(data, space, cfg, base, torch.device(device))
    if objective.remines and data.segments is None:
        from limeguard.config import ConfigError

        raise ConfigError("tune.space: mining.* parameters need the mining segments "
                          "(or set tune.remine: never)")
    log.info("tune: study %r in %s, %d of %d trials there, mode %s, %d parameters%s",
             study.study_name, redact(cfg.study.storage), len(study.trials), cfg.study.n_trials,
             cfg.objective.mode, len(space.params), ", re-mining per trial" if objective.remines else "")
    return run_worker(study, objective, cfg)
