"""sensitivity_penalty: the formula, zero outside the mask, trainable by double backprop."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from limeguard.refinement import input_gradient_penalty, sensitivity_penalty
from tests.refinement.conftest import images, random_masks, tiny_net


def _linear() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 12 * 12, 3))


def test_matches_the_closed_form_of_a_linear_model() -> None:
    model = _linear()
    x, y = images(4, seed=1)
    w = random_masks(4, seed=2)[:, None] * 2.0  # (4, 1, 12, 12): s = 2 on the mask
    p = F.softmax(model(x), 1) - F.one_hot(y, 3)  # (4, 3): dCE/dlogits per image
    grad = (p @ model[1].weight).view_as(x)  # (4, 3, 12, 12)
    expected = (w * grad).pow(2).flatten(1).sum(1).mean()
    assert torch.allclose(sensitivity_penalty(model, x, y, w), expected, rtol=1e-5)


def test_zero_where_the_mask_is_zero() -> None:
    model = tiny_net()
    x, y = images(4, seed=3)
    assert float(sensitivity_penalty(model, x, y, torch.zeros(4, 1, 12, 12))) == 0.0
    m = torch.zeros(4, 1, 12, 12)
    m[:2, :, :6] = 1.0  # images 2, 3 have no mask: the penalty is the mean over 4 of images 0, 1
    full = sensitivity_penalty(model.eval(), x, y, m)
    half = sensitivity_penalty(model, x[:2], y[:2], m[:2])
    assert torch.allclose(full, half / 2, rtol=1e-5)


def test_is_a_per_image_mean_not_a_batch_mean_gradient() -> None:
    model = tiny_net().eval()
    x, y = images(1, seed=4)
    w = torch.ones(1, 1, 12, 12)
    one = sensitivity_penalty(model, x, y, w)
    two = sensitivity_penalty(model, x.repeat(2, 1, 1, 1), y.repeat(2), w.repeat(2, 1, 1, 1))
    assert torch.allclose(one, two, rtol=1e-5)


def test_double_backprop_reaches_the_parameters() -> None:
    model = tiny_net()
    x, y = images(8, seed=5)
    penalty = sensitivity_penalty(model, x, y, random_masks(8, seed=6)[:, None])
    grads = torch.autograd.grad(penalty, list(model.parameters()), allow_unused=True)
    assert penalty > 0
    assert sum(float(g.abs().sum()) for g in grads if g is not None) > 0
    assert grads[0] is not None and float(grads[0].abs().sum()) > 0  # first conv


def test_rrr_does_not_vanish_on_confident_predictions() -> None:
    model = _linear()
    with torch.no_grad():
        model[1].weight.mul_(1e4)  # saturated softmax: the CE's input gradient vanishes
    x, _ = images(4, seed=5)
    y = model(x).argmax(1)
    w = torch.ones(4, 1, 12, 12)
    assert float(input_gradient_penalty(model, x, y, w, "loss_gradient").detach()) < 1e-6
    # rrr: the gradient of sum_k log p_k = sum_k (w_k - K p @ W) is the closed form below
    p = F.softmax(model(x), 1)
    grad = (model[1].weight.sum(0) - 3 * p @ model[1].weight).view_as(x)
    expected = grad.pow(2).flatten(1).sum(1).mean()
    got = input_gradient_penalty(model, x, y, w, "rrr")
    assert float(got) > 1.0 and torch.allclose(got, expected, rtol=1e-4)
