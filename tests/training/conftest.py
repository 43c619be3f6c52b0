"""Tiny seeded models and data for the training tests (CPU, seconds)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

NUM_CLASSES = 4


def tiny_cnn(seed: int = 0) -> nn.Module:
    """A ~1.6k-parameter CNN with BatchNorm (so running statistics matter for resume)."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, NUM_CLASSES),
    )


def separable_data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, 3, 16, 16) images in [0, 1] whose class is a colour: red, green, blue or grey."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, NUM_CLASSES, (n,), generator=g)
    x = 0.4 * torch.rand(n, 3, 16, 16, generator=g)
    for c in range(3):
        x[y == c, c] += 0.55
    x[y == 3] += 0.25
    return x.clamp(0, 1), y


@pytest.fixture
def model_factory() -> Callable[[], nn.Module]:
    return tiny_cnn


@pytest.fixture(scope="session")
def data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Train (96 images) and validation (32 images) splits of the separable task."""
    x, y = separable_data(128, seed=0)
    return x[:96], y[:96], x[96:], y[96:]


def state_equal(a: nn.Module, b: nn.Module) -> bool:
    """Bit-for-bit equality of two models' state dicts."""
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def shortcut_data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, 3, 16, 16) images with a robust and a non-robust feature of the class.

    The colour (±0.12 per channel, far beyond ε = 8/255) shows the class in 60% of the images
    (a random class otherwise); a ±0.03 stripe or checker pattern (within ε) shows it in all.
    Standard training learns the pattern, which PGD erases; adversarial training cannot use it
    and learns the colour.
    """
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, NUM_CLASSES, (n,), generator=g)
    shown = torch.where(torch.rand(n, generator=g) < 0.6, y, torch.randint(0, NUM_CLASSES, (n,), generator=g))
    colours = 0.12 * torch.tensor([[1.0, -1, -1], [-1, 1, -1], [-1, -1, 1], [1, 1, 1]])
    r = torch.arange(16)
    rows, cols = (r[:, None] % 2).expand(16, 16), (r[None, :] % 2).expand(16, 16)
    patterns = torch.stack([rows, cols, (rows + cols) % 2, 1 - (rows + cols) % 2]).float()
    patterns = 0.03 * (2 * patterns - 1)[:, None].expand(NUM_CLASSES, 3, 16, 16)
    x = 0.5 + 0.1 * (2 * torch.rand(n, 3, 16, 16, generator=g) - 1)
    return (x + colours[shown][:, :, None, None] + patterns[y]).clamp(0, 1), y
