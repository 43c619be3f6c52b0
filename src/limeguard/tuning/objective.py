"""A trial: one refinement round from the adversarial baseline with the trial's settings,
scored on the validation split (PGD and clean accuracy), with per-epoch reports for pruning."""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from limeguard.images.imageset import ImageSet
from limeguard.refinement import (
    RefineConfig,
    mined_masks,
    refine_model,
)
from limeguard.refinement.rounds import training_masks as rounds_training_masks
from limeguard.training import TrainConfig
from limeguard.training.evaluation import PGDValidator
from limeguard.training.precision import resolve_precision
from limeguard.tuning.config import TuneConfig
from limeguard.tuning.space import SearchSpace, apply_values, build_configs

log = logging.getLogger(__name__)
WHERE = {"refine": "rounds.refine", "train": "rounds.train", "mining": "mine.mining"}
OUTCOMES = "val_outcomes"  # user attribute: the kept epoch's per-image outcomes, see bits()


@dataclass(frozen=True)
class TuneData:
    """What every trial starts from.

    Attributes:
        model: the adversarially trained baseline (copied per trial, never changed).
        train: the training split; val: the validation split (the objective's data).
        masks: mining's output for the baseline: ``pixel_masks`` (P, H, W), ``class_masks``
            (classes, H, W), ``sensitivity`` (P, 1, H, W), ``ids`` (P,).
        segments: the mining images' superpixels (``segments``, ``n_segments``, ``fallback``,
            ``ids``) for re-mining; None when the space holds no ``mining.*`` parameter.
    """

    model: nn.Module
    train: ImageSet
    val: ImageSet
    masks: dict[str, Any]
    segments: dict[str, Any] | None = None


@dataclass
class Objective:
    """``objective(trial) -> value(s)`` for an Optuna study (one instance per worker).

    Attributes:
        data: the inputs; space: the search space; cfg: the tuning config.
        base: ``{"refine": ..., "train": ..., "mining": ...}`` params dicts the trial's values
            are set on (``rounds.refine``, ``rounds.train``, ``mine.mining`` from conf).
        device: where training runs.
    """

    data: TuneData
    space: SearchSpace
    cfg: TuneConfig
    base: dict[str, dict[str, Any]]
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    _mined: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def remines(self) -> bool:
        return self.cfg.remine == "auto" and "mining" in self.space.roots

    def __call__(self, trial: Any) -> float | tuple[float, float]:
        start = time.perf_counter()
        if trial.number == 0 and self.cfg.enqueue_defaults:
            trial.set_user_attr("defaults", True)  # the sampler gives trial 0 the base values
        values = self.space.suggest(trial)
        configs = build_configs(apply_values(self.base, values), WHERE)
        refine_cfg: RefineConfig = configs["refine"]
        train_cfg = self._train_config(configs["train"])
        masks = self._masks(configs.get("mining")) if self.remines else self.data.masks
        train_masks, sensitivity = training_masks(self.data.train, masks, refine_cfg)
        val = self.data.val
        validator = PGDValidator(train_cfg, resolve_precision(train_cfg, self.device))
        reporter = _Reporter(validator, trial, self.cfg, int(train_cfg.val_max_images))
        result = refine_model(
            copy.deepcopy(self.data.model), self.data.train.images, self.data.train.labels,
            val.images, val.labels, train_masks, sensitivity, refine_cfg, train_cfg,
            device=self.device, checkpoint_dir=None, progress=False, evaluator=reporter,
        )  # fmt: skip
        best = result.history.iloc[max(result.best_epoch, 0)]
        clean, pgd = float(best["val_clean_acc"]), float(best["val_pgd_acc"])
        trial.set_user_attr(OUTCOMES, reporter.outcomes.get(max(result.best_epoch, 0)))
        for key, value in {"clean_acc": clean, "pgd_acc": pgd, "epochs_run": len(result.history),
                           "best_epoch": int(result.best_epoch), "stop_reason": result.stop_reason,
                           "masked_pixel_share": float(result.masked_pixel_share),
                           "seconds": round(time.perf_counter() - start, 3)}.items():
            trial.set_user_attr(key, value)
        _constrain(trial, self.cfg, clean)
        return (pgd, clean) if self.cfg.objective.mode == "pareto" else pgd

    def _train_config(self, train: TrainConfig) -> TrainConfig:
        """The round's recipe, validated with the objective's PGD on the objective's images."""
        obj = self.cfg.objective
        n_val = len(self.data.val) if obj.val_images is None else min(obj.val_images, len(self.data.val))
        if train.co_guard and train.co_check_every > 0 and train.co_probe_images >= n_val:
            train = dataclasses.replace(train, co_probe_images=max(n_val - 1, 1))
        return dataclasses.replace(
            train, val_eps_255=obj.eps_255, val_alpha_255=obj.alpha_255, val_steps=obj.steps,
            val_max_images=n_val, eval_batch_size=obj.eval_batch_size)

    def _masks(self, mining_cfg: Any) -> dict[str, Any]:
        """The baseline's masks mined again with the trial's mining config (cached per config)."""
        key = json.dumps(dataclasses.asdict(mining_cfg), sort_keys=True, default=str)
        if key not in self._mined:
            if self.data.segments is None:
                raise ValueError("tune: the space holds mining.* parameters but no mining "
                                 "segments were given")
            self._mined[key] = remine(self.data.model, self.data.train, self.data.segments,
                                      mining_cfg, self.device)
        return self._mined[key]


