import pytest
import torch

from limeguard.config import ConfigError
from limeguard.models import ARCHITECTURES, ModelSpec, build_model, count_parameters

# Small options so every architecture's forward pass stays fast on CPU.
FAST_OPTIONS = {"wrn34_10": {"depth": 10, "widen_factor": 1}}


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_forward_gives_logits(arch):
    torch.manual_seed(0)
    model = build_model(arch, num_classes=7, **FAST_OPTIONS.get(arch, {})).eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        out = model(x)
    assert out.shape == (2, 7)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()
    assert model.spec == ModelSpec(arch, 7, FAST_OPTIONS.get(arch, {}))


@pytest.mark.parametrize(
    ("arch", "low", "high"),
    [
        ("cnn_small", 55_000, 65_000),
        ("cnn_medium", 220_000, 260_000),
        ("preact_resnet18", 11_100_000, 11_250_000),
        ("resnet18", 11_100_000, 11_250_000),
        ("wrn34_10", 46_000_000, 46_300_000),
    ],
)
def test_parameter_counts(arch, low, high):
    with torch.device("meta"):
        model = build_model(arch)
    assert low <= count_parameters(model) <= high


def test_normalisation_is_first_layer_and_not_in_state_dict():
    model = build_model("cnn_small", mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25])
    assert torch.allclose(model.normalize(torch.full((1, 3, 2, 2), 0.75)), torch.ones(1, 3, 2, 2))
    assert not any(k.startswith("normalize") for k in model.state_dict())


def test_channels_last_gives_same_logits():
    torch.manual_seed(0)
    model = build_model("cnn_small").eval()
    x = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        ref = model(x)
        out = model.to(memory_format=torch.channels_last)(x.to(memory_format=torch.channels_last))
    assert torch.allclose(ref, out, atol=1e-5)


def test_unknown_architecture_names_value_and_known_ones():
    with pytest.raises(ConfigError, match=r"'resnet99'.*cnn_small.*wrn34_10"):
        build_model("resnet99")


def test_unknown_or_bad_option_is_named():
    with pytest.raises(ConfigError, match="depht"):
        build_model("wrn34_10", depht=28)
    with pytest.raises(ConfigError, match="depth"):
        build_model("wrn34_10", depth=33)
    with pytest.raises(ConfigError, match="num_classes"):
        build_model("cnn_small", num_classes=1)


def test_spec_json_round_trip():
    spec = build_model("cnn_small", widths=(8, 8, 16, 16)).spec
    assert spec.options == {"widths": [8, 8, 16, 16]}
    assert ModelSpec.from_json(spec.to_json()) == spec
