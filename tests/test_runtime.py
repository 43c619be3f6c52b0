"""Determinism switched on without torch's compiler import (seconds at every kedro start)."""

from __future__ import annotations

import subprocess
import sys

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
