"""``attribution_bound``: the estimated bound of METHOD.md stage 4, per image, plus a summary."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from limeguard.attacks.pgd import frozen_parameters, model_mode
from limeguard.bound.config import BoundConfig
from limeguard.bound.distortion import minimal_distortion
from limeguard.bound.lipschitz import estimate_lipschitz, margins
from limeguard.bound.summary import summarize_bound
from limeguard.refinement.masking import as_mask_batch, check_mask_shape
from limeguard.runtime import progress as progress_bar

log = logging.getLogger(__name__)

COLUMNS = (
    "image_id", "label", "predicted", "margin", "L_S", "L_R", "bound", "bound_255",
    "bound_R_only", "bound_R_only_255", "eps_empirical", "eps_empirical_255",
    "attribution_share_S", "mask_share_S", "misclassified", "censored", "bound_beyond_ball",
)  # fmt: skip


@dataclass(frozen=True)
class BoundResult:
    """Per-image table (columns :data:`COLUMNS`) and its summary (see ``summarize_bound``)."""

    table: pd.DataFrame
    summary: dict[str, Any]


def attribution_bound(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, masks: torch.Tensor,
    cfg: BoundConfig, *, image_ids: Sequence[object] | None = None,
    attributions: torch.Tensor | None = None, device: torch.device | str = "cpu",
    progress: bool = True,
) -> BoundResult:  # fmt: skip
    """Margin, ``L_S``, ``L_R``, ``eps_min >= g / (L_S + L_R)``, ``g / L_R``, attribution share
    on S and the empirical minimal distortion of each image.

    ``L_S`` / ``L_R`` are the largest L1 norms (dual to L∞) of the margin gradient weighted by
    ``m`` / ``1 - m`` over sample points of the ``cfg.eps_255`` ball: an *estimated* local
    Lipschitz constant, so the bound is an estimate (exact for a linear model with
    ``classes_per_sample = classes - 1``). Raw ε is in pixel scale [0, 1]; ``*_255`` columns
    are the same in pixel units. Misclassified images (margin <= 0) get bound 0 and
    ``eps_empirical`` 0 and are flagged. ``bound_beyond_ball``: the bound exceeds the sampling
    radius, so it extrapolates the local estimate.

    Args:
        model: classifier returning logits, moved to ``device``; its mode is restored.
        images: (N, C, H, W) float32 in [0, 1]; ``labels``: (N,) int64.
        masks: (N, H, W) or (N, 1, H, W) spurious masks in [0, 1] (S = 1, R = 1 - m).
        cfg: the bound configuration.
        image_ids: N ids for the table (default 0 .. N-1).
        attributions: (N, H, W), (N, 1, H, W) or (N, C, H, W) pixel attributions (absolute
            values are used, summed over channels); default |margin gradient| at the image.
        device: where to compute.
        progress: show a progress bar over batches.
    """
    masks, ids = _checked_inputs(images, labels, masks, image_ids, attributions)
    device = torch.device(device)
    model = model.to(device)
    generator = torch.Generator().manual_seed(cfg.seed)
    starts = range(0, len(images), cfg.batch_size)
    if progress:
        starts = progress_bar(starts, desc="bound", total=len(starts))
    parts = []
    with model_mode(model, False), frozen_parameters(model):
        for start in starts:
            part = slice(start, start + cfg.batch_size)
            attr = None if attributions is None else attributions[part].to(device)
            parts.append(_batch(model, images[part].to(device), labels[part].to(device),
                                masks[part].to(device), attr, cfg, generator))  # fmt: skip
    table = _table(ids, {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}, cfg)
    summary = summarize_bound(table, tolerance_255=cfg.max_eps_255 / 2**cfg.bisection_iters)
    log.info("bound: %d images, median bound %.3g/255, median empirical %.3g/255, "
             "spearman %s", len(table), summary["median_bound_255"] or float("nan"),
             summary["median_eps_empirical_255"] or float("nan"),
             summary["spearman_bound_vs_empirical"])  # fmt: skip
    return BoundResult(table, summary)



def _checked_inputs(images: torch.Tensor, labels: torch.Tensor, masks: torch.Tensor,
                    image_ids: Sequence[object] | None, attributions: torch.Tensor | None
                    ) -> tuple[torch.Tensor, list[object]]:
    """(N, 1, H, W) masks and the N image ids, after checking that the inputs agree."""
    check_mask_shape(images, masks, ("images", "masks"))
    if attributions is not None and (
        len(attributions) != len(images)
        or tuple(attributions.shape[-2:]) != tuple(images.shape[-2:])
    ):
        raise ValueError(f"attributions of shape {tuple(attributions.shape)} do not match "
                         f"images of shape {tuple(images.shape)}")  # fmt: skip
    ids = list(range(len(images))) if image_ids is None else list(image_ids)
    if len(ids) != len(images) or len(labels) != len(images):
        raise ValueError(f"{len(images)} images, {len(labels)} labels, {len(ids)} image_ids")
    if len(images) == 0:
        raise ValueError("images: no image to bound")
    return as_mask_batch(masks), ids

def _batch(model: nn.Module, x: torch.Tensor, y: torch.Tensor, m: torch.Tensor,
           attr: torch.Tensor | None, cfg: BoundConfig,
           generator: torch.Generator) -> dict[str, np.ndarray]:  # fmt: skip
    """Every per-image quantity of one batch, as numpy arrays."""
    with torch.no_grad():
        logits = model(x)
    g = margins(logits, y)  # (B,)
    l_s, l_r, grad0 = estimate_lipschitz(model, x, y, m, cfg, generator)
    a = (grad0 if attr is None else attr.to(torch.float32)).abs()
    a = a.sum(1) if a.ndim == 4 else a  # (B, H, W)
    share = (a * m[:, 0]).flatten(1).sum(1) / a.flatten(1).sum(1)  # NaN when no attribution
    correct = g > 0
    eps = torch.zeros_like(g)
    censored = torch.zeros_like(correct)
    if bool(correct.any()):
        eps[correct], censored[correct] = minimal_distortion(
            model, x[correct], y[correct], cfg, generator
        )
    out = {"label": y, "predicted": logits.argmax(1), "margin": g, "L_S": l_s, "L_R": l_r,
           "eps_empirical": eps, "attribution_share_S": share,
           "mask_share_S": m.flatten(1).mean(1), "censored": censored}  # fmt: skip
    return {k: v.detach().cpu().numpy() for k, v in out.items()}


def _table(ids: list[object], cols: dict[str, np.ndarray], cfg: BoundConfig) -> pd.DataFrame:
    g, l_s, l_r = (cols[k].astype(np.float64) for k in ("margin", "L_S", "L_R"))
    wrong = g <= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = np.where(wrong, 0.0, g / (l_s + l_r))
        bound_r = np.where(wrong, 0.0, g / l_r)
    bound[~np.isfinite(bound)] = np.nan  # zero gradient everywhere: no finite estimate
    bound_r[~np.isfinite(bound_r)] = np.nan
    eps = np.where(wrong, 0.0, cols["eps_empirical"].astype(np.float64))
    table = pd.DataFrame({"image_id": ids, **{k: cols[k] for k in ("label", "predicted")},
                          "margin": g, "L_S": l_s, "L_R": l_r, "bound": bound,
                          "bound_255": bound * 255, "bound_R_only": bound_r,
                          "bound_R_only_255": bound_r * 255, "eps_empirical": eps,
                          "eps_empirical_255": eps * 255,
                          "attribution_share_S": cols["attribution_share_S"].astype(np.float64),
                          "mask_share_S": cols["mask_share_S"].astype(np.float64),
                          "misclassified": wrong, "censored": cols["censored"] & ~wrong,
                          "bound_beyond_ball": ~wrong & (bound > cfg.eps)})  # fmt: skip
    return table[list(COLUMNS)]
