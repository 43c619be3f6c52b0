"""Weights for a built model from a local file: safetensors, or ``torch.load(weights_only=True)``
(never an arbitrary unpickle), checked key by key and shape by shape before they are loaded."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from limeguard.config import ConfigError


def read_weights(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The tensors of a ``.safetensors`` file, or of a ``torch.save``d state dict (tensors only).

    Raises:
        ConfigError: no such file, or not a state dict of tensors (names the file).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"baseline.model.weights: {path} does not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            tensors = load_file(str(path))
        else:
            tensors = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file is a config error naming it
        raise ConfigError(f"baseline.model.weights: {path} is not readable as weights "
                          f"(safetensors, or a state dict for torch.load(weights_only=True)): "
                          f"{type(err).__name__}: {err}") from err
    if not isinstance(tensors, dict) or not all(isinstance(v, torch.Tensor) for v in tensors.values()):
        raise ConfigError(f"baseline.model.weights: {path} holds no state dict of tensors")
    return tensors


def load_weights(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load ``path`` into ``model`` (built by ``build_model``) after checking every key and shape.

    A state dict of the bare network (torchvision's, without this package's ``net.`` prefix) is
    accepted too.

    Raises:
        ConfigError: missing, unexpected or wrongly shaped tensors (each listed, with the file).
    """
    tensors = read_weights(path)
    expected = model.state_dict()
    if not set(tensors) & set(expected) and all(f"net.{k}" in expected for k in tensors):
        tensors = {f"net.{k}": v for k, v in tensors.items()}
    problems = _mismatches(expected, tensors)
    if problems:
        raise ConfigError(f"baseline.model.weights: {path} does not fit the model "
                          f"({getattr(getattr(model, 'spec', None), 'arch', type(model).__name__)}): "
                          + "; ".join(problems))
    model.load_state_dict(tensors, strict=True)
    return model


def _mismatches(expected: dict[str, torch.Tensor], given: dict[str, torch.Tensor]) -> list[str]:
    missing = sorted(set(expected) - set(given))
    unexpected = sorted(set(given) - set(expected))
    wrong = [f"{k} {tuple(given[k].shape)} != {tuple(expected[k].shape)}"
             for k in sorted(set(expected) & set(given)) if given[k].shape != expected[k].shape]
    return [f"{name}: {keys[:4]}{' ...' if len(keys) > 4 else ''} ({len(keys)})"
            for name, keys in (("missing", missing), ("unexpected", unexpected),
                               ("wrong shape", wrong)) if keys]
