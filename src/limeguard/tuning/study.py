"""Creating or resuming a study and running one worker on it up to a total trial count."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna

from limeguard.config import ConfigError, to_params
from limeguard.training import NonFiniteLossError
from limeguard.tuning.config import TuneConfig
from limeguard.tuning.space import SearchSpace, check_space_against, parse_space
from limeguard.tuning.storage import open_storage, redact

log = logging.getLogger(__name__)
FINGERPRINT_KEY = "limeguard_fingerprint"
SETUP_KEY = "limeguard_setup"


class SurplusTrial(Exception):
    """This worker's new trial would exceed ``study.n_trials`` (another worker got there first)."""


@dataclass(frozen=True)
class WorkerResult:
    """What one :func:`run_worker` call did.

    Attributes:
        study_name, storage: the study (storage URL with its password hidden).
        ran: trial numbers this worker ran (any final state).
        counted: trials the study holds that count towards ``n_trials``.
        seconds: wall time of this worker.
    """

    study_name: str
    storage: str
    ran: tuple[int, ...]
    counted: int
    seconds: float


def counts(trial: Any) -> bool:
    """Whether a trial counts towards the total: complete, pruned, running, or failed by the
    objective (a NaN loss). Interrupted and surplus trials do not: they re-run. Nor does a killed
    worker's trial, failed for its stale heartbeat: its retry (same parameters) counts instead."""
    from optuna.trial import TrialState

    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING):
        return True
    return trial.state == TrialState.FAIL and "failure" in trial.user_attrs


def counted_trials(study: Any) -> int:
    return sum(counts(t) for t in study.get_trials(deepcopy=False))


def prepare_study(cfg: TuneConfig, base: dict[str, dict[str, Any]], *, load_only: bool = False):
    """Check the space against ``base`` and the storage, then create or load the study.

    Everything that can be wrong with the configuration fails here, before any trial runs.

    Raises:
        ConfigError: a space entry whose bound is invalid for its config, a study of the same
            name created with another objective, space or base parameters (named).
        StorageError: the storage cannot be opened.
    """
    space = parse_space(cfg.space, "tune.space")
    from limeguard.tuning.objective import WHERE

    check_space_against(space, base, WHERE)
    storage = open_storage(cfg.study.storage, cfg.study.heartbeat_s, cfg.study.grace_s,
                           cfg.study.retries)
    defaults = default_values(space, base) if cfg.enqueue_defaults else None
    sampler = PerTrialSeededSampler(cfg, defaults)
    if load_only:
        return optuna.load_study(study_name=cfg.study_name, storage=storage, sampler=sampler,
                                 pruner=make_pruner(cfg, space, base)), space
    study = optuna.create_study(
        storage=storage, study_name=cfg.study_name, sampler=sampler,
        pruner=make_pruner(cfg, space, base), directions=cfg.objective.directions,
        load_if_exists=True)
    _check_setup(study, cfg, space, base)
    return study, space


def setup_record(cfg: TuneConfig, space: SearchSpace, base: dict[str, Any]) -> dict[str, Any]:
    """What makes two runs the same study: objective, space, base params (not the trial count)."""
    return {"objective": to_params(cfg.objective), "space": space.as_params(),
            "base": json.loads(json.dumps(base, sort_keys=True, default=str)),
            "remine": cfg.remine}


def _check_setup(study: Any, cfg: TuneConfig, space: SearchSpace, base: dict[str, Any]) -> None:
    record = setup_record(cfg, space, base)
    digest = hashlib.sha1(json.dumps(record, sort_keys=True).encode()).hexdigest()
    stored = study.user_attrs.get(FINGERPRINT_KEY)
    if stored is None:
        study.set_user_attr(FINGERPRINT_KEY, digest)
        study.set_user_attr(SETUP_KEY, record)
        return
    if stored != digest:
        old = study.user_attrs.get(SETUP_KEY, {})
        differs = sorted(k for k in record if old.get(k) != record[k]) or ["(unknown)"]
        raise ConfigError(
            f"tune.study.name: the study {study.study_name!r} in {redact(cfg.study.storage)} was "
            f"created with another {', '.join(differs)}; its trials are not comparable with "
            "this configuration. Set tune.study.name to a new name, or delete the old study: "
            f"optuna delete-study --study-name {study.study_name} --storage <url>")
    if [d.name.lower() for d in study.directions] != cfg.objective.directions:
        raise ConfigError(f"tune.study.name: {study.study_name!r} has directions "
                          f"{study.directions}, objective.mode {cfg.objective.mode!r} needs "
                          f"{cfg.objective.directions}")


def default_values(space: SearchSpace, base: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The base configs' values of the searched parameters (the untuned defaults)."""
    from limeguard.tuning.objective import WHERE
    from limeguard.tuning.space import build_configs

    configs = build_configs(base, WHERE)
    out = {}
    for p in space.params:
        value: Any = configs[p.root]
        for part in p.field_path:
            value = getattr(value, part)
        out[p.name] = value
    return out


def make_pruner(cfg: TuneConfig, space: SearchSpace, base: dict[str, Any]) -> Any:
    p = cfg.pruner
    if cfg.objective.mode == "pareto" or p.kind == "none":
        return optuna.pruners.NopPruner()
    if p.kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=p.n_startup_trials,
                                           n_warmup_steps=p.n_warmup_steps)
    epochs = next((s.high for s in space.params if s.name == "train.epochs"), None)
    epochs = int(epochs or (base.get("train") or {}).get("epochs", 10))
    return optuna.pruners.HyperbandPruner(min_resource=p.min_resource, max_resource=max(epochs, 1),
                                          reduction_factor=p.reduction_factor)


