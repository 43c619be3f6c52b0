"""Project hooks: check every parameter before any node runs, then apply runtime settings."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

log = logging.getLogger(__name__)


def parameter_schemas() -> dict[str, type]:
    """Dotted parameter key -> the frozen dataclass that parses it (imported lazily: torch)."""
    from limeguard.cifar.sources import SourceConfig
    from limeguard.cifar.splits import SplitConfig
    from limeguard.cifar.spurious import CueConfig
    from limeguard.corruptions.testset import CorruptionSetConfig
    from limeguard.pipelines.baseline.nodes import CheckpointDirs, ModelChoice
    from limeguard.pipelines.evaluate.nodes import EvaluateParams
    from limeguard.pipelines.mine.nodes import MineParams
    from limeguard.pipelines.rounds.nodes import RoundsParams
    from limeguard.reporting import ReportConfig
    from limeguard.runtime import RuntimeConfig
    from limeguard.training import TrainConfig
    from limeguard.tuning.config import TuneConfig
    from limeguard.validation.data_gate import DataGateConfig

    return {
        "runtime": RuntimeConfig,
        "data.source": SourceConfig,
        "data.split": SplitConfig,
        "data.gate": DataGateConfig,
        "data.spurious": CueConfig,
        "baseline.model": ModelChoice,
        "baseline.checkpoint_dirs": CheckpointDirs,
        "baseline.standard": TrainConfig,
        "baseline.adversarial": TrainConfig,
        "evaluate": EvaluateParams,
        "corruptions": CorruptionSetConfig,
        "mine": MineParams,
        "rounds": RoundsParams,
        "report": ReportConfig,
        "tune": TuneConfig,
    }


def check_parameters(params: dict[str, Any], schemas: dict[str, type]) -> None:
    """Parse every known section; an unknown or misspelled key anywhere raises ``ConfigError``."""
    from limeguard.config import ConfigError, from_params

    def walk(node: Any, prefix: str) -> None:
        if prefix in schemas:
            from_params(schemas[prefix], node, prefix)
            return
        children = {k.split(".")[0] for k in _below(schemas, prefix)}
        if not isinstance(node, dict):
            raise ConfigError(f"{prefix}: expected a mapping with keys {sorted(children)}")
        for key, value in node.items():
            if key not in children:
                where = f"{prefix}." if prefix else ""
                raise ConfigError(
                    f"{where}{key}: unknown parameter; known here: {', '.join(sorted(children))}"
                )
            walk(value, f"{prefix}.{key}" if prefix else key)

    walk(params, "")
    check_key_ranges(params)
    check_across_sections(params)


def check_key_ranges(params: dict[str, Any]) -> None:
    """Ranges of keys whose section's dataclass accepts any number (each check names the key)."""
    from limeguard.config import check_fraction, check_int_range, check_seed

    def check(key: str, checker: Any, *args: Any, optional: bool = False) -> None:
        node: Any = params
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return
            node = node[part]
        if not (optional and node is None):
            checker(key, node, *args)

    for key in ("evaluate.max_images", "evaluate.bound_images"):
        check(key, check_int_range, 1, optional=True)  # null: every image
    for key in ("evaluate.attacks.seed", "tune.sampler.seed"):
        check(key, check_seed)
    for key in ("tune.pruner.n_startup_trials", "tune.pruner.n_warmup_steps"):
        check(key, check_int_range, 0)
    check("report.min_correlation", check_fraction)


def check_across_sections(params: dict[str, Any]) -> None:
    """Settings that are valid alone but not together, e.g. oracle masks without a planted cue."""
    from limeguard.config import ConfigError

    _check_tune_space(params)
    masks = ((params.get("rounds") or {}).get("refine") or {}).get("masks", "mined")
    planted = ((params.get("data") or {}).get("spurious") or {}).get("enabled") is True
    if masks == "oracle" and not planted:
        raise ConfigError("rounds.refine.masks: 'oracle' uses the planted cue's pixels, but "
                          "data.spurious.enabled is not true in this env; run a planted-cue env "
                          "(e.g. --env spurious) or use 'mined'")


def _check_tune_space(params: dict[str, Any]) -> None:
    """Each end of every ``tune.space`` range, set alone over the configured sections, is valid."""
    space = (params.get("tune") or {}).get("space")
    if not space:
        return
    from limeguard.pipelines.tune.nodes import base_params
    from limeguard.tuning.objective import WHERE
    from limeguard.tuning.space import check_space_against, parse_space

    base = base_params(params.get("rounds") or {}, params.get("mine") or {})
    check_space_against(parse_space(space, "tune.space"), base, WHERE)


