"""Errors raised by training; each names what failed and where."""

from __future__ import annotations

from pathlib import Path

import torch


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite.

    Attributes:
        epoch: 0-based epoch of the offending batch.
        batch: 0-based batch index within the epoch.
        checkpoint_dir: where the last good checkpoint (end of the previous epoch) is kept, if any.
    """

    def __init__(self, epoch: int, batch: int, value: float, checkpoint_dir: Path | None) -> None:
        self.epoch, self.batch, self.checkpoint_dir = epoch, batch, checkpoint_dir
        if checkpoint_dir is None:
            kept = "no checkpoint_dir was given, nothing kept on disk"
        else:
            kept = f"the last good checkpoint (if any epoch completed) is kept in {checkpoint_dir}"
        super().__init__(
            f"training loss is {value} at epoch {epoch}, batch {batch}; stopping ({kept}). "
            "Lower train.lr, enable train.grad_clip_norm or check the inputs and extra loss terms."
        )


class CheckpointError(RuntimeError):
    """A training checkpoint is unreadable, of another model, or of another configuration."""


def check_finite_losses(
    losses: torch.Tensor, start: int, stop: int, epoch: int, ckpt_dir: Path | None
) -> None:
    """Raise :class:`NonFiniteLossError` for the first non-finite loss in ``losses[start:stop]``."""
    bad = ~torch.isfinite(losses[start:stop])
    if bool(bad.any()):
        batch = start + int(bad.nonzero()[0, 0])
        raise NonFiniteLossError(epoch, batch, float(losses[batch]), ckpt_dir)


def check_training_data(x: torch.Tensor, y: torch.Tensor, name: str) -> None:
    """``ValueError`` naming ``name`` unless x is float32 (N, C, H, W) and y int64 (N,), N > 0."""
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.dtype != torch.float32:
        got = f"{getattr(x, 'dtype', type(x))} {tuple(getattr(x, 'shape', ()))}"
        raise ValueError(f"{name}_x: expected a float32 (N, C, H, W) tensor, got {got}")
    if not isinstance(y, torch.Tensor) or y.ndim != 1 or y.dtype != torch.int64:
        raise ValueError(f"{name}_y: expected an int64 (N,) tensor of labels")
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(
            f"{name}_x/{name}_y: {len(x)} images and {len(y)} labels (need equal, > 0)"
        )
