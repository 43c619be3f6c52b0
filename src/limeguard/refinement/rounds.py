"""The closed loop's rounds (METHOD.md stage 2): refine a model against its mined spurious regions,
select its epochs on cue-neutral validation images, and the matched control beside it.

Library code (never imports Kedro); the ``rounds`` pipeline's nodes parse their parameters into a
:class:`RoundsParams` and a :class:`~limeguard.runtime.RuntimeConfig` and call :func:`run_round`
or :func:`run_control`.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from limeguard.config import ConfigError, from_params, to_params
from limeguard.explain.groundtruth import mask_recovery
from limeguard.images.imageset import ImageSet
from limeguard.images.spurious import cue_pixel_masks
from limeguard.refinement.config import RefineConfig
from limeguard.refinement.neutral import counterfactual_images
from limeguard.refinement.refine import refine_model
from limeguard.refinement.training_masks import masks_for_training_set, sensitivity_for_training_set
from limeguard.runtime import RuntimeConfig, resolve_device
from limeguard.training.checkpoint import load_checkpoint, model_digest, run_directory, tensor_digest
from limeguard.training.config import TrainConfig
from limeguard.training.distributed import run_training
from limeguard.training.errors import NonFiniteLossError
from limeguard.training.loop import HISTORY_COLUMNS, TrainResult, train_model

log = logging.getLogger(__name__)

SELECTIONS = ("counterfactual", "validation")


DEFAULT_ARMS: dict[str, dict[str, Any]] = {"transplant": {}}  # rounds.arms when conf has none


@dataclass(frozen=True)
class RoundsParams:
    """``params:rounds``.

    Attributes:
        count: refinement rounds T (the DAG holds ``round_1 .. round_T``; 0 = baselines only).
        checkpoint_root: per-round (and control) checkpoint folders live below it.
        refine: the refinement terms and their attack (masking, penalty, augmentation).
        train: optimiser, schedule, epochs and validation of each round; the matched control
            continues the adversarial baseline with this recipe for the same T segments.
        selection: the validation images that choose the kept epoch and feed the guards, for the
            rounds and the control alike: ``counterfactual`` (each image's flagged region, per
            class, swapped with another class's image's: no shortcut pays there) or
            ``validation`` (as they are; the shortcut's accuracy then rewards keeping it).
        accumulate_masks: a round's masks are the union of every earlier mining's, not only the
            previous model's (which no longer shows a shortcut that was just unlearnt).
        arms: arm name -> overrides of ``mine`` and ``rounds`` (:mod:`limeguard.arms`;
            checked there, with the ``mine`` tree they merge into).
    """

    count: int = 3
    checkpoint_root: str = "data/06_models/checkpoints/rounds"
    refine: RefineConfig = field(default_factory=RefineConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(method="fgsm_rs", epochs=3))
    selection: str = "counterfactual"
    accumulate_masks: bool = True
    arms: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_ARMS))

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ConfigError(f"rounds.count: must be >= 0, got {self.count}")
        if self.selection not in SELECTIONS:
            raise ConfigError(f"rounds.selection: use one of {SELECTIONS}, got {self.selection!r}")
        self.refine.check_attack(self.train.attack, "rounds.train.attack")

    def for_run(self, run_seed: int) -> RoundsParams:
        """The recipe with its seed offset by ``runtime.seed`` (see ``TrainConfig.for_run``)."""
        return dataclasses.replace(self, train=self.train.for_run(run_seed))


def parse_rounds(rounds: dict[str, Any], dag_rounds: int) -> RoundsParams:
    """``params:rounds`` as a :class:`RoundsParams`, refused when its ``count`` is not the number
    of rounds the DAG was built with."""
    cfg = from_params(RoundsParams, rounds, "rounds")
    if cfg.count != dag_rounds:
        raise ConfigError(
            f"rounds.count: {cfg.count}, but the DAG was built with {dag_rounds} rounds. The DAG "
            "shape is read from conf when the project loads: set rounds.count in "
            "conf/<env>/parameters_rounds.yml (and KEDRO_ENV=<env>), not with --params"
        )
    return cfg


def run_round(
    previous: nn.Module, train: ImageSet, val: ImageSet, masks: dict[str, Any],
    cfg: RoundsParams, run: RuntimeConfig, cue: dict[str, Any] | None, *, round_index: int,
    earlier: list[dict[str, Any]],
) -> tuple[nn.Module, pd.DataFrame, dict[str, Any]]:
    """Fine-tune the previous round's model against its mined (or the oracle's) spurious features,
    selecting epochs on cue-neutral validation images.

    Args:
        earlier: the masks mined before the previous round's (``accumulate_masks`` keeps what
            they flagged).

    Returns:
        The refined model (on the CPU), its training history and the round's record for the report.
    """
    if cfg.accumulate_masks:
        masks = accumulated_masks(masks, earlier)
    train_masks, sensitivity = training_masks(train, masks, cfg.refine, cue)
    neutral = cue_neutral_validation(val, masks, cfg, cue)
    checkpoint = run_directory(f"{cfg.checkpoint_root}/round_{round_index}", to_params(cfg.refine),
                               to_params(cfg.train), train,
                               tensor_digest(train_masks, neutral.images), model_digest(previous))
    model, stop_reason = copy.deepcopy(previous), None
    try:
        result = run_training(
            run.distributed, resolve_device(run.device), refine_model,
            model, train.images, train.labels, neutral.images, neutral.labels, train_masks,
            sensitivity, cfg.refine, cfg.train, checkpoint_dir=checkpoint, progress=run.progress,
            batch_size=cfg.train.batch_size, batch_key="rounds.train.batch_size",
        )
    except NonFiniteLossError as err:
        log.error("round %d diverged (%s); keeping the last good weights", round_index, err)
        result, stop_reason = last_good(previous, cfg.train, checkpoint), "diverged"
    info = _round_info(result, cfg, neutral, train_masks, round_index, stop_reason)
    if cue is not None:  # the planted-cue variant: the masks this round applied, scored
        truth = cue_pixel_masks(cue, train.labels, train.ids, cue["train_cued_ids"])
        info["applied_masks"] = mask_recovery(train_masks[:, 0] > 0, truth)
    result.model.checkpoint_metadata = {"round": round_index, "refine": to_params(cfg.refine),
                                        "attack": to_params(cfg.train.attack)}
    return result.model.cpu(), result.history, info


def _round_info(result: TrainResult, cfg: RoundsParams, neutral: ImageSet,
                train_masks: torch.Tensor, round_index: int, stop_reason: str | None
                ) -> dict[str, Any]:
    info = {
        "round": round_index, "masks": cfg.refine.masks,
        "empty_spurious_set": bool(getattr(result, "empty_spurious_set", False)),
        "masked_pixel_share": float(train_masks.mean()),
        "stop_reason": stop_reason or result.stop_reason, "best_epoch": result.best_epoch,
        "selection": selection_rule(cfg.train, neutral),
        "terms": getattr(result, "terms", pd.DataFrame()).to_dict(orient="list"),
    }
    if info["empty_spurious_set"]:
        log.warning("round %d: nothing flagged; the round was adversarial fine-tuning", round_index)
    return info


def run_control(
    adversarial: nn.Module, train: ImageSet, val: ImageSet, masks: dict[str, Any],
    cfg: RoundsParams, run: RuntimeConfig, cue: dict[str, Any] | None,
) -> tuple[nn.Module, pd.DataFrame]:
    """The matched control: the adversarial baseline continued for the rounds' T segments with
    the same recipe (optimiser, schedule, attack) and selection rule (the cue-neutral validation
    images of the first round), without any refinement term."""
    neutral = cue_neutral_validation(val, masks, cfg, cue)
    model, histories = copy.deepcopy(adversarial), []
    parent = model_digest(adversarial)
    for segment in range(1, cfg.count + 1):
        result = run_training(
            run.distributed, resolve_device(run.device), train_model,
            model, train.images, train.labels, neutral.images, neutral.labels, cfg.train,
            batch_size=cfg.train.batch_size, batch_key="rounds.train.batch_size",
            progress=run.progress,
            checkpoint_dir=run_directory(f"{cfg.checkpoint_root}/control_{segment}",
                                         to_params(cfg.train), train, segment, parent,
                                         tensor_digest(neutral.images)),
        )
        model = result.model
        histories.append(result.history.assign(segment=segment))
    model.checkpoint_metadata = {"control_segments": cfg.count,
                                 "selection": selection_rule(cfg.train, neutral)}
    return model.cpu(), pd.concat(histories, ignore_index=True)


def accumulated_masks(latest: dict[str, Any], earlier: list[dict[str, Any]]) -> dict[str, Any]:
    """``latest`` with every pixel (and class-mask share) flagged by an ``earlier`` mining kept.

    A round that unlearns a shortcut leaves nothing for the next mining to find; without this the
    next round fine-tunes on the cued data unmasked and learns the shortcut again (measured on the
    planted cue: gap 1.7 points after round 1, 89.2 after round 2).
    """
    out = dict(latest)
    for masks in earlier:
        if not torch.equal(masks["ids"], latest["ids"]):
            raise ValueError("rounds: earlier spurious masks were mined on other images than the "
                             "latest ones; every round must mine the same mining_images")
        out["pixel_masks"] = torch.maximum(out["pixel_masks"], masks["pixel_masks"])
        out["class_masks"] = torch.maximum(out["class_masks"], masks["class_masks"])
        if "image_ids" in latest and torch.equal(masks.get("image_ids"), latest["image_ids"]):
            out["image_masks"] = torch.maximum(out["image_masks"], masks["image_masks"])
        elif "image_ids" in latest:
            raise ValueError("rounds: earlier masks were searched on other images than the "
                             "latest ones (mine.transfer)")
    return out


def cue_neutral_validation(val: ImageSet, masks: dict[str, Any], cfg: RoundsParams,
                           cue: dict[str, Any] | None) -> ImageSet:
    """Validation images whose flagged regions (per-class masks: the mined ones, or the planted
    cue's in oracle mode) are swapped with another class's image's (``rounds.selection``)."""
    if cfg.selection == "validation":
        return val
    if cfg.refine.masks == "oracle":
        region = cue_pixel_masks(planted_cue(cue), val.labels, val.ids, None)[:, None].float()
    else:
        region = masks_for_training_set(val.ids.tolist(), val.labels, [],
                                        masks["pixel_masks"][:0].float(), masks["class_masks"],
                                        cfg.refine.class_mask_threshold, found_masks(masks))
    if not bool(region.any()):
        return ImageSet(val.images, val.labels, val.ids, val.classes,
                        {**val.meta, "variant": "as is: nothing flagged to swap"})
    images = counterfactual_images(val.images, val.labels, region, seed=cfg.train.seed)
    return ImageSet(images, val.labels, val.ids, val.classes,
                    {**val.meta, "variant": "counterfactual (cue-neutral)"})


def selection_rule(train: TrainConfig, neutral: ImageSet) -> dict[str, Any]:
    """Which criterion chose the kept epoch, for the report."""
    split = neutral.meta.get("variant", "as is")
    metric = "PGD accuracy" if train.monitors_pgd else "clean accuracy"
    return {"split": f"validation ({split})", "metric": metric,
            "n_images": min(len(neutral), train.val_max_images)}


def training_masks(train: ImageSet, masks: dict[str, Any], cfg: RefineConfig,
                   cue: dict[str, Any] | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 1, H, W) masks and sensitivities of every training image: the mined ones (probed
    images their own, then the masks searched on each image, then their class's aggregate) or,
    in oracle mode, the planted cue's."""
    if cfg.fill == "counterfactual" and len(train.labels.unique()) < 2:
        raise ConfigError("rounds.refine.fill: 'counterfactual' swaps regions between classes, "
                          f"but the training split holds {len(train.labels.unique())} class(es)")
    ids = train.ids.tolist()
    probed = masks["ids"].tolist()
    sensitivity = sensitivity_for_training_set(ids, probed, masks["sensitivity"])
    if cfg.masks == "oracle":
        cue = planted_cue(cue)
        truth = cue_pixel_masks(cue, train.labels, train.ids, cue["train_cued_ids"])
        return truth[:, None].float(), torch.ones_like(sensitivity)
    pixel = masks_for_training_set(ids, train.labels, probed, masks["pixel_masks"].float(),
                                   masks["class_masks"], cfg.class_mask_threshold,
                                   found_masks(masks))
    return pixel, sensitivity


def found_masks(masks: dict[str, Any]) -> tuple[list[object], torch.Tensor] | None:
    """The masks the mined shortcut was searched for on (``mine.transfer``), if any."""
    if "image_ids" not in masks:
        return None
    return masks["image_ids"].tolist(), masks["image_masks"]


def planted_cue(cue: dict[str, Any] | None) -> dict[str, Any]:
    """The planted cue's record, which oracle masks need."""
    if cue is None:
        raise ConfigError("rounds.refine.masks: 'oracle' needs the planted cue (data.spurious."
                          "enabled, a spurious env); use 'mined' elsewhere")
    return cue


def last_good(previous: nn.Module, train: TrainConfig, checkpoint: Path) -> TrainResult:
    """The weights of the last completed epoch in ``checkpoint`` (its best, if validated), else
    the previous round's model."""
    model = copy.deepcopy(previous)
    optimizer = torch.optim.SGD(model.parameters(), lr=train.lr, momentum=train.momentum)
    state = load_checkpoint(checkpoint, train, model, optimizer)
    if state is not None and state.best_state is not None:
        model.load_state_dict(state.best_state)
    history = pd.DataFrame(state.history if state is not None else [], columns=list(HISTORY_COLUMNS))
    best = state.best_epoch if state is not None else -1
    return TrainResult(model.eval(), history, best, "diverged")
