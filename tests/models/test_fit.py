"""Models for the data's channels: ``in_channels``, per-channel statistics, the pre-run check."""

from __future__ import annotations

import pytest
import torch

from limeguard.config import ConfigError
from limeguard.hooks.parameters import check_across_sections
from limeguard.models import ARCHITECTURES, ModelChoice, build_model
from limeguard.models.fit import check_model_fits, data_options

SMALL = {"resnet18": {"width": 8}, "wrn34_10": {"depth": 10, "widen_factor": 1}}


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_every_architecture_takes_grayscale_of_another_size(arch: str) -> None:
    model = build_model(arch, 3, in_channels=1, mean=[0.5], std=[0.25], **SMALL.get(arch, {}))
    assert model.eval()(torch.rand(2, 1, 28, 28)).shape == (2, 3)


def test_default_spec_is_unchanged() -> None:
    """RGB models keep the options they were given: CIFAR checkpoints do not change."""
    torch.manual_seed(0)
    a = build_model("cnn_small", 10)
    torch.manual_seed(0)
    b = build_model("cnn_small", 10, in_channels=3)
    assert a.spec.options == {} and torch.equal(a.net[0].weight, b.net[0].weight)


def test_statistics_must_match_the_channels() -> None:
    with pytest.raises(ConfigError, match="one value per input channel"):
        build_model("cnn_small", 10, in_channels=1)


def test_check_names_the_key() -> None:
    with pytest.raises(ConfigError, match="baseline.model.options.in_channels: .* has 1"):
        check_model_fits(ModelChoice(), (1, 28, 28))
    check_model_fits(ModelChoice(options={"in_channels": 1, "mean": [0.3], "std": [0.3]}), (1, 28, 28))


def test_data_options_fill_grayscale_only() -> None:
    gray = torch.full((4, 1, 8, 8), 0.25)
    gray[0] = 0.75
    options = data_options(ModelChoice(), gray)
    assert options["in_channels"] == 1 and options["mean"] == [0.375]
    assert data_options(ModelChoice(), torch.rand(4, 3, 8, 8)) == {}


def test_parameter_check_stops_a_grayscale_run_with_an_rgb_model() -> None:
    params = {"data": {"source": {"dataset": "fashion_mnist", "order": ["idx_folder"]}},
              "baseline": {"model": {"arch": "cnn_small", "options": {}}}}
    with pytest.raises(ConfigError, match="in_channels"):
        check_across_sections(params)
