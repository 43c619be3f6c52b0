"""Many weighted ridge regressions with intercept in one batched solve (as sklearn's Ridge)."""

from __future__ import annotations

import torch


def weighted_ridge(x: torch.Tensor, y: torch.Tensor, w: torch.Tensor,
                   alpha: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fit ``y ~ x @ coef + intercept`` per batch with sample weights, intercept unpenalised.

    Same solution as ``sklearn.linear_model.Ridge(alpha, fit_intercept=True).fit(x, y, w)``:
    centre x and y by their weighted means, then solve ``(Xc' W Xc + alpha I) coef = Xc' W yc``.

    Args:
        x: (B, S, F) design; constant (e.g. zero padding) columns get coefficient 0.
        y: (B, S) targets.
        w: (B, S) non-negative sample weights.
    Returns:
        coef (B, F), intercept (B,), weighted R^2 score (B,), all float64.
    """
    x, y, w = x.to(torch.float64), y.to(torch.float64), w.to(torch.float64)
    wsum = w.sum(1, keepdim=True)  # (B, 1)
    x_mean = (w[..., None] * x).sum(1) / wsum  # (B, F)
    y_mean = (w * y).sum(1, keepdim=True) / wsum  # (B, 1)
    xc = x - x_mean[:, None, :]
    yc = y - y_mean
    xw = xc * w[..., None]  # (B, S, F)
    eye = torch.eye(x.shape[-1], dtype=torch.float64, device=x.device)
    gram = xw.transpose(1, 2) @ xc + alpha * eye  # (B, F, F)
    rhs = (xw.transpose(1, 2) @ yc[..., None]).squeeze(-1)  # (B, F)
    coef = torch.linalg.solve(gram, rhs)
    intercept = y_mean.squeeze(1) - (x_mean * coef).sum(1)
    resid = yc - (xc @ coef[..., None]).squeeze(-1)
    total = (w * yc**2).sum(1)
    score = 1.0 - (w * resid**2).sum(1) / total.clamp_min(torch.finfo(torch.float64).tiny)
    return coef, intercept, score
