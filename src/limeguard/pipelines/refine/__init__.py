"""The ``refine`` pipeline (the end-to-end job)."""

from limeguard.pipelines.refine.pipeline import create_pipeline

__all__ = ["create_pipeline"]
