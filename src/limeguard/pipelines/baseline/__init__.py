"""The ``baseline`` pipeline."""

from limeguard.pipelines.baseline.pipeline import create_pipeline

__all__ = ["create_pipeline"]
