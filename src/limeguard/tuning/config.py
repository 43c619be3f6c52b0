"""``TuneConfig`` (``params:tune``): the study, its objective, sampler, pruner and search space."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from limeguard.config import (
    ConfigError,
    check_choice,
    check_fraction,
    check_int_range,
    check_positive,
    check_real_range,
    check_seed,
)

MODES = ("robust", "constrained", "pareto")
PRUNERS = ("median", "hyperband", "none")
REMINE = ("auto", "never")


@dataclass(frozen=True)
class StudyConfig:
    """Where the study lives and how many trials it gets.

    Attributes:
        name: the Optuna study name (one storage can hold many studies).
        storage: ``sqlite:///relative/path.db`` (default, under data/), any SQLAlchemy URL
            (``postgresql://user:password@host/db``), or ``journal:///relative/path.log``
            (``journal:////abs/path.log``) for Optuna's JournalStorage on a shared file system.
        n_trials: the TOTAL number of trials the study should hold, over every run and worker:
            a run (or each of several workers) only adds trials until the study holds this many
            (complete, pruned, failed with a NaN loss, or running). Rerunning with a larger
            value continues the study; finished trials are never re-run.
        timeout_s: stop this worker after this many seconds (checked between trials).
        heartbeat_s: RDB storages (SQLite, PostgreSQL; not the journal): a running trial
            records a heartbeat every ``heartbeat_s``; a trial of a killed worker, without one for
            ``grace_s``, is marked FAIL by the next worker, which re-runs it with the same
            parameters (null: no heartbeat: a killed worker's trial stays RUNNING).
        grace_s: see ``heartbeat_s`` (null: twice the heartbeat).
        retries: how many times one trial is re-run after its worker died (null: no limit).
    """

    name: str = "limeguard-refine"
    storage: str = "sqlite:///data/07_model_output/tune/study.db"
    n_trials: int = 20
    timeout_s: float | None = None
    heartbeat_s: int | None = 60
    grace_s: int | None = None
    retries: int | None = 2

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("name: must not be empty")
        check_int_range("n_trials", self.n_trials, 1)
        if self.timeout_s is not None:
            check_positive("timeout_s", self.timeout_s)
        for name in ("heartbeat_s", "grace_s"):
            if getattr(self, name) is not None:
                check_int_range(name, getattr(self, name), 1)
        if self.retries is not None:
            check_int_range("retries", self.retries, 0)


OBJECTIVE_IMAGES = ("validation", "counterfactual")


@dataclass(frozen=True)
class ObjectiveConfig:
    """What a trial is scored on: the validation split after one refinement round.

    Attributes:
        mode: ``robust`` (maximise PGD accuracy, TPE), ``constrained`` (maximise PGD accuracy
            subject to clean accuracy >= ``min_clean_acc``, TPE with constraints) or ``pareto``
            (maximise PGD and clean accuracy, NSGA-II; no pruning: Optuna cannot prune
            multi-objective trials).
        min_clean_acc: clean-accuracy floor in [0, 1]: the constraint of ``constrained``, and in
            every mode the condition for a trial to be picked as best.
        val_images: validation images used (the first ones; null: all).
        images: ``validation`` (as they are) or ``counterfactual``: the cue-neutral validation
            images the rounds select epochs on (flagged regions swapped between classes; for the
            planted-cue envs, where the cue inflates accuracy on the images as they are).
        eps_255: PGD radius (8 = 8/255); alpha_255: step; steps: PGD steps (random start).
        eval_batch_size: images per evaluation batch.
    """

    mode: str = "constrained"
    min_clean_acc: float = 0.0
    val_images: int | None = 500
    images: str = "validation"
    eps_255: float = 8.0
    alpha_255: float = 2.0
    steps: int = 10
    eval_batch_size: int = 256

    def __post_init__(self) -> None:
        check_choice("mode", self.mode, MODES)
        check_fraction("min_clean_acc", self.min_clean_acc)
        check_choice("images", self.images, OBJECTIVE_IMAGES)
        if self.val_images is not None:
            check_int_range("val_images", self.val_images, 1)
        for name in ("eps_255", "alpha_255"):
            check_real_range(name, getattr(self, name), 0.0, 64.0, low_open=True)
        for name in ("steps", "eval_batch_size"):
            check_int_range(name, getattr(self, name), 1)

    @property
    def directions(self) -> list[str]:
        return ["maximize", "maximize"] if self.mode == "pareto" else ["maximize"]


@dataclass(frozen=True)
class SamplerConfig:
    """Seeded sampler: TPE (``robust``, ``constrained``) or NSGA-II (``pareto``).

    Attributes:
        seed: base seed; trial k's sampler is seeded with (seed, k), so workers that share a
            storage draw different parameters and one worker's study is reproducible.
        n_startup_trials: TPE's random trials before it models the history.
        population_size: NSGA-II's generation size.
    """

    seed: int = 0
    n_startup_trials: int = 5
    population_size: int = 8

    def __post_init__(self) -> None:
        check_seed("seed", self.seed)
        check_int_range("n_startup_trials", self.n_startup_trials, 0)
        check_int_range("population_size", self.population_size, 2)


@dataclass(frozen=True)
class PrunerConfig:
    """Pruning from per-epoch validation PGD accuracy (single-objective modes only).

    Attributes:
        kind: ``median`` (MedianPruner), ``hyperband`` (HyperbandPruner over epochs) or ``none``.
        n_startup_trials: median: trials that are never pruned.
        n_warmup_steps: median: epochs before pruning can start.
        min_resource: hyperband: fewest epochs before a trial can be stopped.
        reduction_factor: hyperband's halving factor.
    """

    kind: str = "median"
    n_startup_trials: int = 3
    n_warmup_steps: int = 0
    min_resource: int = 1
    reduction_factor: int = 3

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, PRUNERS)
        for name in ("n_startup_trials", "n_warmup_steps"):
            check_int_range(name, getattr(self, name), 0)
        check_int_range("min_resource", self.min_resource, 1)
        check_int_range("reduction_factor", self.reduction_factor, 2)


@dataclass(frozen=True)
class TuneConfig:
    """``params:tune``.

    Attributes:
        study: storage, name, total trial count.
        objective: the validation score of a trial.
        sampler: seeded TPE / NSGA-II.
        pruner: per-epoch pruning.
        space: the search space (see :mod:`limeguard.tuning.space`).
        remine: ``auto``: when the space holds ``mining.*`` parameters, each trial mines the
            baseline's probe set again with its mining config before refining (cached per
            config within a worker); ``never``: always use the mined masks of the ``mine`` stage.
        enqueue_defaults: the first trial of a new study runs the untuned defaults (the base
            conf's values of the searched parameters): the reference a tuned result is compared to.
        arm: null (the run's ``rounds`` and ``mine``) or an arm of ``rounds.arms``: trials start
            from that arm's merged trees and masks, and the study is ``<study.name>-<arm>``. An
            arm shares ``rounds.train`` with the matched control, so its space has no ``train.*``.
    """

    study: StudyConfig = field(default_factory=StudyConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    pruner: PrunerConfig = field(default_factory=PrunerConfig)
    space: dict[str, Any] = field(default_factory=dict)
    remine: str = "auto"
    enqueue_defaults: bool = True
    arm: str | None = None

    def __post_init__(self) -> None:
        from limeguard.tuning.space import parse_space

        check_choice("remine", self.remine, REMINE)
        space = parse_space(self.space, "space")  # fails here, naming the entry, before anything runs
        if self.arm is None:
            return
        if not self.arm:
            raise ConfigError("arm: expected null or the name of an arm of rounds.arms, got ''")
        train = [p.name for p in space.params if p.root == "train"]
        if train:
            raise ConfigError(f"space.{train[0]}: an arm cannot override rounds.train (the "
                              f"matched control's recipe, shared by every arm), so tuning arm "
                              f"{self.arm!r} cannot search it; drop it from the space (train: null)")

    @property
    def study_name(self) -> str:
        """The study's name in its storage: ``study.name``, and ``-<arm>`` for an arm's study."""
        return self.study.name if self.arm is None else f"{self.study.name}-{self.arm}"
