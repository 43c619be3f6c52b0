"""Determinism switched on without torch's compiler import (seconds at every kedro start); a
device the machine lacks stops the run with what to do instead."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from limeguard.config import ConfigError
from limeguard.runtime import require_device_available, resolve_device

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")

CHECK = ("import sys, torch\n"
         "{before}\n"
         "from limeguard.runtime import use_deterministic_algorithms\n"
         "use_deterministic_algorithms()\n"
         "inductor = sys.modules.get('torch._inductor.config')\n"
         "print(torch.are_deterministic_algorithms_enabled(),\n"
         "      torch.is_deterministic_algorithms_warn_only_enabled(),\n"
         "      None if inductor is None else inductor.deterministic)\n")


def _run(before: str = "") -> list[str]:
    done = subprocess.run([sys.executable, "-c", CHECK.format(before=before)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.split()


def test_deterministic_algorithms_turn_on_without_importing_the_compiler() -> None:
    assert _run() == ["True", "True", "None"]


def test_with_the_compiler_loaded_its_flag_is_set_too() -> None:
    assert _run("import torch._inductor.config") == ["True", "True", "True"]


@NO_CUDA
@pytest.mark.parametrize("device", ["cuda", "cuda:0", "cuda:1"])
def test_cuda_without_cuda_stops_and_says_how_to_run_the_toy_version(device: str) -> None:
    with pytest.raises(ConfigError) as err:
        require_device_available(device, env="paper")
    message = str(err.value)
    assert message.startswith(f"runtime.device: {device!r} asked for by env 'paper', but CUDA is "
                              "not available on this machine")
    assert "make paper-smoke" in message and "runtime.device=cpu" in message


@NO_CUDA
def test_resolving_an_absent_device_raises_the_same_error() -> None:
    """``apply_runtime`` (the runtime hook, before the first node) resolves the device: a run whose
    env asks for CUDA stops there (tests/pipelines/test_paper_smoke.py runs `kedro run --env paper`)."""
    with pytest.raises(ConfigError, match=r"CUDA is not available.*make paper-smoke"):
        resolve_device("cuda")


def test_available_devices_pass() -> None:
    for device in ("auto", "cpu"):
        require_device_available(device, env="paper")
    if torch.cuda.is_available():
        require_device_available("cuda")
        with pytest.raises(ConfigError, match="CUDA device"):
            require_device_available(f"cuda:{torch.cuda.device_count()}")
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if not mps:
        with pytest.raises(ConfigError, match="MPS is not available"):
            require_device_available("mps")


def test_not_a_device_is_named() -> None:
    with pytest.raises(ConfigError, match="'cuda:x' is not a device"):
        require_device_available("cuda:x")
