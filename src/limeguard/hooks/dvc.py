"""Checks of a run under ``dvc repro`` (``DVC_STAGE`` set): dvc.yaml tracks conf/base and the
default run's files under ``data/`` only."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def warn_untracked_overrides(params: dict[str, Any], project_path: str | None) -> list[str]:
    """Under ``dvc repro`` (``DVC_STAGE`` set), warn about the keys whose value differs from
    conf/base's: dvc.yaml tracks conf/base only, so a change to them reruns nothing. Returns them."""
    import os

    if "DVC_STAGE" not in os.environ or project_path is None:
        return []
    from kedro.config import OmegaConfigLoader

    loader = OmegaConfigLoader(conf_source=str(Path(project_path) / "conf"), base_env="base",
                               default_run_env="base", env="base",
                               merge_strategy={"parameters": "soft"})
    differing = differing_keys(params, loader["parameters"])
    if differing:
        shown = ", ".join(differing[:8]) + (", ..." if len(differing) > 8 else "")
        log.warning("DVC stage %s runs with %d parameter(s) that differ from conf/base (%s); "
                    "dvc.yaml tracks conf/base only, so changing them will not rerun this stage. "
                    "Put them in conf/base, or run `kedro run --env <env>` outside DVC.",
                    os.environ["DVC_STAGE"], len(differing), shown)
    return differing


def check_dvc_tracks_data_root(project_path: str | None, env: str | None) -> None:
    """Under ``dvc repro``, refuse an env whose ``data_root`` is not ``data``: dvc.yaml's outputs
    are the default run's files under ``data/``, so its stages would run and then miss them."""
    import os

    if "DVC_STAGE" not in os.environ or project_path is None:
        return
    from kedro.config import OmegaConfigLoader

    from limeguard.config import ConfigError

    run = env or os.environ.get("KEDRO_ENV") or "local"
    loader = OmegaConfigLoader(conf_source=str(Path(project_path) / "conf"), base_env="base",
                               default_run_env="local", env=run)
    root = str((loader["globals"] or {}).get("data_root", "data"))
    if Path(root) != Path("data"):
        raise ConfigError(
            f"data_root: env {run!r} writes under {root}/, but dvc.yaml tracks the default run's "
            f"files under data/; run this env with `kedro run --env {run}` (and version its "
            f"artifacts with `dvc add {root}`), not through `dvc repro`")


def differing_keys(params: Any, base: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose value in ``params`` differs from ``base`` (added and removed included)."""
    if not (isinstance(params, dict) and isinstance(base, dict)):
        return [] if params == base else [prefix]
    keys = sorted(set(params) | set(base))
    return [d for k in keys for d in differing_keys(params.get(k), base.get(k),
                                                   f"{prefix}.{k}" if prefix else k)]
