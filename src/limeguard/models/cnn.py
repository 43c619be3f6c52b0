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


def decoy_cnn(num_classes: int, in_channels: int = 1) -> nn.Sequential:
    """The CNN of the decoy (Fashion-)MNIST comparisons (Friedrich et al. 2023): conv 20@5x5, ReLU,
    max-pool 2, conv 50@5x5, ReLU, max-pool 2, fc 800-256, ReLU, fc 256-``num_classes``.

    At 28x28 (28 -> 24 -> 12 -> 8 -> 4) the second pool's map is 50 x 4 x 4 = 800 features; an
    adaptive average pool to 4x4 after it (the identity at 28x28) lets other sizes (>= 16) run.

    Returns:
        A network mapping (N, in_channels, H, W) normalised images to (N, num_classes) logits;
        233,196 parameters with 1 channel and 10 classes.
    """
    return nn.Sequential(
        nn.Conv2d(in_channels, 20, 5), nn.ReLU(inplace=True), nn.MaxPool2d(2),  # 28 -> 12
        nn.Conv2d(20, 50, 5), nn.ReLU(inplace=True),  # 12 -> 8
        nn.Sequential(nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(4)),  # 8 -> 4 (identity pool at 28)
        nn.Flatten(), nn.Linear(800, 256), nn.ReLU(inplace=True),
        nn.Linear(256, num_classes),
    )
