"""The ``decoy`` pipeline."""

from limeguard.pipelines.decoy.pipeline import create_pipeline

__all__ = ["create_pipeline"]
