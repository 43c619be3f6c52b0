"""L-infinity gradient attacks: FGSM, FGSM with random start, PGD (CE or CW margin loss).

Contract (as torchattacks): ``attack(model, x, y) -> x_adv`` with ``x`` float32 in [0, 1], NCHW,
``y`` int64 labels. ε and step sizes are given in pixel units of 1/255. The input is never mutated,
the model's train/eval mode is restored, gradients are taken with ``torch.autograd.grad`` and every
iterate is projected onto the ε-ball and [0, 1].
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from limeguard.config import ConfigError

LOSSES = ("ce", "cw")


def cw_margin_loss(logits: torch.Tensor, y: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
    """Carlini-Wagner margin ``max_{j != y} z_j - z_y`` (higher = more adversarial)."""
    true = logits.gather(1, y[:, None]).squeeze(1)
    other = logits.masked_fill(F.one_hot(y, logits.shape[1]).bool(), float("-inf")).amax(1)
    margin = other - true  # (N,)
    return margin.sum() if reduction == "sum" else margin


def attack_loss(name: str, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Loss the attack ascends: ``ce`` mean cross-entropy (as torchattacks) or ``cw`` summed margin.

    Only the sign of its input gradient is used, so mean versus sum does not matter.
    """
    if name == "ce":
        return F.cross_entropy(logits, y)
    return cw_margin_loss(logits, y)


@contextmanager
def model_mode(model: nn.Module, train: bool) -> Iterator[nn.Module]:
    """Put ``model`` in train or eval mode for the block and restore its previous mode."""
    was_training = model.training
    model.train(train)
    try:
        yield model
    finally:
        model.train(was_training)


@contextmanager
def frozen_parameters(model: nn.Module) -> Iterator[nn.Module]:
    """Turn off ``requires_grad`` on the parameters for the block (the attack needs input
    gradients only, so autograd saves less); the previous flags are restored afterwards."""
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for p in params:
            p.requires_grad_(True)


def check_eps_255(value: float, name: str = "eps_255") -> None:
    """Raise :class:`ConfigError` unless ``value`` is a finite radius in [0, 255] pixel units."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise ConfigError(f"{name}: expected a number of pixel units (1/255), got {value!r}")
    if math.isnan(value) or not 0 <= value <= 255:
        raise ConfigError(f"{name}: must be in [0, 255] pixel units (1/255), got {value}")


@dataclass(frozen=True)
class PGD:
    """Projected gradient descent in L-infinity (Madry et al.); FGSM is ``steps=1``.

    Attributes:
        eps_255: radius in pixel units (8 means 8/255).
        alpha_255: step size in pixel units.
        steps: gradient steps per restart.
        random_start: start from a uniform point in the ε-ball (draws from torch's global RNG).
        restarts: independent runs; per image the first successful one (else the last) is kept.
        loss: ``ce`` (cross-entropy) or ``cw`` (Carlini-Wagner margin, i.e. CW-L∞).
        train_mode: run the model in train mode (as adversarial training does); default eval.
    """

    eps_255: float = 8.0
    alpha_255: float = 2.0
    steps: int = 10
    random_start: bool = True
    restarts: int = 1
    loss: str = "ce"
    train_mode: bool = False

    def __post_init__(self) -> None:
        check_eps_255(self.eps_255)
        alpha = self.alpha_255
        number = isinstance(alpha, numbers.Real) and not isinstance(alpha, bool)
        if not number or not math.isfinite(alpha):
            raise ConfigError(f"alpha_255: expected a finite step in pixel units, got {alpha!r}")
        if alpha < 0 or (alpha == 0 and self.eps_255 > 0):
            raise ConfigError(f"alpha_255: must be > 0, got {alpha}")
        if not isinstance(self.steps, numbers.Integral) or self.steps < 1:
            raise ConfigError(f"steps: must be an integer >= 1, got {self.steps!r}")
        if not isinstance(self.restarts, numbers.Integral) or self.restarts < 1:
            raise ConfigError(f"restarts: must be an integer >= 1, got {self.restarts!r}")
        if self.loss not in LOSSES:
            raise ConfigError(f"loss: unknown attack loss {self.loss!r}; use one of {LOSSES}")

    @property
    def eps(self) -> float:
        return self.eps_255 / 255

    @property
    def alpha(self) -> float:
        return self.alpha_255 / 255

    def __call__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 mask: torch.Tensor | None = None) -> torch.Tensor:
        """Adversarial images ``(N, C, H, W)`` in [0, 1] with ``|x_adv - x|_inf <= eps``.

        ``mask``: optional bool ``(N, 1, H, W)`` (or ``(N, C, H, W)``); the perturbation is
        confined to its True pixels (every other pixel stays exactly as in ``x``).
        """
        x = x.detach()
        if self.eps_255 == 0:
            return x.clone()
        if mask is not None:
            mask = mask.to(device=x.device, dtype=torch.bool).expand_as(x)
        with model_mode(model, self.train_mode), frozen_parameters(model):
            best = self._run_once(model, x, y, mask)
            for _ in range(self.restarts - 1):
                with torch.no_grad():
                    left = (model(best).argmax(1) == y).nonzero().squeeze(1)  # not fooled yet
                if left.numel() == 0:
                    break
                best[left] = self._run_once(model, x[left], y[left],
                                            None if mask is None else mask[left])
        return best

    def _run_once(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                  mask: torch.Tensor | None = None) -> torch.Tensor:
        # The ε-ball and [0, 1] intersect in one box: a single clamp projects onto both.
        lo = (x - self.eps).clamp_(min=0)
        hi = (x + self.eps).clamp_(max=1)
        if mask is not None:  # a box of width 0 outside the mask: those pixels cannot move
            lo, hi = torch.where(mask, lo, x), torch.where(mask, hi, x)
        x_adv = x.clone()
        if self.random_start:
            x_adv = torch.clamp(x_adv + torch.empty_like(x).uniform_(-self.eps, self.eps), lo, hi)
        for _ in range(self.steps):
            x_adv.requires_grad_(True)
            loss = attack_loss(self.loss, model(x_adv), y)
            (grad,) = torch.autograd.grad(loss, x_adv)
            x_adv = torch.clamp(x_adv.detach() + self.alpha * grad.sign(), lo, hi)
        return x_adv.detach()


def fgsm(eps_255: float = 8.0, train_mode: bool = False) -> PGD:
    """FGSM (Goodfellow et al.): one signed-gradient step of size ε from the clean image."""
    return PGD(eps_255, eps_255, steps=1, random_start=False, train_mode=train_mode)


def fgsm_rs(eps_255: float = 8.0, alpha_ratio: float = 1.25, train_mode: bool = True) -> PGD:
    """FGSM with random start ("fast" AT, Wong et al. 2020): step 1.25 ε from a random point."""
    return PGD(eps_255, alpha_ratio * eps_255, steps=1, random_start=True, train_mode=train_mode)
