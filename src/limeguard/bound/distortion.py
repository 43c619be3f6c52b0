"""Empirical minimal L∞ distortion: bisection on the radius of a per-image-ε PGD."""

from __future__ import annotations

import torch
from torch import nn

from limeguard.attacks.pgd import cw_margin_loss
from limeguard.bound.config import BoundConfig


def pgd_breaks(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: torch.Tensor, steps: int,
    step_ratio: float = 2.5, random_start: bool = True, generator: torch.Generator | None = None,
) -> torch.Tensor:  # fmt: skip
    """Whether CW-margin PGD with a per-image radius misclassifies each image at some iterate.

    Args:
        model: classifier (eval mode).
        x: (N, C, H, W) images in [0, 1]; ``y``: (N,) labels.
        eps: (N,) radii in raw pixel scale.
        steps: PGD steps of size ``step_ratio * eps / steps``.
        random_start: start from a uniform point of the ball.
        generator: CPU generator of the random start.

    Returns:
        (N,) bool.
    """
    radius = eps.view(-1, 1, 1, 1).to(x)  # (N, 1, 1, 1)
    lo, hi = (x - radius).clamp(min=0), (x + radius).clamp(max=1)
    x_adv = x.clone()
    if random_start:
        noise = torch.rand(x.shape, generator=generator).to(x.device)
        x_adv = torch.minimum(torch.maximum(x + (2 * noise - 1) * radius, lo), hi)
    broken = torch.zeros(len(x), dtype=torch.bool, device=x.device)
    for _ in range(steps + 1):
        x_adv.requires_grad_(True)
        logits = model(x_adv)
        broken |= logits.detach().argmax(1) != y
        if _ == steps:
            break
        (grad,) = torch.autograd.grad(cw_margin_loss(logits, y), x_adv)
        step = x_adv.detach() + step_ratio * radius / steps * grad.sign()
        x_adv = torch.minimum(torch.maximum(step, lo), hi)
    return broken


def minimal_distortion(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: BoundConfig,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Smallest radius at which PGD breaks each image, by bisection on ``[0, max_eps]``.

    Returns:
        ``eps`` (N,) raw radii (the upper end of the final bracket: PGD succeeded there;
        ``max_eps`` for censored images) and ``censored`` (N,) bool: not broken at ``max_eps``.
    """

    def probe(idx: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        return pgd_breaks(model, x[idx], y[idx], eps, cfg.attack_steps, cfg.step_ratio,
                          cfg.random_start, generator)  # fmt: skip

    everyone = torch.arange(len(x), device=x.device)
    eps = torch.full((len(x),), cfg.max_eps, device=x.device)
    censored = ~probe(everyone, eps)
    live = everyone[~censored]  # images PGD breaks at max_eps: bisect their radius
    lo, hi = torch.zeros(len(live), device=x.device), eps[live]
    for _ in range(cfg.bisection_iters if len(live) else 0):
        mid = (lo + hi) / 2
        broken = probe(live, mid)
        hi = torch.where(broken, mid, hi)
        lo = torch.where(broken, lo, mid)
    eps[live] = hi
    return eps, censored
