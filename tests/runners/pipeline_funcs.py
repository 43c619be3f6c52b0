"""Node functions the runner tests ship to Dask workers (importable there, unlike a test's locals)."""

from __future__ import annotations

from pathlib import Path


def touch(folder: str, name: str) -> int:
    """Writes ``folder/name`` (so a test sees whether the node ran) and returns 1."""
    Path(folder, name).write_text("ran")
    return 1


def add_one(value: int) -> int:
    return value + 1
