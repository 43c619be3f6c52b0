"""Learning-rate schedules as pure functions of the global step (no state to checkpoint)."""

from __future__ import annotations

import math

from limeguard.training.config import TrainConfig


def lr_at(cfg: TrainConfig, step: int, steps_per_epoch: int) -> float:
    """Learning rate for SGD step ``step`` (0-based) of a run of ``cfg.epochs`` epochs.

    Args:
        cfg: the training recipe (``lr``, ``schedule`` and its parameters).
        step: global step index; the rate is taken at the middle of the step's interval.
        steps_per_epoch: SGD steps in one epoch.

    Returns:
        The learning rate, in [0, cfg.lr].
    """
    total = cfg.epochs * steps_per_epoch
    t = (step + 0.5) / total  # position in the run, in (0, 1)
    if cfg.schedule == "onecycle":
        peak = cfg.onecycle_peak
        return cfg.lr * (t / peak if t < peak else max(0.0, (1 - t) / (1 - peak + 1e-12)))
    warmup = cfg.warmup_epochs / cfg.epochs  # fraction of the run
    if t < warmup:
        return cfg.lr * t / warmup
    if cfg.schedule == "cosine":
        u = (t - warmup) / (1 - warmup) if warmup < 1 else 1.0
        return cfg.lr * 0.5 * (1 + math.cos(math.pi * u))
    if cfg.schedule == "piecewise":
        passed = sum(1 for m in cfg.milestones if t >= m)
        return cfg.lr * cfg.lr_gamma**passed
    return cfg.lr
