"""Nodes of the ``rounds`` pipeline: attribution-guided refinement rounds and the matched control."""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from torch import nn

from limeguard.cifar.imageset import ImageSet
from limeguard.config import ConfigError, from_params, to_params
from limeguard.pipelines.baseline.nodes import run_directory
from limeguard.refine import (
    RefineConfig,
    masks_for_training_set,
    refine_model,
    sensitivity_for_training_set,
)
from limeguard.runtime import RuntimeConfig, resolve_device
from limeguard.training import TrainConfig, train_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoundsParams:
    """``params:rounds``.

    Attributes:
        count: refinement rounds T (the DAG holds ``round_1 .. round_T``; 0 = baselines only).
        checkpoint_root: per-round (and control) checkpoint folders live below it.
        refine: the refinement terms and their attack (masking, penalty, augmentation).
        train: optimiser, schedule, epochs and validation of each round; the matched control
            continues the adversarial baseline with this recipe for the same T segments.
    """

    count: int = 3
    checkpoint_root: str = "data/06_models/checkpoints/rounds"
    refine: RefineConfig = field(default_factory=RefineConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(method="fgsm_rs", epochs=3))

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ConfigError(f"rounds.count: must be >= 0, got {self.count}")


def refine_round(
    previous: nn.Module, train: ImageSet, val: ImageSet, masks: dict[str, Any],
    rounds: dict[str, Any], runtime: dict[str, Any], round_index: int, dag_rounds: int,
) -> tuple[nn.Module, pd.DataFrame, dict[str, Any]]:
    """Fine-tune the previous round's model against its mined spurious features."""
    cfg = _parse(rounds, dag_rounds)
    run = from_params(RuntimeConfig, runtime, "runtime")
    train_masks, sensitivity = _training_masks(train, masks, cfg.refine)
    checkpoint = run_directory(f"{cfg.checkpoint_root}/round_{round_index}", to_params(cfg.refine),
                               to_params(cfg.train), train, _digest(masks))
    result = refine_model(
        copy.deepcopy(previous), train.images, train.labels, val.images, val.labels,
        train_masks, sensitivity, cfg.refine, cfg.train, device=resolve_device(run.device),
        checkpoint_dir=checkpoint, progress=run.progress,
    )
    info = {
        "round": round_index, "empty_spurious_set": bool(result.empty_spurious_set),
        "masked_pixel_share": float(result.masked_pixel_share),
        "stop_reason": result.stop_reason, "best_epoch": result.best_epoch,
        "terms": result.terms.to_dict(orient="list"),
    }
    if result.empty_spurious_set:
        log.warning("round %d: nothing flagged; the round was adversarial fine-tuning", round_index)
    result.model.checkpoint_metadata = {"round": round_index, "refine": to_params(cfg.refine)}
    return result.model.cpu(), result.history, info


def train_control(
    adversarial: nn.Module, train: ImageSet, val: ImageSet, rounds: dict[str, Any],
    runtime: dict[str, Any], dag_rounds: int,
) -> tuple[nn.Module, pd.DataFrame]:
    """The matched control: the adversarial baseline continued for the rounds' T segments with
    the same recipe (optimiser, schedule, attack), without any refinement term."""
    cfg = _parse(rounds, dag_rounds)
    run = from_params(RuntimeConfig, runtime, "runtime")
    model, histories = copy.deepcopy(adversarial), []
    for segment in range(1, cfg.count + 1):
        result = train_model(
            model, train.images, train.labels, val.images, val.labels, cfg.train,
            device=resolve_device(run.device), progress=run.progress,
            checkpoint_dir=run_directory(f"{cfg.checkpoint_root}/control_{segment}",
                                         to_params(cfg.train), train, segment),
        )
        model = result.model
        histories.append(result.history.assign(segment=segment))
    model.checkpoint_metadata = {"control_segments": cfg.count}
    return model.cpu(), pd.concat(histories, ignore_index=True)


def _parse(rounds: dict[str, Any], dag_rounds: int) -> RoundsParams:
    cfg = from_params(RoundsParams, rounds, "rounds")
    if cfg.count != dag_rounds:
        raise ConfigError(
            f"rounds.count: {cfg.count}, but the DAG was built with {dag_rounds} rounds. The DAG "
            "shape is read from conf when the project loads: set rounds.count in "
            "conf/<env>/parameters_rounds.yml (and KEDRO_ENV=<env>), not with --params"
        )
    return cfg


def _training_masks(train: ImageSet, masks: dict[str, Any], cfg: RefineConfig):
    probed = masks["ids"].tolist()
    ids = train.ids.tolist()
    pixel = masks_for_training_set(ids, train.labels, probed, masks["pixel_masks"].float(),
                                   masks["class_masks"], cfg.class_mask_threshold)
    sensitivity = sensitivity_for_training_set(ids, probed, masks["sensitivity"])
    return pixel, sensitivity


def _digest(masks: dict[str, Any]) -> str:
    import hashlib

    return hashlib.sha1(masks["pixel_masks"].numpy().tobytes()).hexdigest()
