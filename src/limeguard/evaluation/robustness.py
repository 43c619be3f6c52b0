"""Clean and AutoAttack accuracy of a model on one image set, as the full evaluation measures them."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pandas as pd
import torch
from torch import nn

from limeguard.config import ConfigError
from limeguard.evaluation.config import EvalConfig
from limeguard.evaluation.runner import evaluate_model


def autoattack_only(cfg: EvalConfig, labels: Sequence[str]) -> EvalConfig:
    """``cfg`` with only its AutoAttack (the first of ``labels`` it configures), at the headline ε.

    Batches, seeds and the skipping of misclassified images stay those of ``cfg``, and every
    (batch, attack, ε) derives its own seed, so the rows equal those of the full evaluation.

    Raises:
        ConfigError: ``cfg`` configures none of ``labels``.
    """
    specs = {spec.key: spec for spec in cfg.attacks}
    label = next((name for name in labels if name in specs), None)
    if label is None:
        raise ConfigError(f"evaluate.attacks: no AutoAttack configured (labels {list(labels)}); "
                          f"configured: {list(specs)}")
    return dataclasses.replace(cfg, attacks=(dataclasses.replace(specs[label], sweep=False),))


def autoattack_results(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, image_ids: Sequence | None,
    cfg: EvalConfig, autoattack_labels: Sequence[str], device: torch.device | str = "cpu",
    progress: bool = False,
) -> pd.DataFrame:
    """The per-image rows (clean, then AutoAttack at ``cfg.headline_eps_255``) of
    :func:`limeguard.evaluation.evaluate_model` with only the AutoAttack of ``cfg``.

    Args:
        model: classifier returning logits; moved to ``device``.
        images: ``(N, C, H, W)`` float32 in [0, 1].
        labels: ``(N,)`` int64 class labels.
        image_ids: ``N`` unique identifiers (default ``0 .. N-1``).
        cfg: the evaluation's configuration; only its AutoAttack runs (:func:`autoattack_only`).
        autoattack_labels: the labels that count as AutoAttack, preferred first.
        device: where the model runs.
        progress: show a progress bar.
    """
    only = autoattack_only(cfg, autoattack_labels)
    return evaluate_model(model.to(device), images, labels, image_ids, only, device=device,
                          progress=progress)


def autoattack_accuracy(results: pd.DataFrame, eps_255: float) -> dict[str, Any]:
    """Clean and AutoAttack accuracy (fractions in [0, 1]) of :func:`autoattack_results`.

    Returns:
        ``n_images``, ``clean_accuracy``, ``autoattack_accuracy``, ``attack`` (the label that ran)
        and ``eps_255``. Images misclassified clean count as not robust.
    """
    clean = results.loc[results["attack"] == "clean", "correct"]
    attacked = results[results["attack"] != "clean"]
    attack = str(attacked["attack"].iloc[0]) if len(attacked) else None
    return {"n_images": len(clean), "clean_accuracy": _mean(clean),
            "autoattack_accuracy": _mean(attacked["correct"]), "attack": attack,
            "eps_255": float(eps_255)}


def _mean(correct: Any) -> float:
    return float(correct.mean()) if len(correct) else float("nan")
