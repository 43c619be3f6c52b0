"""Runtime settings shared by every pipeline: device, seeds, threads, progress bars."""

from __future__ import annotations

import logging
import os
import random
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import torch

from limeguard.config import ConfigError, check_seed

log = logging.getLogger(__name__)
T = TypeVar("T")

DEVICES = ("auto", "cpu", "cuda", "mps")
DIST_BACKENDS = ("auto", "nccl", "gloo")


@dataclass(frozen=True)
class DistributedConfig:
    """``params:runtime.distributed``: DDP training of the baselines, rounds and control
    (:mod:`limeguard.training.distributed`).

    Attributes:
        enabled: train with torch.distributed, one process per device (off: one process).
        nproc_per_node: processes on this machine; null: one per CUDA device (needed on CPU).
        nnodes: machines taking part; each runs the same job (see docs/scale-out.md).
        rdzv_endpoint: ``host:port`` where the ranks meet (c10d); null: a free local port
            (one machine only).
        run_id: the rendezvous id, the same on every machine of one job.
        backend: ``auto`` (NCCL on CUDA, gloo on CPU), ``nccl`` or ``gloo``.
        timeout_s: collectives and the rendezvous give up after this long.
    """

    enabled: bool = False
    nproc_per_node: int | None = None
    nnodes: int = 1
    rdzv_endpoint: str | None = None
    run_id: str = "limeguard"
    backend: str = "auto"
    timeout_s: float = 600.0

    def __post_init__(self) -> None:
        if self.nproc_per_node is not None and self.nproc_per_node < 1:
            raise ConfigError(f"runtime.distributed.nproc_per_node: must be >= 1, got "
                              f"{self.nproc_per_node}")
        if self.nnodes < 1:
            raise ConfigError(f"runtime.distributed.nnodes: must be >= 1, got {self.nnodes}")
        if self.nnodes > 1 and not self.rdzv_endpoint:
            raise ConfigError("runtime.distributed.rdzv_endpoint: several nodes need a host:port "
                              "that every node reaches")
        if self.backend not in DIST_BACKENDS:
            raise ConfigError(f"runtime.distributed.backend: use one of {DIST_BACKENDS}, got "
                              f"{self.backend!r}")
        if not self.timeout_s > 0:
            raise ConfigError(f"runtime.distributed.timeout_s: must be > 0, got {self.timeout_s}")


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
        distributed: DDP training (:class:`DistributedConfig`), off by default.
    """

    device: str = "auto"
    seed: int = 0
    num_threads: int | None = None
    progress: bool = True
    deterministic: bool = True
    seeds: tuple[int, ...] = (0,)
    distributed: DistributedConfig = field(default_factory=DistributedConfig)

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
        check_seed("runtime.seed", self.seed)


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` -> cuda, then mps, then cpu; an explicit device that is absent is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    require_device_available(name)
    return torch.device(name)


# how to run the GPU-scale configuration without a GPU (docs/gpu.md, conf/paper_smoke.yml)
TOY_RUN_HINT = ("To run the paper configuration at toy size on this machine's CPU (the same "
                "architecture, training methods and attacks, with sizes shrunk; files under "
                "data/paper_smoke/): `make paper-smoke`. To run this env's settings on the CPU "
                "anyway, add `--params runtime.device=cpu` (hours to days at paper scale).")


def require_device_available(device: str, env: str | None = None) -> None:
    """Stop before anything runs when ``runtime.device`` names a device this machine lacks.

    Args:
        device: the configured ``runtime.device`` (``auto`` is always available).
        env: the Kedro env that asked for it, named in the message.

    Raises:
        ConfigError: ``cuda``/``cuda:N`` without CUDA (or without device N), ``mps`` without MPS;
            the message says so, and for CUDA how to run the paper configuration at toy size.
    """
    if device == "auto":
        return
    try:
        wanted = torch.device(device)
    except RuntimeError as err:
        raise ConfigError(f"runtime.device: {device!r} is not a device ({err})") from err
    where = f" by env {env!r}" if env else ""
    if wanted.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            built = f"torch {torch.__version__}, " + (
                f"built with CUDA {torch.version.cuda}, but no CUDA device is visible"
                if torch.version.cuda else "built without CUDA")
            raise ConfigError(f"runtime.device: {device!r} asked for{where}, but CUDA is not "
                              f"available on this machine ({built}). {TOY_RUN_HINT}")
        if wanted.index is not None and wanted.index >= count:
            raise ConfigError(f"runtime.device: {device!r} asked for{where}, but this machine "
                              f"has {count} CUDA device(s) (cuda:0 .. cuda:{count - 1})")
    elif wanted.type == "mps" and not (getattr(torch.backends, "mps", None)
                                       and torch.backends.mps.is_available()):
        raise ConfigError(f"runtime.device: {device!r} asked for{where}, but MPS is not available "
                          "on this machine; use runtime.device: auto or cpu")


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def node_seed(seed: int, name: str) -> int:
    """A seed in [0, 2**32) for the node ``name`` of a run seeded with ``seed``."""
    import hashlib

    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:4], "big")


def use_deterministic_algorithms() -> None:
    """``torch.use_deterministic_algorithms(True, warn_only=True)``, without the import of
    ``torch._inductor`` that the public function makes to set the compiler's flag (2 to 3 s at
    every start here; nothing in this project compiles). Where inductor is already loaded, the
    public function sets its flag too."""
    if "torch._inductor.config" in sys.modules:
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        torch._C._set_deterministic_algorithms(True, warn_only=True)


def apply_runtime(cfg: RuntimeConfig) -> torch.device:
    """Apply threads, seeds and determinism; return the resolved device."""
    if cfg.num_threads is not None:
        torch.set_num_threads(cfg.num_threads)
    seed_everything(cfg.seed)
    if cfg.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        use_deterministic_algorithms()
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
