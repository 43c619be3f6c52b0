"""The ``rounds`` pipeline."""

from limeguard.pipelines.rounds.pipeline import create_pipeline

__all__ = ["create_pipeline"]
