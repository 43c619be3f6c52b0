"""Tiny seeded models and images for the refinement tests (CPU, seconds)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

NUM_CLASSES = 3
SIZE = 12


def tiny_net(seed: int = 0) -> nn.Module:
    """A two-conv net with BatchNorm (~700 parameters) for (N, 3, 12, 12) images."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1, bias=False), nn.BatchNorm2d(6), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, NUM_CLASSES),
    )  # fmt: skip


class CountingNet(nn.Module):
    """Wraps a model and records the batch size of every forward pass."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.calls: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(len(x))
        return self.inner(x)


def images(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, 3, 12, 12) smooth images in [0, 1] with (n,) labels (the brightest channel)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, NUM_CLASSES, (n,), generator=g)
    x = 0.3 * torch.rand(n, 3, SIZE, SIZE, generator=g)
    x[torch.arange(n), y] += 0.5
    return x.clamp(0, 1), y


def random_masks(n: int, seed: int, share: float = 0.3) -> torch.Tensor:
    """(n, 12, 12) float masks, each with at least one flagged pixel."""
    g = torch.Generator().manual_seed(seed)
    m = (torch.rand(n, SIZE, SIZE, generator=g) < share).float()
    m[:, 0, 0] = 1.0
    return m


@pytest.fixture
def data() -> tuple[torch.Tensor, torch.Tensor]:
    return images(16, seed=0)
