"""Per-batch training losses, one strategy per method, and the seam for extra loss terms.

A strategy is any callable ``batch_loss(model, x, y, index) -> LossOutput`` with ``x`` the clean
batch (float32 in [0, 1], NCHW, on the training device), ``y`` its labels (int64, (B,)) and
``index`` the positions of the batch in the training split (int64, (B,), same device), so that a
strategy can look up per-image data such as masks or sensitivity scores. The model is in train
mode when called; the call runs under the configured autocast, and the loop does the backward pass.

An extra term is any callable ``extra_loss(model, x, y, index) -> Tensor`` (a scalar, on the
device, differentiable) that :func:`limeguard.training.train_model` adds to the strategy's loss:
refinement plugs a double-backpropagation penalty in there without touching the loop. To change
the inputs themselves (e.g. mask a fraction of the batch before the attack), wrap a strategy::

    class MaskedAdversarial:
        def __init__(self, inner: BatchLoss, masks: torch.Tensor):  # masks (N, 1, H, W)
            self.inner, self.masks = inner, masks

        def __call__(self, model, x, y, index):
            x = apply_mask(x, self.masks[index])  # index: positions in the training split
            return self.inner(model, x, y, index)

    train_model(..., batch_loss=MaskedAdversarial(build_batch_loss(cfg), masks))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from limeguard.attacks.pgd import PGD, fgsm_rs, model_mode
from limeguard.training.config import TrainConfig


@dataclass(frozen=True)
class LossOutput:
    """What a batch-loss strategy returns.

    Attributes:
        loss: scalar loss to minimise.
        logits: (B, classes) logits of the inputs trained on (adversarial ones for adversarial
            methods), used for the training accuracy in the history.
    """

    loss: torch.Tensor
    logits: torch.Tensor


class BatchLoss(Protocol):
    """A per-batch training loss (see the module docstring)."""

    def __call__(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, index: torch.Tensor
    ) -> LossOutput: ...


ExtraLoss = Callable[[nn.Module, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class StandardLoss:
    """Cross-entropy on clean images."""

    def __call__(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, index: torch.Tensor
    ) -> LossOutput:
        logits = model(x)
        return LossOutput(F.cross_entropy(logits, y), logits)


@dataclass(frozen=True)
class AdversarialLoss:
    """Cross-entropy on ``attack(model, x, y)``: PGD-AT, FGSM-RS or any attack of that contract."""

    attack: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]

    def __call__(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, index: torch.Tensor
    ) -> LossOutput:
        x_adv = self.attack(model, x, y)
        logits = model(x_adv)
        return LossOutput(F.cross_entropy(logits, y), logits)


@dataclass(frozen=True)
class TradesLoss:
    """TRADES (Zhang et al. 2019): CE(f(x), y) + β KL(f(x) || f(x')), x' maximising the KL term.

    The inner maximisation starts at ``x + 0.001 N(0, 1)`` and runs in eval mode, as the reference
    code does.
    """

    beta: float
    eps_255: float
    alpha_255: float
    steps: int

    def __call__(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, index: torch.Tensor
    ) -> LossOutput:
        x_adv = self._attack(model, x)
        logits_nat = model(x)
        logits_adv = model(x_adv)
        kl = F.kl_div(
            F.log_softmax(logits_adv, 1), F.softmax(logits_nat, 1), reduction="batchmean"
        )
        return LossOutput(F.cross_entropy(logits_nat, y) + self.beta * kl, logits_adv)

    def _attack(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        eps, alpha = self.eps_255 / 255, self.alpha_255 / 255
        x = x.detach()
        with model_mode(model, False):
            with torch.no_grad():
                p_nat = F.softmax(model(x), 1)  # (B, classes)
            x_adv = (x + 0.001 * torch.randn_like(x)).clamp_(0, 1)
            for _ in range(self.steps):
                x_adv.requires_grad_(True)
                kl = F.kl_div(F.log_softmax(model(x_adv), 1), p_nat, reduction="sum")
                (grad,) = torch.autograd.grad(kl, x_adv)
                x_adv = x_adv.detach() + alpha * grad.sign()
                x_adv = torch.min(torch.max(x_adv, x - eps), x + eps).clamp_(0, 1)
        return x_adv.detach()


def build_batch_loss(cfg: TrainConfig) -> BatchLoss:
    """The strategy of ``cfg.method`` with the configured attack (``cfg.attack``)."""
    a = cfg.attack
    if cfg.method == "standard":
        return StandardLoss()
    if cfg.method == "pgd_at":
        return AdversarialLoss(PGD(a.eps_255, a.alpha_255, steps=a.steps,
                                   random_start=a.random_start, train_mode=a.train_mode))
    if cfg.method == "fgsm_rs":
        return AdversarialLoss(fgsm_rs(a.eps_255, a.fgsm_alpha_ratio, train_mode=a.train_mode))
    return TradesLoss(cfg.trades_beta, a.eps_255, a.alpha_255, a.steps)
