"""The miner on grayscale images of another size (Fashion-MNIST's 1x28x28)."""

from __future__ import annotations

import torch

from limeguard.explain.config import LimeConfig, MiningConfig
from limeguard.explain.mining import mine_spurious
from limeguard.models import build_model
from tests.explain.conftest import smooth_images


def test_batched_miner_on_grayscale_28px() -> None:
    torch.manual_seed(0)
    model = build_model("cnn_small", 4, in_channels=1, mean=[0.5], std=[0.25]).eval()
    images = smooth_images(16, size=28).mean(1, keepdim=True)  # (16, 1, 28, 28)
    labels = torch.arange(16) % 4
    cfg = MiningConfig(lime=LimeConfig(num_samples=100))
    result = mine_spurious(model, images, labels, list(range(16)), cfg, torch.device("cpu"))
    assert result.pixel_masks.shape == (16, 28, 28)
    assert result.class_masks.shape == (4, 28, 28)
