"""Runtime settings shared by every pipeline: device, seeds, threads, progress bars."""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch

from limeguard.config import ConfigError

log = logging.getLogger(__name__)
T = TypeVar("T")

DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class RuntimeConfig:
    """``params:runtime``.

    Attributes:
        device: ``auto`` (cuda, then mps, then cpu), ``cpu``, ``cuda`` or ``cuda:N``, ``mps``.
        seed: global seed; every stage derives its own generators from it.
        num_threads: torch intra-op threads on CPU (null: leave torch's default).
        progress: show progress bars on long loops.
        deterministic: ask torch for deterministic kernels (bit-for-bit reruns on CPU).
        seeds: the seeds of the ``seeds`` pipeline, one namespaced copy of the job each (the
            ``refine`` pipeline runs ``seed`` alone); read when the DAG is built.
    """

    device: str = "auto"
    seed: int = 0
    num_threads: int | None = None
    progress: bool = True
    deterministic: bool = True
    seeds: tuple[int, ...] = (0,)

    def __post_init__(self) -> None:
        if not self.seeds:
            raise ConfigError("runtime.seeds: at least one seed is needed")
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"runtime.seeds: seeds repeat in {list(self.seeds)}; each seed is a "
                              "separate run and must appear once")
        for seed in self.seeds:
            if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
                raise ConfigError(f"runtime.seeds: {seed!r} is not an integer in [0, 2**32)")
        if self.device.split(":")[0] not in DEVICES:
            raise ConfigError(f"runtime.device: unknown device {self.device!r}; use one of {DEVICES}")
        if self.num_threads is not None and self.num_threads < 1:
            raise ConfigError(f"runtime.num_threads: must be >= 1, got {self.num_threads}")


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` -> cuda, then mps, then cpu; an explicit device that is absent is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"runtime.device: {name!r} asked for, but CUDA is not available")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"runtime.device: {name!r} asked for, but MPS is not available")
    return device


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def apply_runtime(cfg: RuntimeConfig) -> torch.device:
    """Apply threads, seeds and determinism; return the resolved device."""
    if cfg.num_threads is not None:
        torch.set_num_threads(cfg.num_threads)
    seed_everything(cfg.seed)
    if cfg.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
    device = resolve_device(cfg.device)
    log.info("runtime: device=%s seed=%d threads=%d", device, cfg.seed, torch.get_num_threads())
    return device


_PROGRESS = {"enabled": True}


def set_progress(enabled: bool) -> None:
    """Turn progress bars on or off for the whole process."""
    _PROGRESS["enabled"] = enabled


def progress(iterable: Iterable[T], desc: str, total: int | None = None, **kwargs) -> Iterable[T]:
    """A tqdm progress bar over ``iterable``, unless progress bars are turned off."""
    from tqdm.auto import tqdm

    disable = not _PROGRESS["enabled"] or os.environ.get("TQDM_DISABLE") == "1"
    return tqdm(iterable, desc=desc, total=total, disable=disable, leave=False, **kwargs)
