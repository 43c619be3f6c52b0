"""The optimiser choice of TrainConfig: SGD (the default) or Adam."""

from __future__ import annotations

import pytest
import torch

from limeguard.config import ConfigError, from_params
from limeguard.training import TrainConfig
from limeguard.training.loop import build_optimizer


def test_adam_is_built_with_the_configured_lr() -> None:
    net = torch.nn.Linear(3, 2)
    opt = build_optimizer(net, TrainConfig(optimizer="adam", lr=1e-3, weight_decay=0.0))
    assert isinstance(opt, torch.optim.Adam) and opt.param_groups[0]["lr"] == 1e-3
    assert isinstance(build_optimizer(net, TrainConfig()), torch.optim.SGD)


def test_unknown_optimizer_is_named() -> None:
    with pytest.raises(ConfigError, match="optimizer"):
        from_params(TrainConfig, {"optimizer": "rmsprop"}, "train")
