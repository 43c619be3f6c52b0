"""Provenance of a run: git commit, library versions, device, seeds, wall time per stage."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import logging
import platform
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from limeguard.jsonable import to_jsonable

log = logging.getLogger(__name__)

LIBRARIES = ("torch", "torchvision", "kedro", "great-expectations", "lime", "torchattacks",
             "pyautoattack", "optuna", "dvc", "numpy", "pandas", "scikit-image",
             "matplotlib")  # fmt: skip
# (stage, pattern on the node's own name, i.e. after the last "."): the first match wins.
# Unmatched nodes fall back to their namespace's first part (e.g. "round_1"), else "other".
STAGE_RULES = (
    ("data", r"^(load_raw_data|split_data|validate_data|gate_data)$"),
    ("baseline", r"^train_.*_baseline$"),
    ("control", r"control"),
    ("mine", r"(mine|mining|segment)"),
    ("refine", r"refine"),
    ("bound", r"bound"),
    ("evaluate", r"^(attack_model|summarize_attacks|check_masking|corruption_accuracy"
                 r"|make_corrupted_test_set|evaluate.*)$"),
    ("report", r"report"),
)


def collect_provenance(
    params: Mapping[str, Any] | None,
    node_timings: Mapping[str, float] | None = None,
    node_record: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    started: str | None = None,
    finished: str | None = None,
    repo: str | Path | None = None,
) -> dict[str, Any]:
    """Everything needed to reproduce the run, JSON-serialisable.

    Args:
        params: the resolved parameters (Kedro's ``parameters``), recorded whole.
        node_timings: node name -> wall seconds (the ``node_timings`` dataset).
        node_record: node name -> ``finished`` (ISO time), ``seconds``, ``commit`` (the
            ``node_record`` dataset); gives ``started`` and ``seed_commits``.
        started, finished: ISO timestamps of the run (``started`` defaults to the earliest node
            start of ``node_record``, ``finished`` to now).
        repo: folder inside the git repository (default: the current directory).

    Returns:
        ``git_commit`` ("unknown" outside a repository), ``git_dirty``, ``python``,
        ``platform``, ``device``, ``libraries`` (name -> version or "not installed"),
        ``seeds`` (dotted key -> value), ``config``, ``wall_time_s`` (stage -> seconds),
        ``wall_time_by_namespace_s``, ``wall_time_total_s``, ``started``, ``finished``,
        ``seed_commits`` (``seed_<k>`` -> the commits its nodes ran at).
    """
    commit, dirty = git_state(repo)
    timings = dict(node_timings or {})
    record = dict(node_record or {})
    return {
        "git_commit": commit,
        "git_dirty": dirty,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "device": device_description(),
        "libraries": library_versions(),
        "seeds": dict(sorted(find_seeds(params or {}).items())),
        "config": to_jsonable(params or {}, nan_as_none=False),
        "wall_time_s": wall_time_by_stage(timings),
        "wall_time_by_namespace_s": wall_time_by_namespace(timings),
        "wall_time_total_s": round(float(sum(timings.values())), 3),
        "started": started or first_start(record),
        "finished": finished or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seed_commits": seed_commits(record, (params or {}).get("runtime") or {}),
    }


def first_start(record: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The earliest node start (its finish minus its seconds) of ``node_record``, ISO UTC."""
    starts = []
    for entry in record.values():
        try:
            finished = dt.datetime.fromisoformat(str(entry["finished"]))
            starts.append(finished - dt.timedelta(seconds=float(entry.get("seconds", 0))))
        except (KeyError, TypeError, ValueError):
            continue
    return min(starts).isoformat(timespec="seconds") if starts else None


def seed_commits(record: Mapping[str, Mapping[str, Any]], runtime: Mapping[str, Any]
                 ) -> dict[str, list[str]]:
    """``seed_<k>`` -> the commits the nodes of that seed ran at: the ``seed_<k>`` namespaces of
    the ``seeds`` pipeline, else every node under ``seed_<runtime.seed>``."""
    out: dict[str, set[str]] = {}
    for name, entry in record.items():
        space = name.split(".", 1)[0]
        key = space if re.fullmatch(r"seed_\d+", space) else None
        if key or not any(re.match(r"seed_\d+\.", n) for n in record):
            key = key or f"seed_{runtime.get('seed', 0)}"
            out.setdefault(key, set()).add(str(entry.get("commit", "unknown")))
    return {k: sorted(v) for k, v in sorted(out.items())}


def git_state(repo: str | Path | None = None) -> tuple[str, bool | None]:
    """(commit hash or "unknown", whether tracked files differ from it; None if unknown).

    ``dvc.lock`` does not count: ``dvc repro`` rewrites it after every stage, so a later stage would
    otherwise always see its own run as uncommitted changes.
    """
    cwd = str(repo) if repo is not None else None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                                text=True, timeout=20, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                 ":(top)", ":(top,exclude)dvc.lock"],
                                cwd=cwd, capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError) as err:
        log.info("no git commit recorded: %s", err)
        return "unknown", None
    return commit or "unknown", bool(status.stdout.strip())


def commit_label(repo: str | Path | None = None) -> str:
    """The checkout's commit as one string: the hash, ``<hash>-dirty`` when tracked files differ
    from it, ``unknown`` outside a repository."""
    commit, dirty = git_state(repo)
    return f"{commit}-dirty" if dirty else commit


def library_versions(names: tuple[str, ...] = LIBRARIES) -> dict[str, str]:
    """Installed version of each distribution, "not installed" when absent."""
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def device_description() -> str:
    """The CUDA device's name, else ``cpu (<n> torch threads)``."""
    try:
        import torch
    except ImportError:
        return "unknown (torch not installed)"
    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)}"
    return f"cpu ({torch.get_num_threads()} torch threads)"


def stage_of(node_name: str) -> str:
    """The stage of a node (see :data:`STAGE_RULES`): ``round_1.refine_model`` -> ``refine``."""
    base = node_name.rsplit(".", 1)[-1]
    for stage, pattern in STAGE_RULES:
        if re.search(pattern, base):
            return stage
    return node_name.split(".", 1)[0] if "." in node_name else "other"


def wall_time_by_stage(timings: Mapping[str, float]) -> dict[str, float]:
    """Seconds per stage, summed over the stage's nodes, in first-seen order."""
    out: dict[str, float] = {}
    for name, seconds in timings.items():
        stage = stage_of(name)
        out[stage] = round(out.get(stage, 0.0) + float(seconds), 3)
    return out


def wall_time_by_namespace(timings: Mapping[str, float]) -> dict[str, float]:
    """Seconds per namespace (first part of a dotted node name; ``-`` for none)."""
    out: dict[str, float] = {}
    for name, seconds in timings.items():
        space = name.split(".", 1)[0] if "." in name else "-"
        out[space] = round(out.get(space, 0.0) + float(seconds), 3)
    return out


def find_seeds(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Every parameter whose key is or ends in ``seed``, as dotted key -> value."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.update(find_seeds(value, dotted))
        elif str(key) == "seed" or str(key).endswith("_seed") or str(key) == "seeds":
            out[dotted] = to_jsonable(value, nan_as_none=False)
    return out