class _Reporter:
    """The validation :data:`~limeguard.training.evaluation.Evaluator` of a trial: validates with
    ``inner``, records the accuracies as user attributes and, in single-objective modes, reports
    the PGD accuracy per epoch and raises ``optuna.TrialPruned`` when the pruner says so. Keeps
    each epoch's per-image outcomes (:data:`OUTCOMES`) for paired comparisons of trials.

    Calls on the catastrophic-overfitting probe batch (fewer images) are passed through.
    """

    def __init__(self, inner: PGDValidator, trial: Any, cfg: TuneConfig, n_val: int) -> None:
        self.inner, self.trial, self.cfg, self.n_val = inner, trial, cfg, n_val
        self.prunes = cfg.objective.mode != "pareto"
        self.epoch = 0
        self.outcomes: dict[int, dict[str, str]] = {}

    def __call__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        if len(x) != self.n_val:
            return self.inner(model, x, y)
        right, robust = self.inner.outcomes(model, x, y)
        clean = float(right.float().mean())
        pgd = float(robust.float().mean()) if robust is not None else float("nan")
        step, self.epoch = self.epoch, self.epoch + 1
        self.outcomes[step] = {"clean": bits(right),
                               **({"pgd": bits(robust)} if robust is not None else {})}
        self.trial.set_user_attr(f"epoch_{step}", {"clean_acc": clean, "pgd_acc": pgd})
        if self.prunes:
            import optuna

            self.trial.report(pgd, step)
            if self.trial.should_prune():
                self.trial.set_user_attr("clean_acc", clean)
                self.trial.set_user_attr("pgd_acc", pgd)
                _constrain(self.trial, self.cfg, clean)
                raise optuna.TrialPruned(f"epoch {step + 1}: validation PGD accuracy {pgd:.4f}")
        return clean, pgd


def bits(correct: torch.Tensor) -> str:
    """Per-image outcomes as a string of 0 and 1 (a trial's JSON user attribute)."""
    return "".join("1" if c else "0" for c in correct.tolist())


def _constrain(trial: Any, cfg: TuneConfig, clean: float) -> None:
    """Record ``min_clean_acc - clean`` (feasible when <= 0) as the trial's constraint."""
    trial.set_user_attr("constraint", cfg.objective.min_clean_acc - clean)
    if cfg.objective.mode == "constrained":
        trial.set_constraint("clean_acc_floor", cfg.objective.min_clean_acc - clean)


def training_masks(train: ImageSet, masks: dict[str, Any], cfg: RefineConfig):
    """(N, 1, H, W) masks and sensitivity maps for every training image, as the rounds build them."""
    return rounds_training_masks(train, masks, cfg, None)


def mining_images(train: ImageSet, segments: dict[str, Any]) -> ImageSet:
    """The images the segments belong to (the probe set is a subset of the training split)."""
    where = {int(i): k for k, i in enumerate(train.ids.tolist())}
    ids = [int(i) for i in segments["ids"].tolist()]
    missing = [i for i in ids if i not in where]
    if missing:
        raise ValueError(f"tune: {len(missing)} mining image id(s) are not in train_images, "
                         f"e.g. {missing[:3]}; rerun the mine pipeline on this data")
    return train.subset(torch.tensor([where[i] for i in ids]))


def remine(model: nn.Module, train: ImageSet, segments: dict[str, Any], cfg: Any,
           device: torch.device) -> dict[str, Any]:
    """Mine ``model`` on the mining images with ``cfg`` (a MiningConfig): the same masks dict
    as the ``mine`` stage writes (pixel masks, class masks, sensitivity maps, ids)."""
    from limeguard.explain.mining import mine_spurious
    from limeguard.explain.segmentation import Segmentation

    images = mining_images(train, segments)
    seg = Segmentation(segments["segments"], segments["n_segments"], segments["fallback"])
    result = mine_spurious(copy.deepcopy(model), images.images, images.labels,
                           images.ids.tolist(), cfg, device, segmentation=seg,
                           num_classes=train.num_classes)
    return mined_masks(result, images.ids, images.labels, seg.segments, seg.n_segments)
