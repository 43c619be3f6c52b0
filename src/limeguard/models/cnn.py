"""Small plain CNNs for CPU runs: four 3x3 conv-BN-ReLU layers, three max-pools, a linear head."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn


def _conv_bn_relu(c_in: int, c_out: int) -> list[nn.Module]:
    return [
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


def conv_net(widths: Sequence[int], num_classes: int, in_channels: int = 3) -> nn.Sequential:
    """Four-conv CNN: conv(w0), conv(w1), pool, conv(w2), pool, conv(w3), pool, GAP, linear.

    Args:
        widths: output channels of the four conv layers.
        num_classes: number of logits.
        in_channels: input channels.

    Returns:
        A network mapping (N, in_channels, H, W) normalised images to (N, num_classes) logits.
        With widths (16, 32, 64, 64) it has 61,338 parameters; (32, 64, 128, 128): 242,474.
    """
    if len(widths) != 4 or any(int(w) < 1 for w in widths):
        raise ValueError(f"widths must be 4 positive ints, got {list(widths)}")
    w0, w1, w2, w3 = (int(w) for w in widths)
    layers: list[nn.Module] = []
    layers += _conv_bn_relu(in_channels, w0)
    layers += _conv_bn_relu(w0, w1) + [nn.MaxPool2d(2)]  # 32 -> 16
    layers += _conv_bn_relu(w1, w2) + [nn.MaxPool2d(2)]  # 16 -> 8
    layers += _conv_bn_relu(w2, w3) + [nn.MaxPool2d(2)]  # 8 -> 4
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(w3, num_classes)]
    return nn.Sequential(*layers)
