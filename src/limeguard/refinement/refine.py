"""``refine_model``: one refinement round, a thin wrapper over ``train_model``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from limeguard.refinement.config import RefineConfig
from limeguard.refinement.loss import RefinementLoss
from limeguard.refinement.masking import check_mask_shape
from limeguard.training import TrainConfig, TrainResult, train_model
from limeguard.training.evaluation import Evaluator

log = logging.getLogger(__name__)


@dataclass
class RefineResult(TrainResult):
    """A :class:`TrainResult` plus what the report needs about the round. Its ``terms``: one row
    per epoch, ``epoch`` and ``term_<name>``, the mean weighted value of each computed term
    (``adversarial`` or ``base``, ``masking``, ``regularization``).

    Attributes:
        empty_spurious_set: no pixel of the training split was flagged; masking and
            regularization contributed 0 and the round was adversarial fine-tuning.
        masked_pixel_share: mean of the masks over the training split, in [0, 1].
    """

    empty_spurious_set: bool = False
    masked_pixel_share: float = 0.0


def refine_model(
    model: nn.Module,
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    val_x: torch.Tensor,
    val_y: torch.Tensor,
    masks: torch.Tensor,
    sensitivity: torch.Tensor | None,
    refine_cfg: RefineConfig,
    train_cfg: TrainConfig,
    device: torch.device | str = "cpu",
    checkpoint_dir: Path | None = None,
    progress: bool = True,
    evaluator: Evaluator | None = None,
) -> RefineResult:
    """Fine-tune ``model`` with :class:`RefinementLoss` (the optimiser, schedule, epochs,
    validation, guards and attack settings come from ``train_cfg``; its ``method`` only names the
    run).

    Args:
        model: the previous round's model (trained in place).
        train_x: (N, C, H, W) float32 in [0, 1]; ``train_y``: (N,) int64.
        val_x, val_y: validation split for ``train_cfg``'s validation and early stopping.
        masks: (N, H, W) or (N, 1, H, W) spurious masks in [0, 1] of the training images.
        sensitivity: (N, 1, H, W) or (N, H, W) weights >= 0, or None (1 everywhere).
        refine_cfg: the refinement loss configuration.
        train_cfg: the training recipe; its ``attack`` sets ``refine_cfg.augment``'s attack.
        device: where batches run.
        checkpoint_dir: per-epoch checkpoints and resume (see ``train_model``).
        progress: show a progress bar.
        evaluator: replaces validation (see ``train_model``).

    Returns:
        The :class:`RefineResult`.

    Raises:
        ValueError: masks (or sensitivity) whose shape does not match the images (both named).
        ConfigError: augmentation with ``train_cfg.attack.eps_255`` 0.
        NonFiniteLossError: the loss became NaN/inf.
    """
    check_mask_shape(train_x, masks, ("train_x", "masks"))
    _warn_if_attack_kind_differs(refine_cfg, train_cfg)
    loss = RefinementLoss(refine_cfg, masks, sensitivity, attack=train_cfg.attack)
    result = train_model(
        model, train_x, train_y, val_x, val_y, train_cfg, device, checkpoint_dir,
        progress=progress, batch_loss=loss, evaluator=evaluator,
    )  # fmt: skip
    return RefineResult(
        result.model, result.history, result.best_epoch, result.stop_reason, result.terms,
        empty_spurious_set=loss.empty_spurious_set, masked_pixel_share=float(loss.masks.mean()),
    )  # fmt: skip


def _warn_if_attack_kind_differs(refine_cfg: RefineConfig, train_cfg: TrainConfig) -> None:
    """The matched control trains with ``train_cfg.method``: say so when ``refine_cfg.augment``
    is another attack (both take their settings from ``train_cfg.attack``)."""
    control = {"pgd_at": "pgd"}.get(train_cfg.method, train_cfg.method)
    if refine_cfg.augmentation_active and refine_cfg.augment != control:
        log.warning("refine: augment %r differs from the training recipe's method %r; the "
                    "matched control trains with the latter", refine_cfg.augment,
                    train_cfg.method)  # fmt: skip
