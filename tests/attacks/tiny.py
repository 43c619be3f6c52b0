"""A tiny CNN trained in a second on smooth synthetic 12x12 images: the attacks' test subject."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

N_CLASSES = 10
SIZE = 12


class TinyCNN(nn.Module):
    """Two convolutions and a linear head; logits ``(N, 10)`` for ``(N, 3, 12, 12)`` in [0, 1]."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)  # makes train and eval mode differ
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.head = nn.Linear(16 * (SIZE // 2) ** 2, N_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn(self.conv1((x - 0.5) / 0.25)))
        return self.head(F.relu(self.conv2(x)).flatten(1))


def synthetic_images(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` smooth images ``(n, 3, 12, 12)`` in [0, 1]: a per-class template plus noise."""
    g = torch.Generator().manual_seed(1234)
    templates = 0.5 + 0.2 * F.interpolate(
        torch.rand(N_CLASSES, 3, 3, 3, generator=g) - 0.5,
        size=SIZE,
        mode="bilinear",
        align_corners=False,
    )
    g.manual_seed(seed)
    y = torch.randint(0, N_CLASSES, (n,), generator=g)
    noise = F.interpolate(
        torch.randn(n, 3, 4, 4, generator=g), size=SIZE, mode="bilinear", align_corners=False
    )
    return (templates[y] + 0.04 * noise).clamp(0, 1), y


def trained_tiny_cnn(steps: int = 60) -> TinyCNN:
    """A TinyCNN trained with Adam on synthetic images; returned in eval mode."""
    torch.manual_seed(0)
    model = TinyCNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = synthetic_images(512, seed=1)
    for step in range(steps):
        sl = slice((step * 64) % 512, (step * 64) % 512 + 64)
        opt.zero_grad()
        F.cross_entropy(model(x[sl]), y[sl]).backward()
        opt.step()
    return model.eval()
