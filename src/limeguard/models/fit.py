"""A model's input side against the data: channels and per-channel normalisation statistics."""

from __future__ import annotations

from typing import Any

import torch

from limeguard.config import ConfigError
from limeguard.models.registry import COMMON_OPTIONS, ModelChoice


def check_model_fits(choice: ModelChoice, shape: tuple[int, int, int]) -> None:
    """``ConfigError`` naming ``baseline.model.options.*`` unless the model takes (C, H, W) images.

    A model built with the default options takes RGB; grayscale data needs ``in_channels: 1``
    and one ``mean``/``std`` value (see :func:`data_options`).
    """
    channels = shape[0]
    options = {**COMMON_OPTIONS, **choice.options}
    if options["in_channels"] != channels:
        raise ConfigError(f"baseline.model.options.in_channels: the model takes "
                          f"{options['in_channels']} channel(s), the data (data.source) has "
                          f"{channels}; set in_channels: {channels} with {channels} mean/std value(s)")
    for key in ("mean", "std"):
        if len(options[key]) != channels:
            raise ConfigError(f"baseline.model.options.{key}: {len(options[key])} value(s) for "
                              f"{channels}-channel data; give one per channel")


def data_options(choice: ModelChoice, images: torch.Tensor) -> dict[str, Any]:
    """``choice.options`` completed for ``images`` ((N, C, H, W) in [0, 1], the training split):
    ``in_channels`` and per-channel ``mean``/``std`` (4 decimals) where the options leave them
    unset and the defaults do not fit (C != 3). Options that are set, and RGB data, are kept as
    they are, so the CIFAR models' specs do not change."""
    options = dict(choice.options)
    channels = int(images.shape[1])
    if channels == COMMON_OPTIONS["in_channels"]:
        return options
    options.setdefault("in_channels", channels)
    flat = images.transpose(0, 1).reshape(channels, -1)  # (C, N*H*W)
    options.setdefault("mean", [round(float(v), 4) for v in flat.mean(1)])
    options.setdefault("std", [round(max(float(v), 1e-3), 4) for v in flat.std(1)])
    return options
