"""Every attack on grayscale images of another size (Fashion-MNIST's 1x28x28): shape-agnostic."""

from __future__ import annotations

import pytest
import torch

from limeguard.attacks import build_attack
from limeguard.models import build_model
from tests.attacks.test_properties import CASES, EPS_255, IDS


@pytest.mark.parametrize(("name", "options"), CASES, ids=IDS)
def test_attack_on_grayscale_28px(name: str, options: dict) -> None:
    torch.manual_seed(0)
    model = build_model("cnn_small", 10, in_channels=1, mean=[0.3], std=[0.3]).eval()
    x, y = torch.rand(6, 1, 28, 28), torch.tensor([0, 1, 2, 3, 4, 5])
    x_adv = build_attack(name, EPS_255, **options)(model, x, y)
    assert x_adv.shape == x.shape
    assert (x_adv - x).abs().max().item() <= EPS_255 / 255 + 1e-6
    assert x_adv.min().item() >= 0 and x_adv.max().item() <= 1
