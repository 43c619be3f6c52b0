"""Self-describing model checkpoints in safetensors: tensors + spec + user metadata, never pickle.

File layout: the model's ``state_dict`` as safetensors tensors; the safetensors header metadata
holds ``format`` (:data:`FORMAT`), ``spec`` (:class:`ModelSpec` as JSON) and ``metadata`` (the
user's dict as JSON). Writes are atomic: a temporary file in the same folder is renamed over the
target, so an interrupted save never leaves a half-written checkpoint.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from limeguard.atomic import write_atomically
from limeguard.config import ConfigError
from limeguard.models.registry import ModelSpec, build_from_spec
from limeguard.safetensors_io import dump

log = logging.getLogger(__name__)

FORMAT = "limeguard.model/1"


class CheckpointError(ValueError):
    """A file is not a valid limeguard checkpoint or does not match its architecture."""


def unwrap(model: nn.Module) -> nn.Module:
    """The underlying model of ``torch.compile`` / ``DataParallel`` / DDP wrappers."""
    while True:
        if hasattr(model, "_orig_mod"):
            model = model._orig_mod
        elif isinstance(model, nn.DataParallel | nn.parallel.DistributedDataParallel):
            model = model.module
        else:
            return model


def save_model(model: nn.Module, path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Write ``model`` (built by ``build_model``) and ``metadata`` to ``path`` atomically.

    Args:
        model: a model carrying ``model.spec`` (wrappers are unwrapped).
        path: target file; parent folders are created.
        metadata: JSON-serialisable dict stored with the weights (e.g. epoch, metrics). ``None``
            uses ``model.checkpoint_metadata`` if set (as left by :func:`load_model`), else ``{}``.

    Raises:
        ValueError: the model has no spec, or the metadata is not JSON-serialisable.
    """
    model = unwrap(model)
    spec = getattr(model, "spec", None)
    if not isinstance(spec, ModelSpec):
        raise ValueError("save_model: the model has no `spec`; build it with build_model()")
    if metadata is None:
        metadata = getattr(model, "checkpoint_metadata", None) or {}
    try:
        meta_json = json.dumps(metadata, sort_keys=True)
    except (TypeError, ValueError) as err:
        raise ValueError(f"save_model: metadata must be JSON-serialisable ({err})") from err
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    blob = dump(tensors, {"format": FORMAT, "spec": spec.to_json(), "metadata": meta_json})
    write_atomically(path, blob)
    log.debug("saved %s (%s, %d tensors)", path, spec.arch, len(tensors))


def read_checkpoint(path: str | os.PathLike) -> tuple[ModelSpec, dict, dict[str, torch.Tensor]]:
    """The spec, user metadata and CPU tensors of a checkpoint, without building the model.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: not a safetensors file, or not a limeguard model checkpoint (names it).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load as st_load

    path = Path(path)
    data = path.read_bytes()
    try:
        tensors = st_load(data)
        header = _header_metadata(data)
    except (SafetensorError, ValueError, OverflowError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path}: not a valid safetensors checkpoint ({err})") from err
    if header.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: not a limeguard model checkpoint (format {header.get('format')!r}, "
            f"expected {FORMAT!r})"
        )
    try:
        spec = ModelSpec.from_json(header["spec"])
        metadata = json.loads(header.get("metadata", "{}"))
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(
            f"{path}: unreadable spec or metadata in the checkpoint ({err})"
        ) from err
    return spec, metadata, tensors


def _header_metadata(data: bytes) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors blob (validated by ``st_load`` beforehand)."""
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict):
        raise ValueError("__metadata__ is not a mapping")
    return meta


def load_model(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the model saved at ``path`` and load its weights.

    Returns:
        The model in eval mode on ``map_location``, with ``model.spec`` and
        ``model.checkpoint_metadata`` (the user metadata dict) set.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: invalid file, unknown architecture, or tensors that do not match the
            architecture (missing, unexpected or wrongly shaped keys are named).
    """
    spec, metadata, tensors = read_checkpoint(path)
    try:
        model = build_from_spec(spec)
    except ConfigError as err:
        raise CheckpointError(f"{path}: cannot rebuild the model ({err})") from err
    _check_tensors(path, spec, model, tensors)
    model.load_state_dict(tensors, strict=True)
    model.checkpoint_metadata = metadata
    return model.to(map_location).eval()


def _check_tensors(path: Any, spec: ModelSpec, model: nn.Module, tensors: dict) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = sorted(k for k in set(expected) & set(tensors) if expected[k].shape != tensors[k].shape)
    if missing or unexpected or wrong:
        parts = [
            f"{name}: {keys[:5]}{' ...' if len(keys) > 5 else ''} ({len(keys)})"
            for name, keys in (
                ("missing", missing),
                ("unexpected", unexpected),
                ("wrong shape", wrong),
            )
            if keys
        ]
        raise CheckpointError(
            f"{path}: tensors do not match architecture {spec.arch!r} "
            f"(num_classes={spec.num_classes}, options={spec.options}); " + "; ".join(parts)
        )
