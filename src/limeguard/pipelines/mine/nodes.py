"""Nodes of the ``mine`` pipeline: LIME spurious-feature mining of one model."""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd
import torch
from torch import nn

from limeguard.config import from_params
from limeguard.evaluation.confined import confined_comparison
from limeguard.explain.config import MineParams
from limeguard.explain.figures import explanation_figure
from limeguard.explain.groundtruth import cue_recovery, flagged_pixels, mask_recovery
from limeguard.explain.mining import MiningResult, check_fits, mine_spurious
from limeguard.explain.reports import FLAG_COLUMNS
from limeguard.explain.segmentation import Segmentation, segment_images
from limeguard.explain.stability import explanation_stability
from limeguard.explain.transfer import refinement_masks
from limeguard.images.imageset import ImageSet, joined
from limeguard.images.spurious import cue_pixel_masks
from limeguard.refinement import RefineConfig, mined_masks
from limeguard.refinement.rounds import training_masks
from limeguard.runtime import RuntimeConfig, resolve_device
from limeguard.safetensors_io import META_KEY


def choose_mining_images(probe: ImageSet, train: ImageSet, mine: dict[str, Any]) -> ImageSet:
    """The probe set, or the whole training split (``mine.scope``)."""
    return probe if from_params(MineParams, mine, "mine").scope == "probe" else train


def segment_mining_images(images: ImageSet, mine: dict[str, Any]) -> dict[str, Any]:
    """SLIC superpixels, computed once and reused by every round (grid fallback recorded).

    Raises:
        ConfigError: the region prior or the transplant settings do not fit the mining images
            (refused here, before any model is mined).
    """
    cfg = from_params(MineParams, mine, "mine").mining
    check_fits(images.images, images.labels, cfg)
    seg = segment_images(images.images, cfg.segmentation)
    return {"segments": seg.segments, "n_segments": seg.n_segments, "fallback": seg.fallback,
            "ids": images.ids, META_KEY: {"n_images": len(images)}}


def mine_model(
    model: nn.Module, images: ImageSet, segments: dict[str, Any], mine: dict[str, Any],
    runtime: dict[str, Any], cue: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any], pd.DataFrame, Any, dict[str, Any]]:
    """Attribution table, spurious masks, summary, explanation figure and stability of ``model``;
    with the planted ``cue`` record (the planted-cue variant) the figure outlines the cue."""
    cfg = from_params(MineParams, mine, "mine")
    device = resolve_device(from_params(RuntimeConfig, runtime, "runtime").device)
    model = model.to(device)
    seg = _segmentation(segments, images)
    ids = images.ids.tolist()
    result = mine_spurious(model, images.images, images.labels, ids, cfg.mining, device,
                           segmentation=seg, num_classes=images.num_classes)
    truth = None if cue is None else _truth(images, cue)
    figure = explanation_figure(images.images, result, ids[: cfg.figure_images], cfg.figure_images,
                                cue=truth)
    stability = _stability(model, images, seg, cfg, device)
    return result.table, _masks(result, images, seg), result.summary, figure, {
        **stability, "thresholds": result.thresholds,
        "share_spurious": float(result.table["spurious"].mean()) if len(result.table) else 0.0,
        "pixel_share_spurious": float(result.pixel_masks.float().mean()) if len(images) else 0.0,
        "degenerate_criteria": result.degenerate,
    }


def _stability(model: nn.Module, images: ImageSet, seg: Segmentation, cfg: MineParams,
               device: torch.device) -> dict[str, Any]:
    k = min(cfg.stability_images, len(images))
    return explanation_stability(
        model, images.images[:k], images.labels[:k], _subset(seg, k), images.ids.tolist()[:k],
        cfg.mining, device, seeds=cfg.stability_seeds, k=cfg.stability_top_k,
    )


def transfer_masks(model: nn.Module, masks: dict[str, Any], train: ImageSet, val: ImageSet,
                   mine: dict[str, Any], runtime: dict[str, Any]) -> dict[str, Any]:
    """The masks refinement applies: mining's, and each training and validation image's own
    (``mine.transfer``: the mined shortcut searched for on every image)."""
    cfg = from_params(MineParams, mine, "mine")
    device = resolve_device(from_params(RuntimeConfig, runtime, "runtime").device)
    return refinement_masks(model.to(device), masks, joined(train, val), cfg, device)


def recover_cue(
    attributions: pd.DataFrame, images: ImageSet, segments: dict[str, Any], cue: dict[str, Any],
    masks: dict[str, Any] | None = None, train: ImageSet | None = None,
    rounds: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Mining precision and recall of the planted cue's pixels, per criterion and combined; with
    the refinement ``masks``, also of the masks a round gives every ``train`` image from them."""
    seg = _segmentation(segments, images)
    out = cue_recovery(attributions, seg.segments, images.ids, _truth(images, cue))
    if masks is not None and train is not None:
        refine = from_params(RefineConfig, (rounds or {}).get("refine", {}), "rounds.refine")
        applied, _ = training_masks(train, masks, dataclasses.replace(refine, masks="mined"), None)
        out["training_images"] = mask_recovery(applied[:, 0], _truth(train, cue))
    return out


def attack_confined(
    model: nn.Module, attributions: pd.DataFrame, images: ImageSet, segments: dict[str, Any],
    mine: dict[str, Any], runtime: dict[str, Any], cue: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The paper's observation, measured (``mine.confined``): robust accuracy under PGD confined
    to each criterion's flagged pixels against matched random unflagged pixels; with the planted
    ``cue`` record, also to the cue's pixels (the known answer)."""
    cfg = from_params(MineParams, mine, "mine").confined
    device = resolve_device(from_params(RuntimeConfig, runtime, "runtime").device)
    seg = _segmentation(segments, images)
    flagged = {c: flagged_pixels(attributions, seg.segments, images.ids, c)
               for c in FLAG_COLUMNS if c in attributions.columns}
    if cue is not None:
        flagged["planted cue"] = _truth(images, cue)
    return confined_comparison(model.to(device), images.images, images.labels, seg.segments,
                               flagged, cfg, device)


def _truth(images: ImageSet, cue: dict[str, Any]) -> torch.Tensor:
    """(N, H, W) bool: the planted cue pixels of the mining images (empty where uncued)."""
    return cue_pixel_masks(cue, images.labels, images.ids, cue["train_cued_ids"])


def _segmentation(segments: dict[str, Any], images: ImageSet) -> Segmentation:
    if not torch.equal(segments["ids"], images.ids):
        raise ValueError("mine: the cached segments belong to other images than the mining set; "
                         "rerun segment_mining_images")
    return Segmentation(segments["segments"], segments["n_segments"], segments["fallback"])


def _subset(seg: Segmentation, k: int) -> Segmentation:
    return Segmentation(seg.segments[:k], seg.n_segments[:k], seg.fallback[:k])


def _masks(result: MiningResult, images: ImageSet, seg: Segmentation) -> dict[str, Any]:
    return {**mined_masks(result, images.ids, images.labels, seg.segments, seg.n_segments),
            META_KEY: {"thresholds": result.thresholds, "degenerate_criteria": result.degenerate}}
