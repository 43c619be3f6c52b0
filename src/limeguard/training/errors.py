"""Errors raised by training; each names what failed and where."""

from __future__ import annotations

from pathlib import Path


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
