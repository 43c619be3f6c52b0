"""Share a host's cores between the Dask tasks running on it.

A LocalCluster (or any host with several single-thread workers) runs one task per worker process.
Torch in each task would use one core (Dask's nanny sets ``OMP_NUM_THREADS=1``), so whenever only
one task is ready the other cores idle; two threads per task instead oversubscribe the cores when
tasks run side by side, and torch's OpenMP barriers then cost several times the work (measured:
docs/scale-out.md). Here each running task leaves a file named by its process id in a host-wide
folder, and gives torch ``cores // running tasks`` threads, re-read at most every ``interval_s``
seconds from a global module forward pre-hook (torch's thread count belongs to the thread that
sets it, so the task's own thread must set it: a forward pass is where the task computes).

Why not Dask's own controls (checked with distributed 2026.8 and torch 2.14). The split must
change while a task runs, when a neighbour starts or ends, and must be made in the thread that
computes:

- ``threads_per_worker`` / ``nthreads`` and the nanny's environment (``OMP_NUM_THREADS=1``,
  ``distributed.nanny.pre-spawn-environ``) fix a worker's threads for its lifetime. The default
  job on 2 cores: 1 torch thread per worker, 814 s against 635 s sequential (+28%: a task alone
  leaves a core idle); 2 per worker, 4 threads on 2 cores while two tasks ran
  (train_standard_baseline 331 s against 89 s). With this module: 722 and 713 s against 783 and
  766 s sequential, measured in turn (-7 to -8%). (docs/scale-out.md, "Measured here".)
- Resources (``--resources CORES=2``, ``resources=`` on submit) are admission counters of one
  worker, fixed when a task is assigned: they can hold a task back, not change the threads of one
  that runs; and each LocalCluster worker holds its own, so none counts the host's tasks.
- A ``WorkerPlugin``'s ``transition`` hook (to ``executing``, and out of it) runs on the worker's
  event-loop thread. torch's count (OpenMP's nthreads-var) is per thread once that thread has
  computed, so a count set there never reaches the executor thread that runs the task. Checked on a
  1-thread LocalCluster worker: the plugin set 1, 2, 1, 2 threads as four tasks started, and each
  task read 1 in its own thread. (A fresh thread copies torch's last global count once, at its
  first parallel op, so such a plugin seems to work for a worker's first task only.) A plugin also
  sees its own worker's tasks only, and the scheduler's per-worker ``processing`` counts the task
  queued behind the running one (``worker-saturation``) and knows no start of execution.
- So the most Dask offers is a count set in the task's thread when it starts, kept until it ends:
  the static split above, a core idle once a neighbour finishes. The dynamic split needs a hook in
  the computing thread (the forward pre-hook here) and a host-wide count of running tasks (the
  registry here: it also counts the tasks of a second run or cluster on the host, which a count
  kept by one scheduler would miss).
"""
from __future__ import annotations

import contextlib
import dataclasses
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


@dataclasses.dataclass
class _Task:
    registry: Path
    interval_s: float
    next_check: float  # time.monotonic() seconds


class _Governor:
    """The torch thread count of this process's running task, kept at cores // running tasks."""

    def __init__(self) -> None:
        self.active: dict[int, _Task] = {}  # thread id -> its task
        self.handle: torch.utils.hooks.RemovableHandle | None = None

    def adjust(self, registry: Path) -> None:
        threads = max(1, host_cores() // max(1, running_tasks(registry)))
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)

    def pre_forward(self, module: torch.nn.Module, args: tuple) -> None:
        task = self.active.get(threading.get_ident())
        if task is None:  # a thread outside share_host_cores: every module call passes here
            return
        now = time.monotonic()
        if now >= task.next_check:
            task.next_check = now + task.interval_s
            self.adjust(task.registry)


_GOVERNOR = _Governor()


@contextlib.contextmanager
def share_host_cores(name: str, registry: Path = REGISTRY, interval_s: float = 0.5) -> Iterator[None]:
    """Within the block, this thread's torch threads follow ``cores // tasks running on the host``.

    ``name`` (the DaskRunner gives its first node's name) shows in the registry entry's file
    name. On exit the thread count is restored and the entry removed."""
    registry.mkdir(parents=True, exist_ok=True)
    entry = registry / f"{os.getpid()}-{threading.get_ident()}-{_safe(name)}.task"
    before, me = torch.get_num_threads(), threading.get_ident()
    entry.touch()
    if _GOVERNOR.handle is None:
        _GOVERNOR.handle = torch.nn.modules.module.register_module_forward_pre_hook(
            _GOVERNOR.pre_forward)
    _GOVERNOR.active[me] = _Task(registry, interval_s, time.monotonic() + interval_s)
    try:
        _GOVERNOR.adjust(registry)
        yield
    finally:
        _GOVERNOR.active.pop(me, None)
        entry.unlink(missing_ok=True)
        torch.set_num_threads(before)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._" else "_" for c in name)[:80]
