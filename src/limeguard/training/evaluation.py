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
        clean, robust = self.outcomes(model, x, y)
        n = max(len(x), 1)
        pgd = float(robust.sum()) / n if robust is not None else float("nan")
        return float(clean.sum()) / n, pgd

    def outcomes(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Per image (N,) bool on the CPU: right clean, and right under validation PGD (None
        without PGD): what paired comparisons of two models on these images resample."""
        attack = None
        if self.cfg.val_steps > 0:
            attack = PGD(
                self.cfg.val_eps_255, self.cfg.val_alpha_255, steps=self.cfg.val_steps
            )
        devices = [self.precision.device] if self.precision.device.type == "cuda" else []
        clean, robust = [torch.zeros(0, dtype=torch.bool)], [torch.zeros(0, dtype=torch.bool)]
        with torch.random.fork_rng(devices=devices), model_mode(model, False):
            for start in range(0, len(x), self.cfg.eval_batch_size):
                xb = self.precision.batch(x[start : start + self.cfg.eval_batch_size])
                yb = y[start : start + self.cfg.eval_batch_size].to(self.precision.device)
                c, r = self._batch(model, attack, xb, yb)
                clean.append(c.cpu())
                robust.append(r.cpu())
        return torch.cat(clean), (torch.cat(robust) if attack is not None else None)

    def _batch(
        self, model: nn.Module, attack: PGD | None, xb: torch.Tensor, yb: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        with self.precision.autocast():
            with torch.no_grad():
                clean = model(xb).argmax(1) == yb
            if attack is None:
                return clean, torch.zeros_like(clean)
            x_adv = attack(model, xb, yb)
            with torch.no_grad():
                robust = model(x_adv).argmax(1) == yb
        return clean, robust
