"""Project hooks: check every parameter before any node runs, then apply runtime settings."""

from __future__ import annotations

import functools
import logging
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
    check_across_sections(params)


def check_across_sections(params: dict[str, Any]) -> None:
    """Settings that are valid alone but not together, e.g. oracle masks without a planted cue."""
    from limeguard.config import ConfigError

    masks = ((params.get("rounds") or {}).get("refine") or {}).get("masks", "mined")
    planted = ((params.get("data") or {}).get("spurious") or {}).get("enabled") is True
    if masks == "oracle" and not planted:
        raise ConfigError("rounds.refine.masks: 'oracle' uses the planted cue's pixels, but "
                          "data.spurious.enabled is not true in this env; run a planted-cue env "
                          "(e.g. --env spurious) or use 'mined'")


def _below(schemas: dict[str, type], prefix: str) -> list[str]:
    if not prefix:
        return list(schemas)
    return [k[len(prefix) + 1 :] for k in schemas if k.startswith(prefix + ".")]


class ParameterCheckHooks:
    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        check_parameters(catalog.load("parameters"), parameter_schemas())


class RuntimeHooks:
    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        from limeguard.config import from_params
        from limeguard.runtime import RuntimeConfig, apply_runtime, set_progress

        cfg = from_params(RuntimeConfig, catalog.load("parameters").get("runtime"), "runtime")
        set_progress(cfg.progress)
        apply_runtime(cfg)


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
    def after_node_run(self, node: Any) -> None:
        import time

        started = self._started.pop(node.name, None)
        if self._catalog is None or started is None:
            return
        seconds = round(time.perf_counter() - started, 3)
        self._merge("node_timings", node.name, seconds)
        if "node_record" in self._catalog:
            self._merge("node_record", node.name, {"finished": _utc_now(), "seconds": seconds,
                                                   "commit": _commit()})

    def _merge(self, dataset: str, key: str, value: Any) -> None:
        """Set ``key`` in the JSON dataset ``dataset``, keeping what earlier nodes and runs wrote."""
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


class SeedParameterHooks:
    """``params:seed_runtime.seed_<k>``: the run's ``runtime`` with ``seed: k`` for every k of
    ``runtime.seeds``, the ``params:runtime`` of the ``seeds`` pipeline's namespace ``seed_<k>``
    (Kedro maps a namespace's parameters to other parameters only)."""

    @hook_impl
    def after_catalog_created(self, catalog: Any, parameters: dict[str, Any]) -> None:
        runtime = dict(parameters.get("parameters", {}).get("runtime") or {})
        for seed in runtime.get("seeds") or []:
            catalog[f"params:seed_runtime.seed_{seed}"] = {**runtime, "seed": seed}
