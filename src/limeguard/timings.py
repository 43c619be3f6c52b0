"""Wall times live in their own files, so that every other artifact is a function of its inputs.

Two runs of the same job on the same machine write byte-identical artifacts apart from the
:data:`TIMING_FILES` (tested): DVC then sees that a rerun changed nothing. No stage reads a timing
file, and none is a DVC out, metric or plot.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import Any

# Columns of a training history (limeguard.training.loop.HISTORY_COLUMNS) that measure wall time.
TIMING_COLUMNS = ("seconds", "train_seconds", "images_per_s")

# Every file that holds wall times, as patterns relative to the data root (``*`` matches ``/``).
TIMING_FILES = (
    "08_reporting/node_timings.json",          # every node's wall time (hooks.TimingHooks)
    "08_reporting/node_record.json",           # when each node finished (hooks.TimingHooks)
    "08_reporting/report.md",                  # states the run's start and wall time
    "08_reporting/seeds/report.md",            # the same, for the seeds pipeline's report
    "07_model_output/*_timings.json",          # per-epoch wall times of each training history
    "06_models/checkpoints/*/timings.json",    # the same, beside each resumable checkpoint
)


def is_timing_file(relative_path: str) -> bool:
    """Whether ``relative_path`` (relative to the data root, ``/``-separated) is a timing file."""
    return any(fnmatch.fnmatchcase(relative_path, pattern) for pattern in TIMING_FILES)


def split_timing_rows(rows: Sequence[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """History rows without their wall times, and ``{"epoch", <timing columns>}`` per row."""
    kept = [{k: v for k, v in row.items() if k not in TIMING_COLUMNS} for row in rows]
    timings = [{"epoch": row.get("epoch"), **{k: row[k] for k in TIMING_COLUMNS if k in row}}
               for row in rows]
    return kept, timings


def merge_timing_rows(rows: Sequence[dict[str, Any]], timings: Sequence[dict[str, Any]]) -> list[dict]:
    """The inverse of :func:`split_timing_rows`; an epoch without timings gets none."""
    by_epoch = {t.get("epoch"): t for t in timings}
    return [{**row, **{k: v for k, v in by_epoch.get(row.get("epoch"), {}).items() if k != "epoch"}}
            for row in rows]
