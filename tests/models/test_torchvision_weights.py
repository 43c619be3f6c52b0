"""torchvision architectures by name, and weights from local files (checked before loading)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from limeguard.config import ConfigError
from limeguard.models import build_model, load_model, save_model
from limeguard.models.weights import load_weights


def test_torchvision_resnet18_for_grayscale_of_another_size() -> None:
    model = build_model("torchvision.resnet18", 3, in_channels=1, mean=[0.5], std=[0.25])
    assert model.net.conv1.in_channels == 1
    assert model.eval()(torch.rand(2, 1, 40, 40)).shape == (2, 3)


def test_torchvision_checkpoint_round_trip(tmp_path: Path) -> None:
    model = build_model("torchvision.mobilenet_v3_small", 4)
    save_model(model, tmp_path / "m.safetensors")
    again = load_model(tmp_path / "m.safetensors")
    assert again.spec.arch == "torchvision.mobilenet_v3_small"
    x = torch.rand(1, 3, 32, 32)
    assert torch.equal(model.eval()(x), again(x))


def test_unknown_torchvision_model_is_named() -> None:
    with pytest.raises(ConfigError, match="'torchvision.resnet19' is not a torchvision"):
        build_model("torchvision.resnet19", 10)


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_weights_of_the_bare_network_load(tmp_path: Path, suffix: str) -> None:
    from safetensors.torch import save_file

    source = build_model("torchvision.resnet18", 3)
    path = tmp_path / f"w{suffix}"
    state = {k: v.contiguous() for k, v in source.net.state_dict().items()}
    if suffix == ".safetensors":
        save_file(state, str(path))
    else:
        torch.save(state, path)
    target = load_weights(build_model("torchvision.resnet18", 3), path)
    assert torch.equal(target.net.fc.weight, source.net.fc.weight)


def test_weights_of_another_head_are_refused_before_training(tmp_path: Path) -> None:
    torch.save(build_model("torchvision.resnet18", 10).state_dict(), tmp_path / "w.pt")
    with pytest.raises(ConfigError, match=r"w.pt does not fit .*wrong shape: \['net.fc.bias"):
        load_weights(build_model("torchvision.resnet18", 3), tmp_path / "w.pt")


def test_pickled_objects_are_refused(tmp_path: Path) -> None:
    torch.save({"model": torch.nn.Linear(2, 2)}, tmp_path / "w.pt")  # a module, not tensors
    with pytest.raises(ConfigError, match="w.pt is not readable as weights"):
        load_weights(build_model("cnn_small", 3), tmp_path / "w.pt")


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="absent.safetensors does not exist"):
        load_weights(build_model("cnn_small", 3), tmp_path / "absent.safetensors")
