"""Validation during training: clean and PGD accuracy on (a slice of) the validation split."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from limeguard.attacks.pgd import PGD, model_mode
from limeguard.training.config import TrainConfig
from limeguard.training.precision import Precision

# (model, x, y) -> (clean accuracy, PGD accuracy), both in [0, 1]; PGD may be NaN (not measured).
Evaluator = Callable[[nn.Module, torch.Tensor, torch.Tensor], tuple[float, float]]


@dataclass(frozen=True)
class PGDValidator:
    """The default :data:`Evaluator`: eval-mode clean accuracy and validation-PGD accuracy.

    The global RNG is forked for the duration of a call, so validating never changes the random
    stream that training consumes (and a run with validation equals one resumed from a checkpoint).
    """

    cfg: TrainConfig
    precision: Precision

    def __call__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        """Accuracies on ``x`` (N, C, H, W) float32 in [0, 1] and ``y`` (N,), both on the CPU."""
        attack = None
        if self.cfg.val_steps > 0:
            attack = PGD(
                self.cfg.val_eps_255, self.cfg.val_alpha_255, steps=self.cfg.val_steps
            )
        devices = [self.precision.device] if self.precision.device.type == "cuda" else []
        clean = robust = 0
        with torch.random.fork_rng(devices=devices), model_mode(model, False):
            for start in range(0, len(x), self.cfg.eval_batch_size):
                xb = self.precision.batch(x[start : start + self.cfg.eval_batch_size])
                yb = y[start : start + self.cfg.eval_batch_size].to(self.precision.device)
                c, r = self._batch(model, attack, xb, yb)
                clean, robust = clean + c, robust + r
        n = max(len(x), 1)
        return clean / n, (robust / n if attack is not None else float("nan"))

    def _batch(
        self, model: nn.Module, attack: PGD | None, xb: torch.Tensor, yb: torch.Tensor
    ) -> tuple[int, int]:
        with self.precision.autocast():
            with torch.no_grad():
                clean = int((model(xb).argmax(1) == yb).sum())
            if attack is None:
                return clean, 0
            x_adv = attack(model, xb, yb)
            with torch.no_grad():
                robust = int((model(x_adv).argmax(1) == yb).sum())
        return clean, robust
