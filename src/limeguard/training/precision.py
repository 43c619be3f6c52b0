"""Device-side execution settings: autocast dtype, GradScaler and memory format (CUDA only)."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch

from limeguard.training.config import TrainConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Precision:
    """How batches run on ``device``.

    Attributes:
        device: the training device.
        autocast_dtype: ``torch.bfloat16`` / ``torch.float16`` under autocast, or None (float32).
        channels_last: convert the model and every batch to channels-last.
    """

    device: torch.device
    autocast_dtype: torch.dtype | None
    channels_last: bool

    def autocast(self) -> AbstractContextManager:
        """Autocast context for forward passes (a no-op in float32)."""
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def make_scaler(self) -> torch.amp.GradScaler | None:
        """A GradScaler for fp16 autocast, else None."""
        if self.autocast_dtype == torch.float16:
            return torch.amp.GradScaler(self.device.type)
        return None

    def batch(self, x: torch.Tensor) -> torch.Tensor:
        """Move an image batch (B, C, H, W) to the device in the configured memory format."""
        x = x.to(self.device, non_blocking=True)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


def resolve_precision(cfg: TrainConfig, device: torch.device) -> Precision:
    """Autocast and memory format for ``cfg`` on ``device``; mixed precision only on CUDA."""
    cuda = device.type == "cuda"
    dtype = None
    if cuda and cfg.amp != "off":
        bf16_ok = torch.cuda.is_bf16_supported()
        if cfg.amp == "bf16" or (cfg.amp == "auto" and bf16_ok):
            dtype = torch.bfloat16
        else:
            dtype = torch.float16
    elif cfg.amp in ("bf16", "fp16"):
        log.info("train.amp=%s ignored on %s: training in float32", cfg.amp, device)
    channels_last = cuda if cfg.channels_last is None else cfg.channels_last
    return Precision(device, dtype, channels_last)
