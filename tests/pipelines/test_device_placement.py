"""Every node that takes a model (and tensors) runs them on ``runtime.device``.

A CPU machine has one real device, so a node that forgets ``model.to(device)`` passes every CPU
test and fails on the first GPU (a CPU model fed CUDA tensors). Here ``runtime.device`` resolves to
torch's ``meta`` device instead (tensors with shapes and no data: a second device every machine
has), the model is built on the CPU, and a forward pre-hook records where the model's parameters,
buffers and inputs are at its first forward pass, then stops the node there (meta tensors hold no
values to go on with). A node that leaves the model on the CPU shows ``cpu`` parameters beside
``meta`` inputs. The only stand-in is the device the name resolves to; each node's own code runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
import torch
from torch import nn

import limeguard.pipelines.evaluate.nodes as evaluate_nodes
import limeguard.pipelines.mine.nodes as mine_nodes
import limeguard.refinement.rounds as rounds_library
from limeguard.images.imageset import ImageSet
from limeguard.models import build_model
from limeguard.pipelines.rounds.nodes import refine_round, train_control
from limeguard.training import TrainConfig, train_model

CLASSES = tuple(f"c{i}" for i in range(10))
RUNTIME = {"device": "cpu", "progress": False}  # resolved to `meta` by the fixture below
EVALUATE = {"max_images": 8, "bound_images": 4,
            "bound": {"n_samples": 2, "pgd_steps": 1, "attack_steps": 2, "bisection_iters": 2},
            "masking": {"probe_size": 8},
            "attacks": {"eps_255": [8], "small_eps_linf": [], "batch_size": 8,
                        "attacks": [{"name": "pgd", "options": {"steps": 2}},
                                    {"name": "autoattack"}]}}


class FirstForward(BaseException):  # noqa: N818  (BaseException: no `except Exception` swallows it)
    """Raised by the probe at the model's first forward pass."""


def probed(model: nn.Module) -> dict[str, set[str]]:
    """Record, at ``model``'s first forward pass, the device types of its parameters and buffers
    and of the tensors it is called with, then raise :class:`FirstForward`."""
    seen: dict[str, set[str]] = {}

    def hook(module: nn.Module, args: tuple[Any, ...]) -> None:
        seen["model"] = {t.device.type for t in [*module.parameters(), *module.buffers()]}
        seen["inputs"] = {a.device.type for a in args if isinstance(a, torch.Tensor)}
        raise FirstForward

    model.register_forward_pre_hook(hook)
    return seen


def runs_on_meta(call: Callable[[nn.Module], Any], arch: str = "cnn_small",
                 **options: Any) -> dict[str, set[str]]:
    model = build_model(arch, len(CLASSES), **options)
    assert {p.device.type for p in model.parameters()} == {"cpu"}
    seen = probed(model)
    with pytest.raises(FirstForward):
        call(model)
    return seen


@pytest.fixture
def on_meta(monkeypatch: pytest.MonkeyPatch) -> None:
    """``runtime.device`` resolves to the meta device in every module whose nodes take a model."""
    for module in (evaluate_nodes, mine_nodes, rounds_library):
        monkeypatch.setattr(module, "resolve_device", lambda name="auto": torch.device("meta"))


def image_set(n: int, seed: int = 0) -> ImageSet:
    g = torch.Generator().manual_seed(seed)
    return ImageSet(torch.rand((n, 3, 32, 32), generator=g), torch.arange(n) % len(CLASSES),
                    torch.arange(n) + 1000 * seed, CLASSES)


def masks_of(images: ImageSet) -> dict[str, Any]:
    n = len(images)
    return {"pixel_masks": torch.zeros((n, 32, 32), dtype=torch.uint8), "ids": images.ids,
            "class_masks": torch.zeros((len(CLASSES), 32, 32)), "labels": images.labels,
            "sensitivity": torch.ones((n, 1, 32, 32))}


