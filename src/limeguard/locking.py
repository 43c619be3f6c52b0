"""A lock on a file among the processes of one machine (parallel runner workers)."""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def file_lock(path: Any) -> Iterator[None]:
    """An exclusive lock for ``path`` among the processes of this machine (parallel workers);
    ``None``: no lock. The lock file lives in the temporary folder, named by a hash of ``path``."""
    if path is None:
        yield
        return
    import fcntl  # POSIX only: imported where it is used

    digest = hashlib.sha1(str(path).encode()).hexdigest()[:16]
    with (Path(tempfile.gettempdir()) / f"limeguard-{digest}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
