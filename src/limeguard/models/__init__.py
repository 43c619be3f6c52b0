"""Classifiers (normalisation inside; any channel count and size; torchvision's by name), their
weights from local files, and their self-describing checkpoints.

Library code: never imports Kedro. Inputs are float32 in [0, 1], NCHW; outputs are logits.
"""

from limeguard.models.checkpoint import CheckpointError, load_model, read_checkpoint, save_model
from limeguard.models.layers import CIFAR10_MEAN, CIFAR10_STD, Normalize
from limeguard.models.registry import (
    ARCHITECTURES,
    ModelChoice,
    ModelSpec,
    architecture_options,
    build_from_spec,
    build_model,
    count_parameters,
)

__all__ = [
    "ARCHITECTURES",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "CheckpointError",
    "ModelChoice",
    "ModelSpec",
    "Normalize",
    "architecture_options",
    "build_from_spec",
    "build_model",
    "count_parameters",
    "load_model",
    "read_checkpoint",
    "save_model",
]
