"""Nodes of the ``baseline`` pipeline: a standard and an adversarially trained model."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from limeguard.config import from_params
from limeguard.images.imageset import ImageSet
from limeguard.models import ModelChoice, build_model
from limeguard.models.weights import load_weights
from limeguard.runtime import RuntimeConfig, resolve_device
from limeguard.training import TrainConfig, train_model
from limeguard.training.checkpoint import run_directory
from limeguard.training.distributed import run_training

log = logging.getLogger(__name__)


def train_baseline(
    train: ImageSet, val: ImageSet, model: dict[str, Any], recipe: dict[str, Any],
    checkpoint_dir: str, runtime: dict[str, Any],
) -> tuple[nn.Module, pd.DataFrame]:
    """Train a fresh model with ``recipe``; per-epoch checkpoints in ``checkpoint_dir`` (resumable)."""
    choice = from_params(ModelChoice, model, "baseline.model")
    run = from_params(RuntimeConfig, runtime, "runtime")
    cfg = from_params(TrainConfig, recipe, f"baseline.{Path(checkpoint_dir).name}").for_run(run.seed)
    torch.manual_seed(cfg.seed)  # the initial weights follow the run's seed, not the node order
    net = build_model(choice.arch, train.num_classes, **choice.options)
    if choice.weights:
        load_weights(net, choice.weights)
    result = run_training(
        run.distributed, resolve_device(run.device), train_model,
        net, train.images, train.labels, val.images, val.labels, cfg, progress=run.progress,
        checkpoint_dir=run_directory(checkpoint_dir, model, recipe, train, {"seed": run.seed}),
        batch_size=cfg.batch_size, batch_key=f"baseline.{Path(checkpoint_dir).name}.batch_size",
    )
    log.info("%s: stopped (%s), best epoch %d", checkpoint_dir, result.stop_reason, result.best_epoch)
    result.model.checkpoint_metadata = {
        "recipe": recipe, "best_epoch": result.best_epoch, "stop_reason": result.stop_reason,
        "data_source": train.meta.get("note", train.meta.get("source", "")),
    }
    return result.model.cpu(), result.history
