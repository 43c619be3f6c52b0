"""Training: standard, PGD-AT, FGSM-RS and TRADES with checkpoints, resume and guards.

Library code (never imports Kedro). Entry point: :func:`train_model` with a :class:`TrainConfig`.
"""

from limeguard.training.checkpoint import (
    TrainState,
    data_fingerprint,
    load_checkpoint,
    save_checkpoint,
)
from limeguard.training.config import METHODS, SCHEDULES, AttackSettings, TrainConfig
from limeguard.training.errors import CheckpointError, NonFiniteLossError
from limeguard.training.evaluation import Evaluator, PGDValidator
from limeguard.training.loop import HISTORY_COLUMNS, TrainResult, train_model
from limeguard.training.losses import (
    AdversarialLoss,
    BatchLoss,
    ExtraLoss,
    LossOutput,
    StandardLoss,
    TradesLoss,
    build_batch_loss,
)
from limeguard.training.schedule import lr_at

__all__ = [
    "AttackSettings",
    "HISTORY_COLUMNS",
    "METHODS",
    "SCHEDULES",
    "AdversarialLoss",
    "BatchLoss",
    "CheckpointError",
    "Evaluator",
    "ExtraLoss",
    "LossOutput",
    "NonFiniteLossError",
    "PGDValidator",
    "StandardLoss",
    "TradesLoss",
    "TrainConfig",
    "TrainResult",
    "TrainState",
    "build_batch_loss",
    "data_fingerprint",
    "load_checkpoint",
    "lr_at",
    "save_checkpoint",
    "train_model",
]
