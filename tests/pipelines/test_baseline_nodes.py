"""The baseline node starts from ``baseline.model.weights`` when given, checked before training."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from limeguard.config import ConfigError
from limeguard.images.imageset import ImageSet
from limeguard.models import build_model
from limeguard.pipelines.baseline.nodes import train_baseline

RECIPE = {"method": "standard", "epochs": 1, "batch_size": 16, "lr": 1e-9, "val_steps": 0,
          "restore_best": False}
RUNTIME = {"device": "cpu", "progress": False}


def image_set(n: int, seed: int) -> ImageSet:
    g = torch.Generator().manual_seed(seed)
    return ImageSet(torch.rand((n, 3, 32, 32), generator=g), torch.arange(n) % 4,
                    torch.arange(n) + 1000 * seed, tuple(f"c{i}" for i in range(4)))


def test_the_baseline_starts_from_the_weights_file(tmp_path: Path) -> None:
    source = build_model("cnn_small", 4)
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, tmp_path / "w.safetensors")
    model, _ = train_baseline(image_set(32, 0), image_set(16, 1),
                              {"arch": "cnn_small", "weights": str(tmp_path / "w.safetensors")},
                              RECIPE, str(tmp_path / "ckpt"), RUNTIME)
    torch.manual_seed(12345)
    fresh = build_model("cnn_small", 4)
    for name, tensor in source.state_dict().items():  # lr 1e-9: the epoch barely moves them
        if tensor.is_floating_point() and tensor.dim() > 1:  # conv and linear weights
            assert torch.allclose(model.state_dict()[name], tensor, atol=1e-6), name
            assert not torch.allclose(fresh.state_dict()[name], tensor, atol=1e-3), name


def test_weights_of_another_shape_stop_before_training(tmp_path: Path) -> None:
    other = build_model("cnn_small", 10)  # 10 classes, the data has 4
    save_file({k: v.contiguous() for k, v in other.state_dict().items()}, tmp_path / "w.safetensors")
    with pytest.raises(ConfigError, match="w.safetensors"):
        train_baseline(image_set(32, 0), image_set(16, 1),
                       {"arch": "cnn_small", "weights": str(tmp_path / "w.safetensors")},
                       RECIPE, str(tmp_path / "ckpt"), RUNTIME)
    assert not (tmp_path / "ckpt").exists()
