"""The decoy benchmark's CNN (conv 20@5x5, pool, conv 50@5x5, pool, fc 800-256-10)."""

from __future__ import annotations

import torch
from torch import nn

from limeguard.models import build_model
from limeguard.models.registry import count_parameters


def test_decoy_cnn_maps_28x28_gray_to_logits() -> None:
    model = build_model("decoy_cnn", 10, in_channels=1, mean=[0.286], std=[0.353])
    out = model(torch.rand(3, 1, 28, 28))
    assert out.shape == (3, 10)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(800, 256), (256, 10)]
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.out_channels, m.kernel_size) for m in convs] == [(20, (5, 5)), (50, (5, 5))]
    assert count_parameters(model) == 233_196


def test_decoy_cnn_pools_other_sizes_to_800_features_and_keeps_28x28_exact() -> None:
    model = build_model("decoy_cnn", 10, in_channels=1, mean=[0.5], std=[0.5])
    assert model(torch.rand(2, 1, 32, 32)).shape == (2, 10)
    net = model.net if hasattr(model, "net") else next(iter(model.children()))
    x = torch.rand(2, 1, 28, 28)
    before = net[:5](x)  # (2, 50, 8, 8)
    assert torch.equal(net[5](before), torch.nn.functional.max_pool2d(before, 2))
