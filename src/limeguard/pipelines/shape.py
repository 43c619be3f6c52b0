"""The parts of conf that shape the DAG, read when the pipelines are built (not at run time).

``rounds.count`` (round_1 .. round_T), ``rounds.arms`` (a namespace per arm, and whether it mines
the baseline itself), ``data.spurious.enabled`` (the planted-cue variant), ``runtime.seeds`` and
``tune.arm`` (whose masks the ``tune`` pipeline reads) decide which nodes exist and what they
read, so they come from conf (base, then the run env), not from ``--params``;
:func:`check_run_matches_dag` stops a run whose parameters disagree with the built DAG.

Why module-level state: Kedro gives the pipelines no way to see the run's env.
``register_pipelines()`` takes no arguments, and ``kedro.framework.project.pipelines`` is a
process-wide mapping built lazily on first access, before or after the session loads its conf
depending on the command (kedro-org/kedro#3093, "Make config loading consistently happen before
pipelines are registered to allow for dynamic pipelines"). So the project's context records its
env here when it is created (:func:`follow_run_env`: ``kedro run --env X``, ``kedro viz --env X``,
a notebook's session), and drops pipelines already built for another env. Nothing is written to
the process environment; without a context the env is ``KEDRO_ENV``, else ``local``. The state is
one :class:`_ShapeState`; :func:`forget_run_env` clears it (tests).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[3]  # src/limeguard/pipelines/shape.py
DEFAULT_ENV = "local"
SHAPE_KEYS = ("rounds.count", "rounds.arms", "data.spurious.enabled", "runtime.seeds", "tune.arm")


@dataclass
class _ShapeState:
    """The env a context asked for, what the pipelines were last built with, and the conf read."""

    session_env: str | None = None  # set by the project's context (follow_run_env)
    built: dict[str, Any] = field(default_factory=dict)  # env and shape of the last build
    read: dict[tuple, dict[str, Any]] = field(default_factory=dict)  # (project, env, conf) -> params


_state = _ShapeState()


def run_env() -> str:
    """The env the DAG is built for: the context's (``--env``), else ``KEDRO_ENV``, else ``local``
    (Kedro's default run env)."""
    return _state.session_env or os.environ.get("KEDRO_ENV") or DEFAULT_ENV


def forget_run_env() -> None:
    """Clear the recorded env, the last build and the conf read (a fresh process's state)."""
    global _state
    _state = _ShapeState()


def configured_parameters(project_path: Path | None = None) -> dict[str, Any]:
    """The merged parameters of base and the run env (:func:`run_env`).

    The project is ``project_path``, else the working directory if it holds ``conf/``, else the
    project this package's sources live in (e.g. for a notebook started in ``notebooks/``). Read
    once per env and state of the conf files: building the pipelines asks about a hundred times.
    """
    root = project_path or (Path.cwd() if (Path.cwd() / "conf").is_dir() else PROJECT_ROOT)
    key = (str(Path(root).resolve()), run_env(), _conf_state(Path(root) / "conf", run_env()))
    if key not in _state.read:
        _state.read.clear()
        _state.read[key] = _load_parameters(Path(root) / "conf")
    params = copy.deepcopy(_state.read[key])
    _state.built.update(env=run_env(), shape=dag_shape(params))
    return params


def _conf_state(conf: Path, env: str) -> tuple:
    """(path, mtime, size) of every file in conf/base and conf/<env>: a changed file reads anew."""
    files = sorted(f for folder in (conf / "base", conf / env) if folder.is_dir()
                   for f in folder.rglob("*") if f.is_file())
    return tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)


def _load_parameters(conf: Path) -> dict[str, Any]:
    from kedro.config import OmegaConfigLoader

    loader = OmegaConfigLoader(
        conf_source=str(conf), base_env="base", default_run_env=DEFAULT_ENV,
        env=run_env(), merge_strategy={"parameters": "soft"},
    )
    try:
        return dict(loader["parameters"])
    except (ValueError, FileNotFoundError):
        return {}


