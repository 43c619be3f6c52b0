"""The ``mine`` pipeline."""

from limeguard.pipelines.mine.pipeline import create_pipeline

__all__ = ["create_pipeline"]
