"""Nodes of the ``evaluate`` pipeline (one namespaced copy per model)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch
from torch import nn

from limeguard.bound import attribution_bound
from limeguard.config import from_params
from limeguard.corruptions.testset import CorruptionSetConfig, corrupted_test_set
from limeguard.evaluation import (
    check_gradient_masking,
    evaluate_model,
    model_facts,
    summarize,
)
from limeguard.evaluation.config import EvaluateParams
from limeguard.evaluation.predict import cue_outcomes, cue_reliance, predict
from limeguard.evaluation.robustness import autoattack_accuracy, autoattack_results
from limeguard.evaluation.summary import common_images
from limeguard.images.imageset import ImageSet
from limeguard.runtime import RuntimeConfig, resolve_device


def make_corrupted_test_set(test: ImageSet, corruptions: dict[str, Any]) -> tuple[ImageSet, pd.DataFrame]:
    """CIFAR-10-C: the published files when present, else generated from the test split."""
    return corrupted_test_set(test, from_params(CorruptionSetConfig, corruptions, "corruptions"))


def attack_model(
    model: nn.Module, test: ImageSet, evaluate: dict[str, Any], runtime: dict[str, Any]
) -> pd.DataFrame:
    """One row per image x attack x ε on (the first ``max_images`` of) the test split."""
    cfg = from_params(EvaluateParams, evaluate, "evaluate")
    run = from_params(RuntimeConfig, runtime, "runtime")
    count, attacks = cfg.attack_plan()
    images, device = _first(test, count), resolve_device(run.device)
    return evaluate_model(model.to(device), images.images, images.labels, images.ids, attacks,
                          device=device, progress=run.progress)


def summarize_attacks(results: pd.DataFrame) -> pd.DataFrame:
    """Robust accuracy per attack x ε, plus the per-image worst case."""
    return summarize(results)


def check_masking(
    model: nn.Module, test: ImageSet, results: pd.DataFrame, evaluate: dict[str, Any],
    runtime: dict[str, Any],
) -> dict[str, Any]:
    """The gradient-masking checks (Great Expectations) on the images every attack ran on;
    violations are reported, not raised."""
    cfg = from_params(EvaluateParams, evaluate, "evaluate").masking
    run = from_params(RuntimeConfig, runtime, "runtime")
    device = resolve_device(run.device)
    facts = model_facts(model.to(device), test.images, test.labels, cfg, device, run.seed)
    return check_gradient_masking(summarize(common_images(results)), facts, cfg)


def corruption_accuracy(
    model: nn.Module, corrupted: ImageSet, index: pd.DataFrame, runtime: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accuracy per corruption and severity, with the mean over corruptions per severity, and the
    per-image outcomes (``image_id, corruption, severity, correct``)."""
    run = from_params(RuntimeConfig, runtime, "runtime")
    preds = predict(model, corrupted.images, resolve_device(run.device), desc="CIFAR-10-C")
    outcomes = index.assign(correct=(preds == corrupted.labels).numpy())
    per = outcomes.groupby(["corruption", "severity"], as_index=False)["correct"].mean()
    mean = per.groupby("severity", as_index=False)["correct"].mean().assign(corruption="mean")
    table = pd.concat([per, mean], ignore_index=True).rename(columns={"correct": "accuracy"})
    return table, outcomes


def reliance_on_cue(
    model: nn.Module, aligned: ImageSet, swapped: ImageSet, uncued: ImageSet,
    runtime: dict[str, Any],
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Accuracy on the aligned, swapped and uncued test sets of the planted-cue variant and the
    aligned-swapped gap, with the per-image outcomes."""
    run = from_params(RuntimeConfig, runtime, "runtime")
    outcomes = cue_outcomes(model, aligned, swapped, uncued, resolve_device(run.device))
    return cue_reliance(outcomes), outcomes


def attack_uncued(
    model: nn.Module, uncued: ImageSet, evaluate: dict[str, Any], runtime: dict[str, Any]
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Clean and AutoAttack accuracy on (the first ``max_images`` of) the uncued test images, with
    the evaluation's own AutoAttack, radius, batches and seeds (the cue inflates robust accuracy
    where it is present)."""
    cfg = from_params(EvaluateParams, evaluate, "evaluate")
    run = from_params(RuntimeConfig, runtime, "runtime")
    images = _first(uncued, cfg.max_images)
    results = autoattack_results(model, images.images, images.labels, images.ids, cfg.attacks,
                                 cfg.masking.autoattack, device=resolve_device(run.device),
                                 progress=run.progress)
    return autoattack_accuracy(results, cfg.attacks.headline_eps_255), results


def estimate_bound(
    model: nn.Module, train: ImageSet, masks: dict[str, Any], evaluate: dict[str, Any],
    runtime: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The estimated attribution-aware bound on the mined images, with S = the adversarial
    baseline's spurious pixels (one fixed S, so that models are compared on the same features)."""
    cfg = from_params(EvaluateParams, evaluate, "evaluate")
    run = from_params(RuntimeConfig, runtime, "runtime")
    count = len(masks["ids"]) if cfg.bound_images is None else min(cfg.bound_images, len(masks["ids"]))
    position = pd.Series(range(len(train)), index=train.ids.tolist())
    rows = torch.as_tensor(position[masks["ids"][:count].tolist()].to_numpy())
    result = attribution_bound(
        model, train.images[rows], train.labels[rows], masks["pixel_masks"][:count].float(),
        cfg.bound, image_ids=train.ids[rows].tolist(), device=resolve_device(run.device),
        progress=run.progress,
    )
    return result.table, result.summary


def _first(images: ImageSet, count: int | None) -> ImageSet:
    return images if count is None else images.subset(torch.arange(min(count, len(images))))
