"""Per-epoch training checkpoints: safetensors for tensors, JSON for the rest, written atomically.

A checkpoint directory holds ``state.json`` (the commit point: configuration, counters, history,
optimiser hyper-parameters), the ``epoch_NNNN.safetensors`` file it names (model weights
``model.*``, best weights ``best.*``, optimiser buffers ``optim.*``, RNG states ``rng.*``) and
``timings.json`` (the history's wall times, kept apart so that the others depend on the run's
inputs only).
Each file is written to a temporary name and moved into place with ``os.replace``; the tensors are
written before the JSON that points to them, so a crash at any moment leaves the previous complete
checkpoint.
Nothing is unpickled on load.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from torch import nn

from limeguard.atomic import write_atomically
from limeguard.config import to_params
from limeguard.images.imageset import ImageSet
from limeguard.safetensors_io import dump
from limeguard.timings import merge_timing_rows, split_timing_rows
from limeguard.training.config import TrainConfig
from limeguard.training.errors import CheckpointError

FORMAT = "limeguard.train_checkpoint/1"
STATE_FILE = "state.json"
TIMINGS_FILE = "timings.json"
# Fields that do not change the training trajectory and may differ on resume.
OPERATIONAL_KEYS = frozenset({"eval_batch_size", "preload_to_device"})


@dataclass
class TrainState:
    """Loop counters and bookkeeping that a resumed run continues from.

    Attributes:
        epoch: number of completed epochs.
        step: number of completed SGD steps.
        best_epoch: 0-based epoch of the best monitored accuracy (-1: none yet).
        best_metric: the best monitored validation accuracy.
        best_probe_acc: best PGD accuracy on the catastrophic-overfitting probe batch.
        epochs_since_best: epochs without improvement (early stopping).
        stop_reason: ``early_stopping``, ``catastrophic_overfitting``, ``completed`` or None.
        history: one dict per completed epoch.
        best_state: weights of the best epoch (CPU tensors), or None.
        scaler: GradScaler state dict (fp16 on CUDA), or None.
    """

    epoch: int = 0
    step: int = 0
    best_epoch: int = -1
    best_metric: float = float("-inf")
    best_probe_acc: float = float("-inf")
    epochs_since_best: int = 0
    stop_reason: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    best_state: dict[str, torch.Tensor] | None = None
    scaler: dict[str, Any] | None = None

    def counters(self) -> dict[str, Any]:
        """The JSON-serialisable fields."""
        keys = ("epoch", "step", "best_epoch", "best_metric", "best_probe_acc",
                "epochs_since_best", "stop_reason", "history", "scaler")  # fmt: skip
        return {k: getattr(self, k) for k in keys}


@dataclass(frozen=True)
class CheckpointDirs:
    """``params:baseline.checkpoint_dirs``: where each baseline keeps its per-epoch checkpoints."""

    standard: str = "data/06_models/checkpoints/standard"
    adversarial: str = "data/06_models/checkpoints/adversarial"


def run_directory(root: str | Path, *identity: Any) -> Path:
    """``root/<hash>``: one checkpoint folder per (model, recipe, training data).

    ``identity``: JSON-able settings, image sets (hashed by their ids) or digests. A rerun with the
    same settings resumes there; a changed setting starts a fresh folder instead of colliding with
    checkpoints of another configuration.
    """
    parts = [hashlib.sha1(x.ids.numpy().tobytes()).hexdigest() if isinstance(x, ImageSet)
             else json.dumps(x, sort_keys=True, default=str) for x in identity]
    return Path(root) / hashlib.sha1("|".join(parts).encode()).hexdigest()[:12]


def tensor_digest(*tensors: torch.Tensor) -> str:
    """SHA-1 of the tensors' bytes, in order (a checkpoint folder's identity part)."""
    digest = hashlib.sha1()
    for t in tensors:
        digest.update(t.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def model_digest(model: nn.Module) -> str:
    """SHA-1 of a model's weights and buffers (:func:`tensor_digest` of its state dict)."""
    return tensor_digest(*model.state_dict().values())


