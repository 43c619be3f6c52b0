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


def _resnet18_before_width() -> torch.nn.Module:
    """``resnet18_cifar`` as it was before its ``width`` option (the reference for width 64)."""
    from torchvision.models.resnet import BasicBlock, ResNet

    net = ResNet(BasicBlock, [2, 2, 2, 2], num_classes=10)
    net.conv1 = torch.nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
    torch.nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
    net.maxpool = torch.nn.Identity()
    return net


def test_resnet18_default_width_is_unchanged():
    """Width 64 (the default) builds the same modules with the same initial weights as before."""
    from limeguard.models.resnet import resnet18_cifar

    torch.manual_seed(0)
    before = _resnet18_before_width().state_dict()
    torch.manual_seed(0)
    now = resnet18_cifar(10).state_dict()
    assert list(now) == list(before)
    assert all(torch.equal(now[k], before[k]) for k in before)
    assert build_model("resnet18").spec.options == {}  # checkpoints of the default stay as they were


def test_resnet18_width_scales_every_stage(tmp_path):
    from limeguard.models import load_model, save_model

    model = build_model("resnet18", width=8)
    net = model.net
    assert net.conv1.out_channels == net.bn1.num_features == 8
    assert [stage[-1].conv2.out_channels for stage in (net.layer1, net.layer2, net.layer3, net.layer4)] == [
        8, 16, 32, 64]
    assert net.fc.in_features == 64 and 170_000 <= count_parameters(model) <= 180_000
    with torch.device("meta"):
        full = build_model("resnet18")
    assert {type(m).__name__ for m in model.modules()} == {type(m).__name__ for m in full.modules()} - {
        "ResNet"} | {"ResNetOfWidth"}
    model.eval()
    x = torch.rand(2, 3, 32, 32)
    save_model(model, tmp_path / "m.safetensors")
    loaded = load_model(tmp_path / "m.safetensors")
    assert loaded.spec == ModelSpec("resnet18", 10, {"width": 8})
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    with pytest.raises(ConfigError, match="width"):
        build_model("resnet18", width=0)
