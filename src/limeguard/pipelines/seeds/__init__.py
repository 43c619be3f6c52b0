"""The ``seeds`` pipeline."""

from limeguard.pipelines.seeds.pipeline import create_pipeline

__all__ = ["create_pipeline"]
