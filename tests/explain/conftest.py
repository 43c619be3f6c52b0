"""Fixtures for the explain tests: tiny seeded models and smooth synthetic images."""

from __future__ import annotations

import os

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402


def smooth_images(n: int, seed: int = 0, size: int = 32) -> torch.Tensor:
    """(n, 3, size, size) float32 in [0, 1]: blurred noise, SLIC splits it into ~20-40 pieces."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand((n, 3, size // 4, size // 4), generator=g)
    out = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    return out.clamp(0, 1)


class CornerModel(nn.Module):
    """Logits depend only on the mean colour of the top-left ``patch`` x ``patch`` corner."""

    def __init__(self, classes: int = 4, patch: int = 8) -> None:
        super().__init__()
        self.patch = patch
        self.head = nn.Linear(3, classes)
        with torch.no_grad():
            weight = torch.arange(3 * classes, dtype=torch.float32).reshape(classes, 3)
            self.head.weight.copy_(weight.sin() * 4)
            self.head.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x[:, :, : self.patch, : self.patch].mean((2, 3)))


class TinyCNN(nn.Module):
    """A few hundred parameters; enough to give non-trivial LIME weights."""

    def __init__(self, classes: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.head = nn.Linear(8 * 16, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.adaptive_avg_pool2d(F.relu(self.conv(x)), 4)
        return self.head(h.flatten(1))


@pytest.fixture
def images() -> torch.Tensor:
    return smooth_images(4)


@pytest.fixture
def tiny_cnn() -> nn.Module:
    torch.manual_seed(0)
    return TinyCNN().eval()


@pytest.fixture
def cpu() -> torch.device:
    return torch.device("cpu")
