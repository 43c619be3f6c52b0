"""The parts of conf that shape the DAG, read when the pipelines are built (not at run time).

``rounds.count`` (round_1 .. round_T) and ``data.spurious.enabled`` (the planted-cue variant) decide
which nodes exist, so they come from conf (base, then the run env), not from ``--params``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[3]  # src/limeguard/pipelines/shape.py


def configured_parameters(project_path: Path | None = None) -> dict[str, Any]:
    """The merged parameters of base and the run env.

    The env is ``KEDRO_ENV`` (Kedro's own variable for ``--env``), default ``local``. The project is
    ``project_path``, else the working directory if it holds ``conf/``, else the project this
    package's sources live in (e.g. for a notebook started in ``notebooks/``).
    """
    from kedro.config import OmegaConfigLoader

    root = project_path or (Path.cwd() if (Path.cwd() / "conf").is_dir() else PROJECT_ROOT)
    loader = OmegaConfigLoader(
        conf_source=str(root / "conf"), base_env="base", default_run_env="local",
        env=os.environ.get("KEDRO_ENV", "local"), merge_strategy={"parameters": "soft"},
    )
    try:
        return dict(loader["parameters"])
    except (ValueError, FileNotFoundError):
        return {}


def configured_round_count(project_path: Path | None = None) -> int:
    """``rounds.count`` (3 when conf cannot be read)."""
    try:
        return int(configured_parameters(project_path).get("rounds", {}).get("count", 3))
    except (TypeError, ValueError):
        return 3


def spurious_enabled(project_path: Path | None = None) -> bool:
    """``data.spurious.enabled``: the planted-cue variant (the ``spurious`` env)."""
    spurious = configured_parameters(project_path).get("data", {}).get("spurious") or {}
    return spurious.get("enabled") is True