def test_the_probe_sees_a_model_left_on_the_cpu() -> None:
    """The check itself: a model not moved shows cpu parameters beside meta inputs."""
    seen = runs_on_meta(lambda model: model(torch.rand(2, 3, 32, 32, device="meta")))
    assert seen == {"model": {"cpu"}, "inputs": {"meta"}}
    seen = runs_on_meta(lambda model: model.to("meta")(torch.rand(2, 3, 32, 32, device="meta")))
    assert seen == {"model": {"meta"}, "inputs": {"meta"}}


EVALUATE_NODES = {
    "attack_model": lambda m: evaluate_nodes.attack_model(m, image_set(8), EVALUATE, RUNTIME),
    "check_masking": lambda m: evaluate_nodes.check_masking(m, image_set(8), pd.DataFrame(),
                                                            EVALUATE, RUNTIME),
    "corruption_accuracy": lambda m: evaluate_nodes.corruption_accuracy(
        m, image_set(4), pd.DataFrame({"image_id": range(4)}), RUNTIME),
    "reliance_on_cue": lambda m: evaluate_nodes.reliance_on_cue(
        m, image_set(4), image_set(4), image_set(4), RUNTIME),
    "attack_uncued": lambda m: evaluate_nodes.attack_uncued(m, image_set(8), EVALUATE, RUNTIME),
    "estimate_bound": lambda m: evaluate_nodes.estimate_bound(
        m, image_set(8), masks_of(image_set(8)), EVALUATE, RUNTIME),
}


@pytest.mark.parametrize("node", sorted(EVALUATE_NODES))
def test_evaluate_nodes_move_the_model_to_the_runtime_device(node: str, on_meta: None) -> None:
    assert runs_on_meta(EVALUATE_NODES[node]) == {"model": {"meta"}, "inputs": {"meta"}}


def test_mine_model_moves_the_model_to_the_runtime_device(on_meta: None) -> None:
    images = image_set(10)
    mine = {"figure_images": 1, "stability_images": 2,
            "mining": {"lime": {"num_samples": 60},
                       "criteria": {"copies": 2, "transplant": {"recipients": 4}}}}
    segments = mine_nodes.segment_mining_images(images, mine)
    seen = runs_on_meta(lambda m: mine_nodes.mine_model(m, images, segments, mine, RUNTIME))
    assert seen == {"model": {"meta"}, "inputs": {"meta"}}


ROUNDS = {"count": 1, "train": {"method": "pgd_at", "epochs": 1, "batch_size": 8, "val_steps": 1,
                                "val_max_images": 8, "attack": {"steps": 1}}}


@pytest.mark.parametrize("node", ["refine_round", "train_control"])
def test_rounds_nodes_move_the_model_to_the_runtime_device(node: str, on_meta: None,
                                                           tmp_path) -> None:
    train, val = image_set(16), image_set(8, seed=1)
    rounds = {**ROUNDS, "checkpoint_root": str(tmp_path)}
    if node == "refine_round":
        def call(m):
            return refine_round(m, train, val, masks_of(train), rounds, RUNTIME, round_index=1,
                                dag_rounds=1)
    else:
        def call(m):
            return train_control(m, train, val, masks_of(train), rounds, RUNTIME, dag_rounds=1)
    assert runs_on_meta(call) == {"model": {"meta"}, "inputs": {"meta"}}


def test_training_moves_the_model_to_its_device() -> None:
    """``train_model`` (the baselines' trainer: ``train_baseline`` builds its model inside)."""
    train, val = image_set(16), image_set(8, seed=1)
    cfg = TrainConfig(method="pgd_at", epochs=1, batch_size=8, val_steps=1, val_max_images=8)
    seen = runs_on_meta(lambda m: train_model(m, train.images, train.labels, val.images,
                                              val.labels, cfg, device=torch.device("meta")))
    assert seen == {"model": {"meta"}, "inputs": {"meta"}}


def test_the_paper_architecture_is_moved_too(on_meta: None) -> None:
    """ResNet-18 (the paper env's, at the smoke run's width) through the AutoAttack node."""
    seen = runs_on_meta(lambda m: evaluate_nodes.attack_uncued(m, image_set(8), EVALUATE, RUNTIME),
                        arch="resnet18", width=8)
    assert seen == {"model": {"meta"}, "inputs": {"meta"}}
