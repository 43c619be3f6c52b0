"""Run an evaluation: every image under every configured attack and radius, one row each."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from limeguard.attacks.factory import Attack, build_attack, is_blackbox, takes_seed
from limeguard.attacks.pgd import model_mode
from limeguard.evaluation.config import EvalConfig
from limeguard.runtime import progress as progress_bar

log = logging.getLogger(__name__)

COLUMNS = (
    "image_id",
    "label",
    "attack",
    "blackbox",
    "eps_255",
    "eps_linf",
    "attacked",
    "correct",
    "pred",
)


@dataclass(frozen=True)
class Job:
    """One attack at one radius."""

    label: str
    eps_255: float
    attack: Attack
    blackbox: bool
    max_images: int | None = None


def plan_jobs(cfg: EvalConfig) -> list[Job]:
    """The (attack, radius) pairs of ``cfg``, attack by attack, radii ascending."""
    jobs = []
    for spec in cfg.attacks:
        options = dict(spec.options)
        if takes_seed(spec.name):
            options.setdefault("seed", cfg.seed)
        for eps in cfg.radii_255(spec):
            jobs.append(Job(spec.key, eps, build_attack(spec.name, eps, **options),
                            is_blackbox(spec.name), spec.max_images))
    return jobs


def evaluate_model(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    image_ids: Sequence | None,
    cfg: EvalConfig,
    device: torch.device | str = "cpu",
    progress: bool = True,
) -> pd.DataFrame:
    """Robustness of ``model`` under every attack and radius of ``cfg``, one row per image each.

    Args:
        model: classifier returning logits; its train/eval mode is restored afterwards.
        images: ``(N, C, H, W)`` float32 in [0, 1].
        labels: ``(N,)`` int64 class labels.
        image_ids: ``N`` unique identifiers (default ``0 .. N-1``).
        cfg: the evaluation configuration.
        device: where the model runs (it is not moved; pass the model's device).
        progress: show a progress bar over batches x jobs.

    Random starts are seeded per (``cfg.seed``, batch, attack, ε) under a forked RNG: the run is
    reproducible and leaves torch's global RNG alone; AutoAttack and Square use ``cfg.seed``
    unless their options give one.

    Raises:
        ValueError: lengths differ or identifiers repeat.

    Returns:
        Columns :data:`COLUMNS`: the clean rows (``attack='clean'``, ``eps_255=0``) then one row
        per image x attack x ε; ``correct`` is whether the model still predicts ``label``.
        Images misclassified clean are not attacked when ``cfg.skip_misclassified``
        (``attacked=False``, ``correct=False``, ``pred`` the clean prediction). An attack with
        ``max_images`` has rows for the first ``max_images`` images only.
    """
    ids = _checked_ids(images, labels, image_ids)
    jobs = plan_jobs(cfg)
    batches = [slice(s, s + cfg.batch_size) for s in range(0, len(images), cfg.batch_size)]
    steps = [(b, j) for b in range(len(batches)) for j in range(-1, len(jobs))]  # -1: clean
    parts: list[pd.DataFrame] = []
    with model_mode(model, False):
        for b, j in progress_bar(steps, desc="evaluate") if progress else steps:
            if j < 0:
                xb, yb = images[batches[b]].to(device), labels[batches[b]].to(device)
                idb = ids[batches[b]]
                clean_pred = _predict(model, xb)
                none = torch.zeros_like(yb, dtype=torch.bool)
                parts.append(_rows(idb, yb, "clean", False, 0.0, clean_pred, none))
                continue
            job = jobs[j]
            if job.max_images is not None and batches[b].start >= job.max_images:
                continue
            seed = zlib.crc32(f"{cfg.seed}/{b}/{job.label}/{job.eps_255}".encode())
            keep = len(idb) if job.max_images is None else job.max_images - batches[b].start
            pred, attacked = _attack_batch(model, job, xb[:keep], yb[:keep], clean_pred[:keep],
                                           cfg, seed)
            parts.append(_rows(idb[:keep], yb[:keep], job.label, job.blackbox, job.eps_255, pred,
                               attacked))
    results = pd.concat(parts, ignore_index=True)
    log.info("evaluated %d images x %d jobs: %d rows", len(images), len(jobs), len(results))
    return _in_attack_order(results, cfg)


def _checked_ids(images: torch.Tensor, labels: torch.Tensor, image_ids: Sequence | None
                 ) -> np.ndarray:
    ids = np.arange(len(images)) if image_ids is None else np.asarray(list(image_ids))
    if not len(ids) == len(images) == len(labels):
        raise ValueError(
            f"images ({len(images)}), labels ({len(labels)}) and image_ids "
            f"({len(ids)}) differ in length"
        )
    if len(set(ids.tolist())) != len(ids):
        raise ValueError("image_ids: identifiers must be unique")
    return ids


def _in_attack_order(results: pd.DataFrame, cfg: EvalConfig) -> pd.DataFrame:
    """Clean rows first, then the attacks in ``cfg.attacks`` order, each by ε (stable)."""
    order = {"clean": -1, **{spec.key: i for i, spec in enumerate(cfg.attacks)}}
    return (
        results.assign(_order=results["attack"].map(order))
        .sort_values(["_order", "eps_255"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def _predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(x).argmax(1)


def _attack_batch(
    model: nn.Module,
    job: Job,
    x: torch.Tensor,
    y: torch.Tensor,
    clean_pred: torch.Tensor,
    cfg: EvalConfig,
    seed: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Predictions ``(N,)`` on the attacked batch and which images were attacked ``(N,)``."""
    attacked = clean_pred == y if cfg.skip_misclassified else torch.ones_like(y, dtype=torch.bool)
    pred = clean_pred.clone()
    idx = attacked.nonzero().squeeze(1)
    if idx.numel() == 0:
        return pred, attacked
    devices = [x.device] if x.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        x_adv = job.attack(model, x[idx], y[idx])
    pred[idx] = _predict(model, x_adv)
    return pred, attacked


def _rows(
    ids: np.ndarray,
    y: torch.Tensor,
    attack: str,
    blackbox: bool,
    eps_255: float,
    pred: torch.Tensor,
    attacked: torch.Tensor,
) -> pd.DataFrame:
    y_np, pred_np = y.cpu().numpy(), pred.cpu().numpy()
    return pd.DataFrame(
        {
            "image_id": ids,
            "label": y_np.astype(np.int64),
            "attack": attack,
            "blackbox": blackbox,
            "eps_255": float(eps_255),
            "eps_linf": float(eps_255) / 255,
            "attacked": attacked.cpu().numpy().astype(bool),
            "correct": pred_np == y_np,
            "pred": pred_np.astype(np.int64),
        },
        columns=list(COLUMNS),
    )
