"""The arms trained from scratch: vanilla, RRR with the true swatch masks, counterexamples, and
the clean-data ceiling; all with one recipe (Adam) through :func:`limeguard.training.train_model`."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from limeguard.decoy.config import DecoyParams
from limeguard.decoy.data import DecoySets, counterexamples, swatch_masks
from limeguard.images.imageset import ImageSet
from limeguard.models import build_model
from limeguard.refinement.config import RefineConfig
from limeguard.refinement.loss import RefinementLoss
from limeguard.training import TrainConfig, train_model
from limeguard.training.checkpoint import run_directory
from limeguard.training.loop import TrainResult

log = logging.getLogger(__name__)

SCRATCH_ARMS = ("vanilla", "rrr", "counterexamples", "clean")


def rrr_config(lambda_reg: float) -> RefineConfig:
    """Ross et al.'s loss as a :class:`RefineConfig`: CE on the batch as it is plus
    ``lambda_reg * || m ⊙ grad_x sum_k log p_k(x) ||^2`` (no masking, no attack)."""
    return RefineConfig(use_masking=False, use_regularization=True, use_augmentation=False,
                        augment="none", penalty="rrr", lambda_reg=lambda_reg, adv_on_masked=False)


def fit(model: nn.Module, train: ImageSet, val: ImageSet, cfg: TrainConfig, device: torch.device,
        checkpoint: Path | None, loss: RefinementLoss | None = None) -> TrainResult:
    """``train_model`` on ``train`` (validation: clean accuracy on ``val``), resumable."""
    return train_model(model, train.images, train.labels, val.images, val.labels, cfg, device,
                       checkpoint_dir=checkpoint, progress=False, batch_loss=loss)


def arm_data(arm: str, sets: DecoySets, params: DecoyParams,
             seed: int) -> tuple[ImageSet, torch.Tensor | None]:
    """The training images of ``arm`` and its (N, H, W) masks for the RRR penalty (or None)."""
    if arm == "clean":
        return sets.clean_train, None
    if arm == "counterexamples":
        return counterexamples(sets.train, params.data, seed), None
    if arm == "rrr":
        return sets.train, swatch_masks(sets.train, "train", params.data)
    if arm == "vanilla":
        return sets.train, None
    raise ValueError(f"arm: unknown arm {arm!r}; use one of {SCRATCH_ARMS}")


def train_arm(arm: str, sets: DecoySets, params: DecoyParams, run_seed: int,
              device: torch.device) -> TrainResult:
    """A fresh ``decoy_cnn`` trained as ``arm`` prescribes, seeded by ``run_seed``."""
    cfg = params.train.for_run(run_seed)
    train, masks = arm_data(arm, sets, params, cfg.seed)
    torch.manual_seed(cfg.seed)  # initial weights follow the run's seed
    model = build_model(params.model.arch, train.num_classes, **params.model.options)
    loss = None
    if masks is not None:
        loss = RefinementLoss(rrr_config(params.rrr_lambda), masks.float(), attack=cfg.attack)
    checkpoint = run_directory(params.checkpoint_root, arm, run_seed, train,
                               {"train": repr(cfg), "rrr_lambda": params.rrr_lambda,
                                "model": repr(params.model)})
    result = fit(model, train, sets.probe, cfg, device, checkpoint, loss)
    log.info("decoy %s (seed %d): train accuracy %.3f after %d epochs", arm, run_seed,
             float(result.history["train_acc"].iloc[-1]), len(result.history))
    return result
