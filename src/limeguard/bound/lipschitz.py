"""Margins, their input gradients, and local Lipschitz estimates split over S and R."""

from __future__ import annotations

import torch
from torch import nn

from limeguard.attacks.pgd import PGD
from limeguard.bound.config import BoundConfig


def margins(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(N,) ``z_y - max_{j != y} z_j`` of (N, classes) logits (> 0: correctly classified)."""
    true = logits.gather(1, y[:, None]).squeeze(1)
    others = logits.scatter(1, y[:, None], float("-inf"))
    return true - others.amax(1)


def split_dual_norms(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, m: torch.Tensor, k: int = 1
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """L1 norms of the margin gradient restricted to S (weights m) and to R (weights 1 - m).

    The margin against each of the ``k`` strongest other classes at ``x`` is differentiated;
    per image, the largest norm over those classes is kept (separately for S and R).

    Args:
        model: classifier returning logits (eval mode, parameters may be frozen).
        x: (N, C, H, W) points in [0, 1].
        y: (N,) labels.
        m: (N, 1, H, W) masks in [0, 1] (1 = spurious pixel).
        k: number of runner-up classes.

    Returns:
        ``l_s`` (N,), ``l_r`` (N,) and the gradient (N, C, H, W) of the margin against the
        strongest other class.
    """
    x = x.detach().requires_grad_(True)
    logits = model(x)
    k = min(k, logits.shape[1] - 1)
    others = logits.detach().scatter(1, y[:, None], float("-inf"))
    rivals = others.topk(k, dim=1).indices  # (N, k)
    true = logits.gather(1, y[:, None]).squeeze(1)
    l_s = x.new_zeros(len(x))
    l_r = x.new_zeros(len(x))
    first = None
    for i in range(k):
        g = true - logits.gather(1, rivals[:, i : i + 1]).squeeze(1)  # (N,) pairwise margin
        (grad,) = torch.autograd.grad(g.sum(), x, retain_graph=i < k - 1)
        mag = grad.abs()  # (N, C, H, W)
        l_s = torch.maximum(l_s, (mag * m).flatten(1).sum(1))
        l_r = torch.maximum(l_r, (mag * (1 - m)).flatten(1).sum(1))
        first = grad if first is None else first
    return l_s.detach(), l_r.detach(), first.detach()


def ball_points(
    x: torch.Tensor, y: torch.Tensor, model: nn.Module, cfg: BoundConfig,
    generator: torch.Generator,
) -> list[torch.Tensor]:  # fmt: skip
    """Sample points of the ε-ball around ``x`` (N, C, H, W), clamped to [0, 1]: ``x`` itself,
    ``cfg.n_samples`` uniform points and, with ``cfg.pgd_points``, a CW-margin PGD end point."""
    points = [x]
    for _ in range(cfg.n_samples):
        noise = torch.rand(x.shape, generator=generator).to(x.device)  # (N, C, H, W) in [0, 1)
        points.append((x + (2 * noise - 1) * cfg.eps).clamp(0, 1))
    if cfg.pgd_points and cfg.eps_255 > 0:
        attack = PGD(cfg.eps_255, cfg.step_ratio * cfg.eps_255 / cfg.pgd_steps,
                     steps=cfg.pgd_steps, random_start=False, loss="cw")  # fmt: skip
        points.append(attack(model, x, y))
    return points


def estimate_lipschitz(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, m: torch.Tensor, cfg: BoundConfig,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """``L_S`` (N,), ``L_R`` (N,): maxima over the ball's sample points of the split dual norms;
    and the margin gradient (N, C, H, W) at ``x`` itself."""
    l_s = l_r = grad0 = None
    for j, point in enumerate(ball_points(x, y, model, cfg, generator)):
        s, r, grad = split_dual_norms(model, point, y, m, cfg.classes_per_sample)
        l_s = s if l_s is None else torch.maximum(l_s, s)
        l_r = r if l_r is None else torch.maximum(l_r, r)
        grad0 = grad if j == 0 else grad0
    return l_s, l_r, grad0