def make_sampler(cfg: TuneConfig, seed: int) -> Any:
    """TPE (with the clean-accuracy constraint in ``constrained`` mode) or NSGA-II."""
    mode = cfg.objective.mode
    if mode == "pareto":
        return optuna.samplers.NSGAIISampler(population_size=cfg.sampler.population_size,
                                             seed=seed)
    # constrained: the objective sets trial.set_constraint (Optuna 5's core constraint API)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=cfg.sampler.n_startup_trials)


class PerTrialSeededSampler(optuna.samplers.BaseSampler):
    """Delegates to a fresh TPE / NSGA-II sampler seeded with (seed, trial number) per trial.

    Workers sharing one storage and seed would otherwise draw the same parameters; this way they
    differ, and trial k of a single worker is reproducible.
    """

    def __init__(self, cfg: TuneConfig, defaults: dict[str, Any] | None = None) -> None:
        self.cfg, self.defaults = cfg, defaults or {}
        self.inner = make_sampler(cfg, cfg.sampler.seed)

    def before_trial(self, study: Any, trial: Any) -> None:
        self.inner = make_sampler(self.cfg, (self.cfg.sampler.seed * 1_000_003 + trial.number) % 2**31)
        self.inner.before_trial(study, trial)

    def infer_relative_search_space(self, study: Any, trial: Any) -> Any:
        return self.inner.infer_relative_search_space(study, trial)

    def sample_relative(self, study: Any, trial: Any, search_space: Any) -> Any:
        if trial.number == 0 and self.defaults:
            return {}  # trial 0 takes the defaults, parameter by parameter
        return self.inner.sample_relative(study, trial, search_space)

    def sample_independent(self, study: Any, trial: Any, param_name: str, distribution: Any) -> Any:
        if trial.number == 0 and param_name in self.defaults:
            value = self.defaults[param_name]
            if distribution._contains(distribution.to_internal_repr(value)):
                return value
            log.warning("tune: the default %s=%r lies outside the space; trial 0 samples it",
                        param_name, value)
        return self.inner.sample_independent(study, trial, param_name, distribution)

    def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
        self.inner.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.inner.reseed_rng()


def run_worker(study: Any, objective: Callable[[Any], Any], cfg: TuneConfig) -> WorkerResult:
    """Run trials on ``study`` until it holds ``cfg.study.n_trials`` counted trials (see
    :func:`counts`), the timeout passes, or another worker took the last slot.

    A trial whose loss becomes NaN/inf is recorded as FAIL (user attribute ``failure``) and the
    study goes on. Any other error fails the trial and stops the worker (re-raised).
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial comes from us
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)  # a killed worker's trials (RDB heartbeat)
    target, start, ran = cfg.study.n_trials, time.monotonic(), []
    state = {"surplus": False}

    def guarded(trial: Any) -> Any:
        before = [t for t in study.get_trials(deepcopy=False) if t.number <= trial.number]
        if sum(counts(t) for t in before) > target:
            state["surplus"] = True
            trial.set_user_attr("surplus", True)
            raise SurplusTrial(f"trial {trial.number}: the study already holds {target} trials")
        ran.append(trial.number)
        try:
            return objective(trial)
        except NonFiniteLossError as err:
            trial.set_user_attr("failure", str(err))
            raise

    while counted_trials(study) < target and not state["surplus"]:
        if cfg.study.timeout_s is not None and time.monotonic() - start > cfg.study.timeout_s:
            log.info("tune: timeout of %.0f s reached", cfg.study.timeout_s)
            break
        study.optimize(guarded, n_trials=1, catch=(NonFiniteLossError, SurplusTrial),
                       callbacks=[log_trial])
    return WorkerResult(study.study_name, redact(cfg.study.storage), tuple(ran),
                        counted_trials(study), time.monotonic() - start)


def log_trial(study: Any, trial: Any) -> None:
    """One log line per trial: number, state, value(s), parameters, seconds."""
    if trial.user_attrs.get("surplus"):
        return
    values = "-" if trial.values is None else ", ".join(f"{v:.4f}" for v in trial.values)
    if trial.values is None and "pgd_acc" in trial.user_attrs:
        values = f"last pgd_acc {trial.user_attrs['pgd_acc']:.4f}"
    params = " ".join(f"{k}={_short(v)}" for k, v in trial.params.items())
    seconds = trial.duration.total_seconds() if trial.duration is not None else float("nan")
    reason = f" ({trial.user_attrs['failure'][:120]})" if "failure" in trial.user_attrs else ""
    log.info("tune trial %d %s values=[%s] clean_acc=%s seconds=%.1f params: %s%s", trial.number,
             trial.state.name, values, _short(trial.user_attrs.get("clean_acc")), seconds, params,
             reason)


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
