"""safetensors files written by the project depend on their content only."""

from __future__ import annotations

import subprocess
import sys

import torch
from safetensors.torch import load

from limeguard.safetensors_io import dump

WRITE = """
import sys, torch
from limeguard.safetensors_io import dump
blob = dump({"b": torch.arange(6.0).reshape(2, 3), "a": torch.ones(3, dtype=torch.uint8)},
            {"spec": "s", "format": "f", "metadata": "m", "meta": "{}", "classes": "[]"})
sys.stdout.buffer.write(blob)
"""


def test_fresh_processes_write_the_same_bytes() -> None:
    """safetensors' own writer orders the metadata keys differently from process to process."""
    blobs = {subprocess.run([sys.executable, "-c", WRITE], capture_output=True, check=True).stdout
             for _ in range(2)}
    assert len(blobs) == 1


def test_the_bytes_are_a_valid_safetensors_file() -> None:
    tensors = {"x": torch.randn(3, 4), "y": torch.arange(5)}
    blob = dump(tensors, {"z": "1", "a": "2"})
    length = int.from_bytes(blob[:8], "little")
    assert length % 8 == 0 and blob[8:8 + length].startswith(b'{"__metadata__":{"a":"2","z":"1"}')
    loaded = load(blob)
    assert all(torch.equal(loaded[k], v) for k, v in tensors.items())
    assert load(dump(tensors))["x"].shape == (3, 4)
