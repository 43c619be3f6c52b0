"""Architecture registry: ``build_model(arch, num_classes, **options)`` and the model's spec."""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from limeguard.config import ConfigError
from limeguard.models import cnn, resnet, wideresnet
from limeguard.models.layers import CIFAR10_MEAN, CIFAR10_STD, Classifier
from limeguard.models.tv import is_torchvision, torchvision_builder

# Options every architecture accepts: the normalisation applied by the model's first layer, and
# the input channels (its statistics have one value per channel).
COMMON_OPTIONS = {"mean": CIFAR10_MEAN, "std": CIFAR10_STD, "in_channels": 3}


@dataclass(frozen=True)
class ModelChoice:
    """``params:baseline.model``: the architecture, its builder options and, optionally, a local
    weights file (safetensors or a ``torch.save`` state dict, read with ``weights_only=True``) to
    start from, checked key by key and shape by shape before training."""

    arch: str = "cnn_small"
    options: dict[str, Any] = field(default_factory=dict)
    weights: str | None = None


@dataclass(frozen=True)
class ModelSpec:
    """What is needed to rebuild a model: architecture name, classes and builder options.

    ``options`` holds JSON values only (tuples become lists), so a spec survives a JSON round trip
    unchanged. Being a dict, it makes the spec unhashable.
    """

    arch: str
    num_classes: int = 10
    options: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelSpec:
        data = json.loads(text)
        if not isinstance(data, dict) or set(data) != {"arch", "num_classes", "options"}:
            raise ValueError(f"not a model spec: {text[:200]!r}")
        return cls(data["arch"], int(data["num_classes"]), dict(data["options"]))


def _small(num_classes: int, widths: tuple[int, ...] = (16, 32, 64, 64),
           in_channels: int = 3) -> nn.Module:
    """~61k parameters; ~1000 train images/s on 2 CPU cores with channels-last."""
    return cnn.conv_net(widths, num_classes, in_channels)


def _medium(num_classes: int, widths: tuple[int, ...] = (32, 64, 128, 128),
            in_channels: int = 3) -> nn.Module:
    """~242k parameters."""
    return cnn.conv_net(widths, num_classes, in_channels)


ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "cnn_small": _small,
    "decoy_cnn": cnn.decoy_cnn,
    "cnn_medium": _medium,
    "preact_resnet18": resnet.preact_resnet18,
    "resnet18": resnet.resnet18_cifar,
    "wrn34_10": wideresnet.wide_resnet,
}


def architecture_options(arch: str) -> dict[str, Any]:
    """The options ``arch`` accepts, with their defaults (including ``mean`` and ``std``);
    for ``torchvision.<name>``, only the common ones (torchvision checks its own)."""
    builder = _builder(arch)
    params = inspect.signature(builder).parameters
    own = {k: p.default for k, p in params.items()
           if k != "num_classes" and p.kind is not inspect.Parameter.VAR_KEYWORD}
    return {**own, **COMMON_OPTIONS}


def build_model(arch: str, num_classes: int = 10, **options: Any) -> nn.Module:
    """Build a classifier with its normalisation as first layer and its spec attached.

    Args:
        arch: a key of :data:`ARCHITECTURES`, or ``torchvision.<name>`` for one of torchvision's
            classification models (built without weights; its options go to torchvision).
        num_classes: number of logits (>= 2).
        **options: architecture options (see :func:`architecture_options`); ``mean``/``std``
            (per channel, pixel units in [0, 1]) default to the CIFAR-10 statistics;
            ``in_channels`` (default 3) needs as many ``mean``/``std`` values.

    Returns:
        A module mapping float32 (N, in_channels, H, W) images in [0, 1] to (N, num_classes) logits, in
        train mode, with ``model.spec`` a :class:`ModelSpec` holding exactly the given options.

    Raises:
        ConfigError: unknown architecture or option, or an invalid option value (named).
    """
    known = architecture_options(arch)
    unknown = sorted(set(options) - set(known))
    if unknown and not is_torchvision(arch):
        raise ConfigError(
            f"model.options: unknown option(s) {unknown} for architecture {arch!r}; "
            f"known: {sorted(known)}"
        )
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ConfigError(f"model.num_classes: must be an int >= 2, got {num_classes!r}")
    spec = ModelSpec(arch, num_classes, _jsonable(options))
    return build_from_spec(spec)


def build_from_spec(spec: ModelSpec) -> nn.Module:
    """Rebuild the (freshly initialised) model that ``spec`` describes; see :func:`build_model`."""
    opts = dict(spec.options)
    mean = opts.pop("mean", COMMON_OPTIONS["mean"])
    std = opts.pop("std", COMMON_OPTIONS["std"])
    in_channels = opts.pop("in_channels", COMMON_OPTIONS["in_channels"])
    if in_channels not in (1, 3) or isinstance(in_channels, bool):
        raise ConfigError(f"model.options.in_channels: 1 or 3, got {in_channels!r}")
    if len(mean) != in_channels or len(std) != in_channels:
        raise ConfigError(f"model.options.mean / std: one value per input channel ({in_channels}),"
                          f" got {len(mean)} and {len(std)}")
    try:
        net = _builder(spec.arch)(spec.num_classes, in_channels=in_channels, **opts)
        model = Classifier(net, mean, std)
    except (TypeError, ValueError) as err:
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(f"model.options for {spec.arch!r}: {err}") from err
    model.spec = spec
    return model


def _builder(arch: str) -> Callable[..., nn.Module]:
    if is_torchvision(arch):
        return torchvision_builder(arch)
    if arch not in ARCHITECTURES:
        raise ConfigError(
            f"model.arch: unknown architecture {arch!r}; known: {sorted(ARCHITECTURES)}"
        )
    return ARCHITECTURES[arch]


def _jsonable(options: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(dict(options), sort_keys=True))
    except (TypeError, ValueError) as err:
        raise ConfigError(f"model.options: values must be JSON-serialisable ({err})") from err


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (works on models built on the ``meta`` device)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
