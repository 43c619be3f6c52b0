"""file_lock: an exclusive lock per path among the processes of one machine."""

from __future__ import annotations

import fcntl
import hashlib
import tempfile
from pathlib import Path

import pytest

from limeguard.locking import file_lock


def _lock_file(path: Path) -> Path:
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"limeguard-{digest}.lock"


def test_the_lock_is_held_inside_and_released_after(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    with file_lock(target), _lock_file(target).open("w") as other:
        with pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with _lock_file(target).open("w") as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again
        fcntl.flock(other, fcntl.LOCK_UN)


def test_no_path_no_lock() -> None:
    with file_lock(None):
        pass
