"""Input-gradient penalties on flagged pixels by double backprop.

``loss_gradient``: ``|| s ⊙ m ⊙ ∇x CE(f(x), y) ||²`` (vanishes on confident predictions);
``rrr``: right for the right reasons (Ross et al. 2017), ``|| m ⊙ ∇x sum_k log p_k(x) ||²``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _objective(logits: torch.Tensor, y: torch.Tensor, form: str) -> torch.Tensor:
    """The scalar whose input gradient is penalised (summed over images: per-image gradients)."""
    if form == "rrr":
        return F.log_softmax(logits, dim=1).sum()
    if form == "loss_gradient":
        return F.cross_entropy(logits, y, reduction="sum")
    raise ValueError(f"penalty: unknown form {form!r}; use 'rrr' or 'loss_gradient'")


def input_gradient_penalty(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    weights: torch.Tensor,
    form: str = "rrr",
    batch_size: int | None = None,
) -> torch.Tensor:
    """Mean over images of the squared L2 norm of the weighted input gradient of ``form``.

    Per image ``i``: ``sum_{c,h,w} (weights_i ⊙ ∇x objective(x_i))²``, taken with
    ``create_graph=True`` so that the penalty has gradients with respect to the model's
    parameters. Computed in float32 (autocast off): the inner gradient is small and half
    precision would flush it. Images whose weights are all zero contribute 0 and are not run
    through the model.

    Args:
        model: classifier returning logits; its train/eval mode is left as it is.
        x: (B, C, H, W) images in [0, 1].
        y: (B,) int64 labels.
        weights: (B, 1, H, W) or (B, C, H, W) weights >= 0 (0 outside the mask).
        form: ``rrr`` (summed log-probabilities) or ``loss_gradient`` (the CE of the label).
        batch_size: divide by this instead of B (when ``x`` is the flagged part of a batch of
            that size, so the result stays the mean over the whole batch).

    Returns:
        Scalar tensor (differentiable in the parameters; 0 when every weight is 0).
    """
    denom = batch_size if batch_size is not None else len(x)
    active = weights.flatten(1).amax(1) > 0  # (B,) images with something to penalise
    if not bool(active.any()):
        return x.new_zeros(())
    x, y, weights = x[active], y[active], weights[active]
    with torch.autocast(device_type=x.device.type, enabled=False):
        x = x.detach().float().requires_grad_(True)
        objective = _objective(model(x), y, form)
        (grad,) = torch.autograd.grad(objective, x, create_graph=True)  # (b, C, H, W)
        weighted = weights.float() * grad
        return weighted.pow(2).sum() / denom


def sensitivity_penalty(model: nn.Module, x: torch.Tensor, y: torch.Tensor, weights: torch.Tensor,
                        batch_size: int | None = None) -> torch.Tensor:
    """``input_gradient_penalty`` of the loss gradient (the first version's penalty)."""
    return input_gradient_penalty(model, x, y, weights, "loss_gradient", batch_size)
