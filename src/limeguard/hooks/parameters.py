"""The parameter check: before any node runs, parse every section of ``parameters`` with its
frozen dataclass, check the ranges and cross-section rules the dataclasses cannot, and run the
DVC checks of :mod:`limeguard.hooks.dvc`."""

from __future__ import annotations

from typing import Any

from kedro.framework.hooks import hook_impl

from limeguard.hooks.dvc import check_dvc_tracks_data_root, warn_untracked_overrides


class ParameterCheckHooks:
    """Check the run's parameters (and its env against the DAG and DVC) before any node runs."""

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        from limeguard.pipelines.shape import check_run_matches_dag

        params = catalog.load("parameters")
        check_run_matches_dag(params, run_params.get("env"))
        check_parameters(params, parameter_schemas())
        check_dvc_tracks_data_root(run_params.get("project_path"), run_params.get("env"))
        warn_untracked_overrides(params, run_params.get("project_path"))


def parameter_schemas() -> dict[str, type]:
    """Dotted parameter key -> the frozen dataclass that parses it (imported lazily: torch)."""
    from limeguard.corruptions.testset import CorruptionSetConfig
    from limeguard.decoy.config import DecoyParams
    from limeguard.evaluation.config import EvaluateParams
    from limeguard.explain.config import MineParams
    from limeguard.images.sources import SourceConfig
    from limeguard.images.splits import SplitConfig
    from limeguard.images.spurious import CueConfig
    from limeguard.models import ModelChoice
    from limeguard.refinement.rounds import RoundsParams
    from limeguard.reporting import ReportConfig
    from limeguard.runtime import RuntimeConfig
    from limeguard.training import TrainConfig
    from limeguard.training.checkpoint import CheckpointDirs
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
        "decoy": DecoyParams,
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
    check("evaluate.attacks.seed", check_seed)
    check("report.min_correlation", check_fraction)


def check_across_sections(params: dict[str, Any]) -> None:
    """Settings that are valid alone but not together, e.g. oracle masks without a planted cue."""
    from limeguard.arms import parse_arms
    from limeguard.config import ConfigError

    _check_tune_space(params)
    _check_model_fits_data(params)
    masks = ((params.get("rounds") or {}).get("refine") or {}).get("masks", "mined")
    planted = ((params.get("data") or {}).get("spurious") or {}).get("enabled") is True
    if masks == "oracle" and not planted:
        raise ConfigError("rounds.refine.masks: 'oracle' uses the planted cue's pixels, but "
                          "data.spurious.enabled is not true in this env; run a planted-cue env "
                          "(e.g. --env spurious) or use 'mined'")
    parse_arms(params.get("mine"), params.get("rounds"))  # each arm's merged trees


def _check_model_fits_data(params: dict[str, Any]) -> None:
    """The model's input channels and statistics match the channels ``data.source`` yields."""
    from limeguard.config import from_params
    from limeguard.images.source_config import SourceConfig
    from limeguard.models import ModelChoice
    from limeguard.models.fit import check_model_fits

    source = (params.get("data") or {}).get("source")
    model = (params.get("baseline") or {}).get("model")
    if source is None or model is None:
        return
    shape = from_params(SourceConfig, source, "data.source").shape
    if shape is not None:
        check_model_fits(from_params(ModelChoice, model, "baseline.model"), shape)


def _check_tune_space(params: dict[str, Any]) -> None:
    """``tune.arm`` is an arm, and each end of every ``tune.space`` range, set alone over the
    sections the trials start from (the run's or the arm's), is valid."""
    from limeguard.tuning.base import base_params, start_trees
    from limeguard.tuning.objective import WHERE
    from limeguard.tuning.space import check_space_against, parse_space

    tune = params.get("tune") or {}
    mine, rounds = start_trees(tune.get("arm"), params.get("mine"), params.get("rounds"))
    if tune.get("space"):
        check_space_against(parse_space(tune["space"], "tune.space"), base_params(rounds, mine),
                            WHERE)


def _below(schemas: dict[str, type], prefix: str) -> list[str]:
    if not prefix:
        return list(schemas)
    return [k[len(prefix) + 1 :] for k in schemas if k.startswith(prefix + ".")]
