"""ResNet-18 variants with a CIFAR stem (3x3 conv, stride 1, no max-pool)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PreActBlock(nn.Module):
    """Pre-activation basic block (He et al. 2016): BN-ReLU-conv, BN-ReLU-conv, plus shortcut."""

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.shortcut: nn.Module | None = None
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class PreActResNet(nn.Module):
    """PreAct-ResNet for 32x32 inputs, as used by "fast" adversarial training (Wong et al. 2020)."""

    def __init__(self, num_blocks: tuple[int, ...], num_classes: int, in_channels: int = 3) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
        stages, in_planes = [], 64
        for i, n in enumerate(num_blocks):
            planes, stride = 64 * 2**i, 1 if i == 0 else 2
            blocks = []
            for s in [stride] + [1] * (n - 1):
                blocks.append(PreActBlock(in_planes, planes, s))
                in_planes = planes
            stages.append(nn.Sequential(*blocks))
        self.layers = nn.Sequential(*stages)
        self.bn = nn.BatchNorm2d(in_planes)
        self.linear = nn.Linear(in_planes, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C, H, W) normalised -> logits (N, num_classes)."""
        out = self.layers(self.conv1(x))
        out = F.relu(self.bn(out))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)  # (N, 512)
        return self.linear(out)


def preact_resnet18(num_classes: int, in_channels: int = 3) -> nn.Module:
    """PreAct-ResNet-18 (11.2M parameters at 10 classes)."""
    return PreActResNet((2, 2, 2, 2), num_classes, in_channels)


def resnet18_cifar(num_classes: int, width: int = 64, in_channels: int = 3) -> nn.Module:
    """torchvision's ResNet-18 (BasicBlock) with the CIFAR stem: 3x3 conv stride 1, no max-pool.

    ``width`` is the channels of the stem and the first stage (the stages have width x 1, 2, 4, 8);
    64 is ResNet-18 (11.2M parameters). A smaller width builds the same modules, blocks and forward
    pass with fewer channels (the paper env's smoke run uses 8, ~175k parameters).
    """
    from torchvision.models.resnet import BasicBlock  # torchvision is slow to import

    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"width: must be an integer >= 1, got {width!r}")
    net = _resnet_of_width(width)(BasicBlock, [2, 2, 2, 2], num_classes=num_classes)
    net.conv1 = nn.Conv2d(in_channels, width, 3, stride=1, padding=1, bias=False)
    nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
    net.maxpool = nn.Identity()
    return net


def _resnet_of_width(width: int) -> type[nn.Module]:
    """torchvision's ``ResNet`` whose stages have ``width`` x (1, 2, 4, 8) channels; at 64 it is
    torchvision's class itself (the same modules, built in the same order)."""
    from torchvision.models.resnet import ResNet

    if width == 64:
        return ResNet

    class ResNetOfWidth(ResNet):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            # torchvision fixes the stem's BatchNorm at 64 channels and the head at 512 inputs
            self.bn1 = nn.BatchNorm2d(width)
            self.fc = nn.Linear(8 * width, self.fc.out_features)

        def _make_layer(self, block, planes: int, blocks: int, stride: int = 1,
                        dilate: bool = False) -> nn.Sequential:
            if planes == 64:  # the first stage: its input is the stem's width
                self.inplanes = width
            return super()._make_layer(block, planes * width // 64, blocks, stride, dilate)

    return ResNetOfWidth
