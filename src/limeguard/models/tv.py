"""torchvision's classification architectures by name (``torchvision.resnet18``), built for the
data's classes and channels, without downloading any weights (weights come from a local file:
:mod:`limeguard.models.weights`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from limeguard.config import ConfigError

PREFIX = "torchvision."


def is_torchvision(arch: str) -> bool:
    return arch.startswith(PREFIX)


def classification_models() -> list[str]:
    """Names of torchvision's classification architectures (``torchvision.models``)."""
    import torchvision.models as tvm

    return sorted(tvm.list_models(module=tvm))


def torchvision_builder(arch: str) -> Callable[..., nn.Module]:
    """A builder ``(num_classes, in_channels=3, **options)`` for ``torchvision.<name>``.

    Raises:
        ConfigError: ``<name>`` is not one of torchvision's classification models.
    """
    name = arch.removeprefix(PREFIX)
    known = classification_models()
    if name not in known:
        raise ConfigError(f"model.arch: {arch!r} is not a torchvision classification model; "
                          f"known: {', '.join(PREFIX + k for k in known[:8])}, ...")

    def build(num_classes: int, in_channels: int = 3, **options: Any) -> nn.Module:
        import torchvision.models as tvm

        net = tvm.get_model(name, weights=None, num_classes=num_classes, **options)
        if in_channels != 3:
            replace_first_conv(net, in_channels)
        return net

    return build


def replace_first_conv(net: nn.Module, in_channels: int) -> None:
    """Swap the first ``Conv2d`` of ``net`` for a fresh one that takes ``in_channels``."""
    for parent in net.modules():
        for child_name, child in parent.named_children():
            if isinstance(child, nn.Conv2d):
                setattr(parent, child_name, nn.Conv2d(
                    in_channels, child.out_channels, child.kernel_size, child.stride,
                    child.padding, child.dilation, child.groups, child.bias is not None,
                    child.padding_mode))
                return
    raise ConfigError(f"model.options.in_channels: {type(net).__name__} has no Conv2d to adapt")