def _below(schemas: dict[str, type], prefix: str) -> list[str]:
    if not prefix:
        return list(schemas)
    return [k[len(prefix) + 1 :] for k in schemas if k.startswith(prefix + ".")]


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


class ParameterCheckHooks:
    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        from limeguard.pipelines.shape import check_run_matches_dag

        params = catalog.load("parameters")
        check_run_matches_dag(params, run_params.get("env"))
        check_parameters(params, parameter_schemas())
        check_dvc_tracks_data_root(run_params.get("project_path"), run_params.get("env"))
        warn_untracked_overrides(params, run_params.get("project_path"))


class RuntimeHooks:
    """Apply ``params:runtime`` before the pipeline and once in every other process that runs
    nodes (the workers of ``limeguard.runners.DaskRunner``); seed the global generators before
    every node from (seed, node name), so that no node's numbers depend on which nodes ran before
    it in the same process (runner, worker and ``--from-nodes`` give the same results)."""

    def __init__(self) -> None:
        self._seed: int | None = None
        self._applied_in: int | None = None  # the process id that applied the runtime settings

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self._apply(catalog)

    @hook_impl
    def before_node_run(self, node: Any, catalog: Any) -> None:
        import os

        from limeguard.runtime import node_seed, seed_everything

        if self._applied_in != os.getpid():
            self._apply(catalog)
        seed_everything(node_seed(self._seed or 0, node.name))

    def _apply(self, catalog: Any) -> None:
        import os

        from limeguard.config import from_params
        from limeguard.runtime import RuntimeConfig, apply_runtime, set_progress

        cfg = from_params(RuntimeConfig, catalog.load("parameters").get("runtime"), "runtime")
        set_progress(cfg.progress)
        apply_runtime(cfg)
        self._seed, self._applied_in = cfg.seed, os.getpid()


class TimingHooks:
    """Record every node's wall time in the ``node_timings`` dataset, and when it finished at which
    commit in ``node_record`` (both merged across runs)."""

    def __init__(self) -> None:
        self._catalog: Any = None
        self._started: dict[str, float] = {}

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self._catalog = catalog if "node_timings" in catalog else None

    @hook_impl
    def before_node_run(self, node: Any) -> None:
        import time

        self._started[node.name] = time.perf_counter()

    @hook_impl
    def after_node_run(self, node: Any, catalog: Any) -> None:
        import time

        started = self._started.pop(node.name, None)
        if self._catalog is None and "node_timings" in catalog:
            self._catalog = catalog  # a worker process: no before_pipeline_run here
        if self._catalog is None or started is None:
            return
        seconds = round(time.perf_counter() - started, 3)
        self._merge("node_timings", node.name, seconds)
        if "node_record" in self._catalog:
            self._merge("node_record", node.name, {"finished": _utc_now(), "seconds": seconds,
                                                   "commit": _commit()})

    def _merge(self, dataset: str, key: str, value: Any) -> None:
        """Set ``key`` in the JSON dataset ``dataset``, keeping what earlier nodes and runs wrote."""
        with _file_lock(getattr(self._catalog.get(dataset), "_filepath", None)):
            record = self._catalog.load(dataset) if self._catalog.exists(dataset) else {}
            record[key] = value
            self._catalog.save(dataset, record)


def _utc_now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@functools.cache
def _commit() -> str:
    """The checkout's commit (``-dirty`` with uncommitted changes to tracked files)."""
    from limeguard.reporting.provenance import git_state

    commit, dirty = git_state()
    return f"{commit}-dirty" if dirty else commit


@contextlib.contextmanager
def _file_lock(path: Any) -> Iterator[None]:
    """An exclusive lock for ``path`` among the processes of this machine (parallel workers)."""
    if path is None:
        yield
        return
    import fcntl
    import hashlib
    import tempfile
    from pathlib import Path

    digest = hashlib.sha1(str(path).encode()).hexdigest()[:16]
    with (Path(tempfile.gettempdir()) / f"limeguard-{digest}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


class SeedParameterHooks:
    """``params:seed_runtime.seed_<k>``: the run's ``runtime`` with ``seed: k`` for every k of
    ``runtime.seeds``, the ``params:runtime`` of the ``seeds`` pipeline's namespace ``seed_<k>``
    (Kedro maps a namespace's parameters to other parameters only)."""

    @hook_impl
    def after_catalog_created(self, catalog: Any, parameters: dict[str, Any]) -> None:
        runtime = dict(parameters.get("parameters", {}).get("runtime") or {})
        for seed in runtime.get("seeds") or []:
            catalog[f"params:seed_runtime.seed_{seed}"] = {**runtime, "seed": seed}