def dag_shape(params: dict[str, Any]) -> dict[str, Any]:
    """``{"rounds.count": T, "rounds.arms": {arm: mines the baseline itself}, "data.spurious.enabled":
    bool, "runtime.seeds": [...], "tune.arm": arm or None}`` of a parameters tree (the seeds shape
    the ``seeds`` pipeline: a namespace per seed)."""
    from limeguard.arms import arm_overrides, mines_baseline

    spurious = (params.get("data") or {}).get("spurious") or {}
    seeds = list((params.get("runtime") or {}).get("seeds") or [0])
    arms = {str(name): mines_baseline(o)
            for name, o in arm_overrides(params.get("rounds")).items()}
    return {"rounds.count": _round_count(params), "rounds.arms": arms,
            "data.spurious.enabled": spurious.get("enabled") is True, "runtime.seeds": seeds,
            "tune.arm": (params.get("tune") or {}).get("arm")}


def _round_count(params: dict[str, Any]) -> int:
    try:
        return int((params.get("rounds") or {}).get("count", 3))
    except (TypeError, ValueError):
        return 3


def configured_round_count(project_path: Path | None = None) -> int:
    """``rounds.count`` (3 when conf cannot be read)."""
    return _round_count(configured_parameters(project_path))


def configured_arms(project_path: Path | None = None) -> dict[str, bool]:
    """Arm name -> whether it mines the baseline itself (overrides ``mine``), in conf's order."""
    return dag_shape(configured_parameters(project_path))["rounds.arms"]


def baseline_mining(arm: str | None, kind: str) -> str:
    """The catalog name of the AT baseline's mining output ``kind`` (e.g. ``spurious_masks``) as
    ``arm`` sees it: the arm's own mining, ``<arm>.adversarial.<kind>``, when it mines the baseline
    itself, else the run's, ``adversarial.<kind>`` (also for None or an unknown arm)."""
    own = arm is not None and configured_arms().get(arm, False)
    return f"{arm}.adversarial.{kind}" if own else f"adversarial.{kind}"


def configured_tune_arm(project_path: Path | None = None) -> str | None:
    """``tune.arm``: the arm the ``tune`` pipeline tunes (None: the run's settings)."""
    return dag_shape(configured_parameters(project_path))["tune.arm"]


def spurious_enabled(project_path: Path | None = None) -> bool:
    """``data.spurious.enabled``: the planted-cue variant (the ``spurious`` env)."""
    return dag_shape(configured_parameters(project_path))["data.spurious.enabled"]


def follow_run_env(env: str | None) -> None:
    """Make ``env`` (a Kedro context's env; ``None``: Kedro's default) the env the DAG is built for,
    and drop pipelines already built for another env so that the next access rebuilds them."""
    if env is not None:
        _state.session_env = env
    if _state.built.get("env") not in (None, run_env()):
        _rebuild_pipelines()


def _rebuild_pipelines() -> None:
    from kedro.framework import project

    if project.PACKAGE_NAME is not None:
        project.pipelines.configure(f"{project.PACKAGE_NAME}.pipeline_registry")
    _state.built.clear()


def check_run_matches_dag(params: dict[str, Any], env: str | None) -> None:
    """Raise ``ConfigError`` naming both envs when the run's parameters would need another DAG.

    ``params`` are the run's (conf of ``env`` and ``--params``); the DAG was built from the conf of
    the env recorded when the pipelines were built. Nothing to check before any pipeline was built.
    """
    from limeguard.config import ConfigError

    if "shape" not in _state.built:
        return
    wanted, built_shape = dag_shape(params), _state.built["shape"]
    differing = [key for key in SHAPE_KEYS if wanted[key] != built_shape[key]]
    if differing:
        run, built = env or DEFAULT_ENV, _state.built["env"]
        found = ", ".join(f"{k}: {wanted[k]} in the run, {built_shape[k]} in the DAG" for k in differing)
        where = (f"the run's env is {run!r} but the DAG was built for env {built!r}" if run != built
                 else f"the run's parameters (env {run!r} and --params) differ from its conf")
        raise ConfigError(
            f"{differing[0]}: {where} ({found}). These keys shape the DAG and are read from conf "
            f"when the pipelines are built: set them in conf/{run}/ (not with --params) and run "
            f"with --env {run}"
        )
