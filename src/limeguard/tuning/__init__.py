"""Optuna tuning of the refinement (issue 7): search space, objective, study, outputs.

Library code (never imports Kedro). Entry points: :class:`TuneConfig` (``params:tune``),
:func:`prepare_study` (checks everything and creates or resumes the study before any trial),
:class:`Objective` over :class:`TuneData`, :func:`run_worker` (adds trials up to the study's
total ``n_trials``; several workers may share one storage), and the outputs in
:mod:`limeguard.tuning.outputs`.
"""

from limeguard.tuning.config import (
    ObjectiveConfig,
    PrunerConfig,
    SamplerConfig,
    StudyConfig,
    TuneConfig,
)
from limeguard.tuning.objective import Objective, TuneData, remine, training_masks
from limeguard.tuning.runner import tune_refinement
from limeguard.tuning.space import ParamSpec, SearchSpace, conf_overrides, parse_space
from limeguard.tuning.storage import StorageError, open_storage, redact
from limeguard.tuning.study import (
    SurplusTrial,
    WorkerResult,
    counted_trials,
    counts,
    default_values,
    prepare_study,
    run_worker,
)

__all__ = [
    "Objective",
    "ObjectiveConfig",
    "ParamSpec",
    "PrunerConfig",
    "SamplerConfig",
    "SearchSpace",
    "StorageError",
    "StudyConfig",
    "SurplusTrial",
    "TuneConfig",
    "TuneData",
    "WorkerResult",
    "conf_overrides",
    "counted_trials",
    "counts",
    "default_values",
    "open_storage",
    "parse_space",
    "prepare_study",
    "redact",
    "remine",
    "run_worker",
    "training_masks",
    "tune_refinement",
]
