"""Share a host's cores between the Dask tasks running on it.

A LocalCluster (or any host with several single-thread workers) runs one task per worker process.
Torch in each task would use one core (Dask's nanny sets ``OMP_NUM_THREADS=1``), so whenever only
one task is ready the other cores idle; two threads per task instead oversubscribe the cores when
tasks run side by side, and torch's OpenMP barriers then cost several times the work (measured:
docs/scale-out.md). Here each running task leaves a file named by its process id in a host-wide
folder, and gives torch ``cores // running tasks`` threads, re-read at most every ``interval_s``
seconds from a global module forward pre-hook (torch's thread count belongs to the thread that
sets it, so the task's own thread must set it: a forward pass is where the task computes).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import torch

REGISTRY = Path(tempfile.gettempdir()) / f"limeguard-running-tasks-{os.getuid()}"


def host_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def running_tasks(registry: Path = REGISTRY) -> int:
    """Entries of live processes in ``registry`` (those of dead ones are removed)."""
    live = 0
    for entry in registry.glob("*.task"):
        try:
            os.kill(int(entry.name.split("-")[0]), 0)
            live += 1
        except ProcessLookupError:
            entry.unlink(missing_ok=True)
        except (ValueError, PermissionError):
            live += 1  # another user's or a foreign entry: count it, it may be computing
    return live


class _Governor:
    """The torch thread count of this process's running task, kept at cores // running tasks."""

    def __init__(self) -> None:
        self.active: dict[int, list] = {}  # thread id -> [registry, interval_s, next check]
        self.handle: torch.utils.hooks.RemovableHandle | None = None

    def adjust(self, registry: Path) -> None:
        threads = max(1, host_cores() // max(1, running_tasks(registry)))
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)

    def pre_forward(self, module: torch.nn.Module, args: tuple) -> None:
        task = self.active.get(threading.get_ident())
        if task is not None and time.monotonic() >= task[2]:
            task[2] = time.monotonic() + task[1]
            self.adjust(task[0])


_GOVERNOR = _Governor()


@contextlib.contextmanager
def share_host_cores(name: str, registry: Path = REGISTRY, interval_s: float = 0.5) -> Iterator[None]:
    """Within the block, this thread's torch threads follow ``cores // tasks running on the host``.

    ``name`` (the DaskRunner gives its first node's name) shows in the registry entry's file name. On exit the thread
    count is restored and the entry removed."""
    registry.mkdir(parents=True, exist_ok=True)
    entry = registry / f"{os.getpid()}-{threading.get_ident()}-{_safe(name)}.task"
    before, me = torch.get_num_threads(), threading.get_ident()
    entry.touch()
    if _GOVERNOR.handle is None:
        _GOVERNOR.handle = torch.nn.modules.module.register_module_forward_pre_hook(
            _GOVERNOR.pre_forward)
    _GOVERNOR.active[me] = [registry, interval_s, time.monotonic() + interval_s]
    try:
        _GOVERNOR.adjust(registry)
        yield
    finally:
        _GOVERNOR.active.pop(me, None)
        entry.unlink(missing_ok=True)
        torch.set_num_threads(before)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._" else "_" for c in name)[:80]
