"""Layers shared by every architecture."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2471, 0.2435, 0.2616)


class Normalize(nn.Module):
    """Per-channel ``(x - mean) / std``: the first layer of every model.

    The statistics are non-persistent buffers: they follow ``.to(device)`` but are not in the
    ``state_dict`` (they come from the model's spec when a checkpoint is loaded).
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        if len(mean) != len(std):
            raise ValueError(
                f"mean and std must have the same length, got {len(mean)} and {len(std)}"
            )
        if any(s <= 0 for s in std):
            raise ValueError(f"std must be positive, got {list(std)}")
        self.register_buffer(
            "mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1), False
        )
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1), False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C, H, W) float in [0, 1] -> normalised (N, C, H, W)."""
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()}"


class Classifier(nn.Module):
    """``Normalize`` followed by a network that maps normalised images to logits."""

    def __init__(self, net: nn.Module, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.normalize = Normalize(mean, std)
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C, H, W) float32 in [0, 1] -> logits (N, num_classes)."""
        return self.net(self.normalize(x))
