"""Data-parallel training with torch.distributed (DDP): one process per device.

:func:`launch` starts the ranks with torch's elastic launcher (the machinery behind ``torchrun``)
and returns local rank 0's result; inside a rank, :class:`RankContext` is what the training loop
asks: its shard of each global batch, the DDP wrapper (batch norm synchronised across ranks),
the sums of the epoch's statistics, and whether it is the rank that writes checkpoints and logs.
Outside torch.distributed the context is the identity (rank 0 of 1).

Library code: never imports Kedro.
"""

from __future__ import annotations

import logging
import os
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from limeguard.config import ConfigError
from limeguard.runtime import DistributedConfig, use_deterministic_algorithms

log = logging.getLogger(__name__)


class DistributedTrainingError(RuntimeError):
    """A rank failed (died, raised or timed out); the others were stopped."""


@dataclass(frozen=True)
class RankContext:
    """This process's place in the job: ``rank`` of ``world`` (0 of 1 without torch.distributed)."""

    rank: int = 0
    world: int = 1

    @classmethod
    def current(cls) -> RankContext:
        if dist.is_available() and dist.is_initialized():
            return cls(dist.get_rank(), dist.get_world_size())
        return cls()

    @property
    def is_main(self) -> bool:
        """The rank that writes checkpoints and logs."""
        return self.rank == 0

    def check_batches(self, n: int, batch_size: int, drop_last: bool) -> None:
        """``ValueError`` unless every global batch of ``n`` images splits over the ranks."""
        if self.world == 1:
            return
        if batch_size % self.world:
            raise ValueError(f"batch_size: {batch_size} is not divisible by the world size "
                             f"{self.world} (the global batch is split evenly across ranks)")
        last = n % batch_size
        if not drop_last and 0 < last < self.world:
            raise ValueError(f"batch_size: the last batch of {n} images holds {last}, fewer than "
                             f"the {self.world} ranks; set drop_last or another batch_size")

    def shard(self, index: torch.Tensor) -> tuple[torch.Tensor, float]:
        """This rank's part of the global batch ``index`` (B,) and its loss weight
        (``B_rank * world / B``: 1 unless the last batch splits unevenly)."""
        if self.world == 1:
            return index, 1.0
        local = index.tensor_split(self.world)[self.rank]
        return local, len(local) * self.world / len(index)

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        """``model`` for the training forward: batch norm synchronised in place, then DDP."""
        if self.world == 1:
            return model
        sync_batch_norm(model, device)
        ids = [device.index or 0] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def unwrap(self, model: nn.Module) -> nn.Module:
        """Put the plain batch norm layers back (the model leaves the job as it came)."""
        if self.world > 1:
            plain_batch_norm(model)
        return model

    def agree(self, values: tuple[float, ...]) -> tuple[float, ...]:
        """Rank 0's ``values`` on every rank (stopping decisions are taken together)."""
        if self.world == 1:
            return values
        t = _on_backend(torch.tensor([float(v) for v in values], dtype=torch.float64))
        dist.broadcast(t, src=0)
        return tuple(t.cpu().tolist())

    def reduce_sums(self, sums: dict[str, float]) -> dict[str, float]:
        """An epoch's sums over all ranks: loss terms averaged, counts added."""
        if self.world == 1:
            return sums
        keys = ("loss", "extra", "correct", "seen")
        t = _on_backend(torch.tensor([float(sums[k]) for k in keys], dtype=torch.float64))
        dist.all_reduce(t)
        loss, extra, correct, seen = t.cpu().tolist()
        return {**sums, "loss": loss / self.world, "extra": extra / self.world,
                "correct": correct, "seen": int(seen)}  # fmt: skip


