"""``tune``: Optuna study over the refinement's hyperparameters (not part of ``refine``)."""

from limeguard.pipelines.tune.pipeline import create_pipeline

__all__ = ["create_pipeline"]