def data_fingerprint(x: torch.Tensor, y: torch.Tensor) -> str:
    """Exact digest of the shapes, the labels and up to 256 evenly spaced images of a split."""
    digest = hashlib.sha256(f"{tuple(x.shape)} {x.dtype} {tuple(y.shape)}".encode())
    digest.update(y.detach().cpu().contiguous().numpy().tobytes())
    step = max(1, len(x) // 256)
    digest.update(x[::step].detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def save_checkpoint(
    directory: Path, cfg: TrainConfig, model: nn.Module, optimizer: torch.optim.Optimizer,
    state: TrainState, data: str = "",
) -> None:  # fmt: skip
    """Write the checkpoint of the end of epoch ``state.epoch`` atomically into ``directory``.

    ``data`` is the :func:`data_fingerprint` of the training split, checked on resume.
    """
    directory.mkdir(parents=True, exist_ok=True)
    name = f"epoch_{state.epoch:04d}.safetensors"
    tensors = _flat("model.", model.state_dict())
    if state.best_state is not None:
        tensors.update(_flat("best.", state.best_state))
    optim = optimizer.state_dict()
    for idx, buffers in optim["state"].items():
        for key, value in buffers.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{idx}.{key}"] = _cpu(value)
    tensors.update(_rng_tensors())
    write_atomically(directory / name, dump(tensors, {"format": FORMAT}))
    counters = state.counters()
    counters["history"], timings = split_timing_rows(state.history)
    write_atomically(directory / TIMINGS_FILE, json.dumps(timings, indent=1).encode())
    meta = {
        "format": FORMAT,
        "tensors": name,
        "config": to_params(cfg),
        "data": data,
        "state": counters,
        "optimizer": {"param_groups": optim["param_groups"], "scalars": _optim_scalars(optim)},
    }
    text = json.dumps(meta, indent=1, allow_nan=True)
    write_atomically(directory / STATE_FILE, text.encode())
    for old in directory.glob("epoch_*.safetensors"):
        if old.name != name:
            old.unlink(missing_ok=True)


def load_checkpoint(
    directory: Path, cfg: TrainConfig, model: nn.Module, optimizer: torch.optim.Optimizer,
    data: str | None = None,
) -> TrainState | None:  # fmt: skip
    """Restore model, optimiser and RNG from ``directory``; None when it holds no checkpoint.

    Args:
        directory: the checkpoint directory.
        cfg: the configuration of the run to resume; it must equal the saved one.
        model: receives the saved weights.
        optimizer: receives the saved optimiser state.
        data: the training split's :func:`data_fingerprint`, compared with the saved one (None:
            not checked).

    Raises:
        CheckpointError: the checkpoint is unreadable, of another configuration (the differing keys
            are named), of other training data or of another architecture.
    """
    path = directory / STATE_FILE
    if not path.exists():
        return None
    try:
        meta = json.loads(path.read_text())
        tensors = load_file(str(directory / meta["tensors"]))
    except (OSError, ValueError, KeyError) as err:
        raise CheckpointError(f"{directory}: unreadable training checkpoint ({err})") from err
    _check_config(directory, meta.get("config", {}), cfg)
    if data is not None and meta.get("data") != data:
        raise CheckpointError(
            f"{directory}: checkpoint was written for other training data (fingerprint "
            f"{meta.get('data')!r}, now {data!r}); use another checkpoint_dir or delete this one"
        )
    try:
        model.load_state_dict(_unflat("model.", tensors))
    except RuntimeError as err:
        raise CheckpointError(f"{directory}: checkpoint is of another model: {err}") from err
    optimizer.load_state_dict(_optim_state(meta["optimizer"], tensors))
    _set_rng(tensors)
    state = TrainState(**meta["state"])
    state.history = merge_timing_rows(state.history, _saved_timings(directory))
    best = _unflat("best.", tensors)
    state.best_state = best or None
    return state


def _saved_timings(directory: Path) -> list[dict[str, Any]]:
    try:
        return json.loads((directory / TIMINGS_FILE).read_text())
    except (OSError, ValueError):
        return []  # wall times are a record, not state: a run resumes without them


def _check_config(directory: Path, saved: dict[str, Any], cfg: TrainConfig) -> None:
    current = json.loads(json.dumps(to_params(cfg)))
    saved = {"optimizer": "sgd", **saved}  # checkpoints from before the optimiser choice: SGD
    keys = sorted((set(saved) | set(current)) - OPERATIONAL_KEYS)
    diff = [k for k in keys if saved.get(k) != current.get(k)]
    if diff:
        details = ", ".join(f"{k}: {saved.get(k)!r} -> {current.get(k)!r}" for k in diff)
        raise CheckpointError(
            f"{directory}: checkpoint was written with another training configuration ({details}); "
            "use another checkpoint_dir or delete this one to start afresh"
        )


def _optim_scalars(optim: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Non-tensor per-parameter optimiser state (e.g. Adam's step when stored as a number)."""
    return {
        str(idx): {k: v for k, v in buf.items() if not isinstance(v, torch.Tensor)}
        for idx, buf in optim["state"].items()
    }


def _optim_state(meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for idx, scalars in meta["scalars"].items():
        state[int(idx)] = dict(scalars)
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, idx, name = key.split(".", 2)
            state.setdefault(int(idx), {})[name] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def _rng_tensors() -> dict[str, torch.Tensor]:
    out = {"rng.cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            out[f"rng.cuda.{i}"] = s
    return out


def _set_rng(tensors: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(tensors["rng.cpu"])
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


def _cpu(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to("cpu", copy=True).contiguous()


def _flat(prefix: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {prefix + k: _cpu(v) for k, v in state.items()}


def _unflat(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