def _on_backend(t: torch.Tensor) -> torch.Tensor:
    """NCCL reduces CUDA tensors only."""
    if dist.get_backend() == "nccl":
        return t.to(torch.device("cuda", torch.cuda.current_device()))
    return t


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm over the whole global batch on any device (torch's ``SyncBatchNorm`` is
    CUDA-only): per-channel mean, then variance, each summed across ranks with a differentiable
    all-reduce; running statistics as ``nn.BatchNorm`` keeps them."""

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"GlobalBatchNorm: expected (N, C, ...) input, got {tuple(x.shape)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        with warnings.catch_warnings():  # the autograd-aware collective, deprecated in 2.x
            warnings.simplefilter("ignore", FutureWarning)
            from torch.distributed.nn.functional import all_reduce

        dims = [0, *range(2, x.dim())]
        shape = [1, x.size(1)] + [1] * (x.dim() - 2)
        count = x.new_tensor([x.numel() / x.size(1)])
        sums = all_reduce(torch.cat([x.sum(dims), count]))  # (C + 1,) over every rank
        total = sums[-1]
        mean = sums[:-1] / total  # (C,)
        var = all_reduce(((x - mean.view(shape)) ** 2).sum(dims)) / total  # (C,) biased
        self._track(mean.detach(), var.detach(), float(total.detach()))
        y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y

    @torch.no_grad()
    def _track(self, mean: torch.Tensor, var: torch.Tensor, total: float) -> None:
        if not self.track_running_stats:
            return
        self.num_batches_tracked.add_(1)
        factor = self.momentum if self.momentum is not None else \
            1.0 / float(self.num_batches_tracked)
        self.running_mean.mul_(1 - factor).add_(mean, alpha=factor)
        self.running_var.mul_(1 - factor).add_(var * total / max(total - 1, 1), alpha=factor)


def sync_batch_norm(model: nn.Module, device: torch.device) -> None:
    """Replace every batch norm layer of ``model`` in place: ``nn.SyncBatchNorm`` on CUDA,
    :class:`GlobalBatchNorm` elsewhere (same parameters, buffers and state-dict keys)."""
    cls = nn.SyncBatchNorm if device.type == "cuda" else GlobalBatchNorm
    _swap_batch_norm(model, lambda m: not isinstance(m, nn.SyncBatchNorm | GlobalBatchNorm), cls)


def plain_batch_norm(model: nn.Module) -> None:
    """Undo :func:`sync_batch_norm`: each layer back to the class it had."""
    _swap_batch_norm(model, lambda m: isinstance(m, nn.SyncBatchNorm | GlobalBatchNorm), None)


def _swap_batch_norm(model: nn.Module, wanted: Callable[[nn.Module], bool],
                     cls: type[nn.Module] | None) -> None:  # fmt: skip
    for name, child in model.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm) and wanted(child):
            target = cls or getattr(child, "plain_class", nn.BatchNorm2d)
            new = target(child.num_features, child.eps, child.momentum, child.affine,
                         child.track_running_stats, device=_device_of(child))  # fmt: skip
            new.load_state_dict(child.state_dict())
            new.train(child.training)
            if cls is not None:
                new.plain_class = type(child)
            setattr(model, name, new)
        else:
            _swap_batch_norm(child, wanted, cls)


def _device_of(module: nn.Module) -> torch.device | None:
    tensor = next(iter(module.state_dict().values()), None)
    return tensor.device if tensor is not None else None


def local_world_size(cfg: DistributedConfig, device: torch.device) -> int:
    """Processes on this machine: ``nproc_per_node`` or one per CUDA device."""
    if cfg.nproc_per_node is not None:
        return cfg.nproc_per_node
    if device.type == "cuda":
        return torch.cuda.device_count()
    raise ConfigError("runtime.distributed.nproc_per_node: needed without CUDA (one process per "
                      "device on GPUs; on CPU say how many)")


def check_world_divides_batch(batch_size: int, world: int, key: str) -> None:
    """``ConfigError`` naming ``key`` unless the world size divides the global batch."""
    if batch_size % world:
        raise ConfigError(f"{key}: {batch_size} is not divisible by the world size {world} "
                          "(runtime.distributed: nproc_per_node x nnodes); the global batch is "
                          "split evenly across ranks")


def launch(cfg: DistributedConfig, device: torch.device, fn: Callable[..., Any], *args: Any,
           batch_size: int, batch_key: str, **kwargs: Any) -> Any:  # fmt: skip
    """``fn(*args, **kwargs, device=<rank's device>)`` on every rank; local rank 0's result.

    Args:
        cfg: ``runtime.distributed``.
        device: the configured device; CUDA ranks use ``cuda:<local rank>``.
        fn: a picklable (module-level) training function taking ``device`` (and ``progress``).
        batch_size: the global batch, checked against the world size before anything starts.
        batch_key: the parameter key of ``batch_size``, for the error message.

    Raises:
        ConfigError: a world size that does not divide the batch, or no ``nproc_per_node``
            on CPU.
        DistributedTrainingError: a rank failed; the message names it and its error.
    """
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    nproc = local_world_size(cfg, device)
    check_world_divides_batch(batch_size, nproc * cfg.nnodes, batch_key)
    backend = cfg.backend if cfg.backend != "auto" else ("nccl" if device.type == "cuda" else "gloo")
    single = cfg.rdzv_endpoint is None
    config = LaunchConfig(
        min_nodes=cfg.nnodes, max_nodes=cfg.nnodes, nproc_per_node=nproc,
        run_id=uuid.uuid4().hex if single else cfg.run_id, rdzv_backend="c10d",
        rdzv_endpoint=cfg.rdzv_endpoint or "localhost:0", max_restarts=0, monitor_interval=0.2,
        rdzv_configs={"timeout": int(cfg.timeout_s)}, start_method="spawn",
    )  # fmt: skip
    log.info("distributed: %d x %d ranks (%s) for %s", cfg.nnodes, nproc, backend, batch_key)
    job = _RankJob(fn, args, kwargs, backend, device.type, cfg.timeout_s,
                   torch.are_deterministic_algorithms_enabled())  # fmt: skip
    try:
        results = elastic_launch(config, _rank_main)(job)
    except ChildFailedError as err:
        raise DistributedTrainingError(_failure_message(err, cfg.timeout_s)) from None
    return results[0]


@dataclass(frozen=True)
class _RankJob:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    backend: str
    device_type: str
    timeout_s: float
    deterministic: bool


def _rank_main(job: _RankJob) -> Any:
    from torch.distributed.elastic.multiprocessing.errors import record

    return record(_run_rank)(job)


def _run_rank(job: _RankJob) -> Any:
    """One rank: join the process group, run the job, return the result on local rank 0."""
    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    local_world = int(os.environ["LOCAL_WORLD_SIZE"])
    _rank_logging(rank)
    device = torch.device("cuda", local_rank) if job.device_type == "cuda" else \
        torch.device(job.device_type)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    else:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))
    if job.deterministic:
        use_deterministic_algorithms()
    dist.init_process_group(job.backend, timeout=timedelta(seconds=job.timeout_s))
    try:
        args, kwargs = _private_modules(job.args), _private_modules(job.kwargs)
        kwargs["device"] = device
        if "progress" in kwargs:
            kwargs["progress"] = kwargs["progress"] and rank == 0
        result = job.fn(*args, **kwargs)
    finally:
        dist.destroy_process_group()
    return result if local_rank == 0 else None


def _private_modules(values: Any) -> Any:
    """Own copies of the modules among ``values``: the launcher hands every rank the same
    shared-memory tensors, and each rank must step its own weights (the data stay shared)."""
    import copy

    if isinstance(values, dict):
        return {k: _private_modules(v) for k, v in values.items()}
    if isinstance(values, tuple):
        return tuple(_private_modules(v) for v in values)
    return copy.deepcopy(values) if isinstance(values, nn.Module) else values


def _rank_logging(rank: int) -> None:
    """Rank 0 logs at INFO; the others only warn."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format=f"[rank {rank}] %(levelname)s %(name)s: %(message)s")
    root.setLevel(logging.INFO if rank == 0 else logging.WARNING)


def _failure_message(err: Any, timeout_s: float) -> str:
    parts = []
    for rank, failure in sorted(err.failures.items()):
        message = failure.message
        if isinstance(message, dict):  # the error file that @record wrote
            message = message.get("message", "")
        detail = str(message or "").strip().splitlines()[-1:] or [""]
        detail = detail[0]
        parts.append(f"rank {rank} (exit code {failure.exitcode}): {detail or 'no error recorded'}")
    return (f"distributed training failed: {'; '.join(parts)}. The other ranks were stopped "
            f"(a rank waiting on a dead peer gives up after runtime.distributed.timeout_s = "
            f"{timeout_s:g} s).")


def run_training(cfg: DistributedConfig, device: torch.device, fn: Callable[..., Any],
                 *args: Any, batch_size: int, batch_key: str, **kwargs: Any) -> Any:  # fmt: skip
    """``fn(*args, device=device, **kwargs)`` in this process, or on the ranks of :func:`launch`
    when ``cfg.enabled``."""
    if not cfg.enabled:
        return fn(*args, device=device, **kwargs)
    return launch(cfg, device, fn, *args, batch_size=batch_size, batch_key=batch_key, **kwargs)
