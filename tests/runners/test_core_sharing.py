"""Tasks on one host share its cores: torch threads follow cores // running tasks."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
from torch import nn

from limeguard.runners.core_sharing import host_cores, running_tasks, share_host_cores


def test_running_tasks_counts_live_processes_and_drops_dead_ones(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / f"{dead.pid}-1-gone.task").touch()
    (tmp_path / f"{os.getpid()}-1-here.task").touch()
    assert running_tasks(tmp_path) == 1
    assert [p.name for p in tmp_path.iterdir()] == [f"{os.getpid()}-1-here.task"]


@pytest.mark.skipif(host_cores() < 2, reason="needs 2 cores to share")
def test_a_task_alone_takes_every_core_and_shares_them_while_another_runs(tmp_path: Path) -> None:
    cores, model, x = host_cores(), nn.Linear(4, 2), torch.zeros(1, 4)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with share_host_cores("a", registry=tmp_path, interval_s=0.0):
            assert torch.get_num_threads() == cores
            other = tmp_path / f"{os.getppid()}-0-b.task"  # a live process: our parent
            other.touch()
            model(x)  # the next forward pass re-reads the registry
            assert torch.get_num_threads() == cores // 2
            other.unlink()
            model(x)
            assert torch.get_num_threads() == cores
        assert torch.get_num_threads() == 1  # restored
        assert list(tmp_path.iterdir()) == []
        (tmp_path / f"{os.getppid()}-0-b.task").touch()
        model(x)  # outside the block, forward passes leave the threads alone
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_the_registry_is_re_read_at_most_every_interval(tmp_path: Path) -> None:
    model, x = nn.Linear(4, 2), torch.zeros(1, 4)
    before = torch.get_num_threads()
    try:
        with share_host_cores("a", registry=tmp_path, interval_s=3600.0):
            threads = torch.get_num_threads()
            for i in range(8):
                (tmp_path / f"{os.getppid()}-{i}-b.task").touch()
            model(x)
            assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(before)


def test_torch_threads_set_in_another_thread_do_not_reach_a_computing_thread() -> None:
    """Why the count is set from a hook in the task's own thread, and not from Dask's worker
    plugins (they run on the worker's event-loop thread): limeguard.runners.core_sharing."""
    before, seen = torch.get_num_threads(), {}
    ready, changed, done = threading.Event(), threading.Event(), threading.Event()

    def task() -> None:
        torch.get_num_threads()  # this thread's own count set up (torch does it once per thread)
        torch.set_num_threads(1)
        ready.set()
        changed.wait()
        seen["threads"] = torch.get_num_threads()
        done.set()

    thread = threading.Thread(target=task)
    thread.start()
    try:
        ready.wait()
        torch.set_num_threads(2)  # as a plugin would, from another thread
        changed.set()
        done.wait()
        assert seen["threads"] == 1
    finally:
        thread.join()
        torch.set_num_threads(before)
