"""``mine_spurious``: LIME attributions, the criteria and the spurious masks of images."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from limeguard.config import ConfigError
from limeguard.explain import reports
from limeguard.explain.attributions import Attributions
from limeguard.explain.config import MiningConfig
from limeguard.explain.criteria import (
    REGION_PRIORS,
    RegionPrior,
    flag_superpixels,
    input_gradients,
    outside_fraction,
    perturbed_copies,
    segment_mean,
)
from limeguard.explain.engines import explain
from limeguard.explain.sampling import image_random_state, sample_masks
from limeguard.explain.segmentation import Segmentation, SegmentCache, segment_images
from limeguard.explain.transplant import transplant_scores

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MiningResult:
    """Everything mining produces for N probed images (F = max segments per image).

    Attributes:
        table: one row per (image, superpixel), see ``reports.attribution_table``.
        images: one row per image, see ``reports.image_table``.
        pixel_masks: (N, H, W) bool, True on spurious pixels.
        class_masks: (classes, H, W) float32 in [0, 1], see ``reports.class_masks``.
        summary: shares flagged per criterion, per class and overall.
        segmentation: segments (N, H, W) int64, n_segments (N,), grid fallback (N,).
        attributions: LIME weights (N, F) of the clean images for their labels.
        thresholds: the probe-set thresholds of the criteria.
        degenerate: criterion -> ``nothing`` / ``everything`` for a criterion (or the spurious
            set) that flags no superpixel or all of them.
    """

    table: pd.DataFrame
    images: pd.DataFrame
    pixel_masks: torch.Tensor
    class_masks: torch.Tensor
    summary: pd.DataFrame
    segmentation: Segmentation
    attributions: Attributions
    thresholds: dict[str, float]
    degenerate: dict[str, str] = field(default_factory=dict)


def check_num_samples(segmentation: Segmentation, num_samples: int,
                      image_ids: Sequence[object]) -> None:
    """ConfigError naming ``num_samples`` if it is below an image's number of segments."""
    if len(segmentation) == 0:
        return
    worst = int(segmentation.n_segments.argmax())
    most = int(segmentation.n_segments[worst])
    if num_samples < most:
        raise ConfigError(
            f"mine.lime.num_samples: {num_samples} is smaller than the {most} segments of "
            f"image_id {image_ids[worst]!r}; LIME's ridge needs at least one sample per segment")


def lime_samples(segmentation: Segmentation, image_ids: Sequence[object],
                 cfg: MiningConfig) -> list[np.ndarray]:
    """Per image, lime's binary samples drawn from the RandomState of (seed, image_id)."""
    return [sample_masks(int(n), cfg.lime.num_samples, image_random_state(cfg.seed, image_id))
            for n, image_id in zip(segmentation.n_segments, image_ids, strict=True)]


def attribution_variance(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                         segmentation: Segmentation, masks: list[np.ndarray],
                         image_ids: Sequence[object], cfg: MiningConfig,
                         device: torch.device) -> torch.Tensor:
    """(N, F) variance of LIME weights over K perturbed copies that reuse the same samples."""
    copies = perturbed_copies(model, images, labels, cfg.criteria, cfg.seed, device)
    k = copies.shape[0]
    repeated = Segmentation(segmentation.segments.repeat(k, 1, 1),
                            segmentation.n_segments.repeat(k), segmentation.fallback.repeat(k))
    ids = [f"{i} (copy {c})" for c in range(k) for i in image_ids]
    attr = explain(model, copies.flatten(0, 1), labels.repeat(k), repeated, masks * k, ids,
                   cfg.lime, cfg.engine, device, desc="lime copies")
    return attr.weights.reshape(k, len(images), -1).var(0, unbiased=False)


def _validate(images: torch.Tensor, labels: torch.Tensor, image_ids: Sequence[object]) -> None:
    if images.ndim != 4 or not images.is_floating_point():
        raise ValueError(
            f"images: expected float (N, C, H, W) in [0, 1], got {tuple(images.shape)}")
    if len(labels) != len(images) or len(image_ids) != len(images):
        raise ValueError(f"images, labels and image_ids differ in length: "
                         f"{len(images)}, {len(labels)}, {len(image_ids)}")
    if len(set(image_ids)) != len(image_ids):
        raise ValueError("image_ids: must be unique (they seed each image's LIME samples)")


def criteria_inputs(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                    segmentation: Segmentation, width: int, cfg: MiningConfig,
                    device: torch.device,
                    region_prior: RegionPrior | None) -> tuple[torch.Tensor, ...]:
    """(outside fraction, gradient density), each (N, F): irrelevant and sensitive criteria."""
    prior = region_prior or REGION_PRIORS[cfg.criteria.region]
    region = prior(images.shape[2], images.shape[3], cfg.criteria)
    outside = outside_fraction(segmentation.segments, region, width)
    grads = input_gradients(model, images, labels, device, cfg.lime.chunk_size)
    return outside, segment_mean(grads, segmentation.segments, width)


def mine_spurious(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                  image_ids: Sequence[object], cfg: MiningConfig, device: torch.device,
                  segmentation: Segmentation | None = None, cache: SegmentCache | None = None,
                  region_prior: RegionPrior | None = None,
                  num_classes: int | None = None) -> MiningResult:
    """Mine spurious superpixels of ``images`` (N, C, H, W) float32 in [0, 1] for their ``labels``.

    Args:
        image_ids: unique ids (int or str); each image's LIME samples are seeded by (seed, id).
        segmentation: precomputed superpixels to reuse (e.g. from an earlier round); else SLIC.
        cache: segmentation cache shared between calls.
        region_prior: ``(H, W, criteria_cfg) -> (H, W) bool`` object region; default from config.
        num_classes: classes of the per-class masks; default: the model's output size.
    Raises:
        ConfigError: num_samples below an image's segment count; a region prior or transplant
            setting that does not fit the images.
        NonFiniteOutputError: the model's output is not finite on an image (named).
    """
    _validate(images, labels, image_ids)
    images, labels = images.detach().float().cpu(), labels.detach().long().cpu()
    if segmentation is None:
        segmentation = segment_images(images, cfg.segmentation, cache)
    elif tuple(segmentation.segments.shape) != (images.shape[0], *images.shape[2:]):
        raise ValueError(f"segmentation: shape {tuple(segmentation.segments.shape)} does not "
                         f"match images {tuple(images.shape)}")
    check_num_samples(segmentation, cfg.lime.num_samples, image_ids)
    check_fits(images, labels, cfg)
    masks = lime_samples(segmentation, image_ids, cfg)
    attr = explain(model, images, labels, segmentation, masks, image_ids, cfg.lime, cfg.engine,
                   device)
    valid = torch.arange(attr.weights.shape[1])[None, :] < segmentation.n_segments[:, None]
    scores, flags, thresholds, table = score_criteria(
        model, images, labels, image_ids, segmentation, masks, attr, valid, cfg, device,
        region_prior)
    masks_px = reports.pixel_masks(flags["spurious"], segmentation.segments)
    if num_classes is None:
        num_classes = _num_classes(model, images[:1], device)
    degenerate = reports.degenerate_criteria(flags, valid)
    _log_summary(table, degenerate, thresholds, cfg.criteria.spurious)
    return MiningResult(
        table=table,
        images=reports.image_table(image_ids, labels, segmentation.n_segments,
                                   segmentation.fallback, attr.intercept, attr.score, masks_px,
                                   flags, segmentation.segments),
        pixel_masks=masks_px,
        class_masks=reports.class_masks(masks_px, labels, num_classes, cfg.class_mask_threshold),
        summary=reports.summary_table(table, masks_px, labels, num_classes, degenerate),
        segmentation=segmentation, attributions=attr, thresholds=thresholds,
        degenerate=degenerate)


def score_criteria(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                   image_ids: Sequence[object], segmentation: Segmentation,
                   masks: list[np.ndarray], attr: Attributions, valid: torch.Tensor,
                   cfg: MiningConfig, device: torch.device, region_prior: RegionPrior | None,
                   ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], dict[str, float],
                              pd.DataFrame]:
    """Scores, flags and thresholds of every criterion (and the spurious set), and the
    attribution table, from the clean attributions ``attr`` of the images."""
    width = attr.weights.shape[1]
    variance = attribution_variance(model, images, labels, segmentation, masks, image_ids, cfg,
                                    device)
    outside, sensitivity = criteria_inputs(model, images, labels, segmentation, width, cfg,
                                           device, region_prior)
    transplant = transplant_scores(model, images, labels, segmentation.segments, valid,
                                   image_ids, cfg.criteria.transplant, cfg.lime, cfg.seed, device)
    scores, flags, thresholds = flag_superpixels(attr.weights, outside, sensitivity, variance,
                                                 valid, cfg.criteria, transplant)
    extra = {"transplant_screen": transplant.screen, "transplant_effect": transplant.effect,
             "transplant_null": transplant.null, "transplant_null2": transplant.null2}
    table = reports.attribution_table(image_ids, labels, attr.weights, valid, outside, scores,
                                      flags, extra)
    return scores, flags, thresholds, table


def check_fits(images: torch.Tensor, labels: torch.Tensor, cfg: MiningConfig) -> None:
    """ConfigError naming the key when the region prior or the transplant settings do not fit
    the (N, C, H, W) ``images`` and their ``labels``."""
    cfg.criteria.check_fits(images.shape[2], images.shape[3])
    cfg.criteria.transplant.check_fits(labels.tolist())


def _log_summary(table: pd.DataFrame, degenerate: dict[str, str], thresholds: dict[str, float],
                 spurious: str) -> None:
    log.info("mine: %d images, %d superpixels, %.1f%% spurious (%s; transplant threshold %.3f)",
             table["image_id"].nunique(), len(table),
             100 * float(table["spurious"].mean()) if len(table) else 0.0,
             ", ".join(f"{c} {100 * float(table[c].mean()):.1f}%"
                       for c in reports.FLAG_COLUMNS[:-1]) if len(table) else "-",
             thresholds["transplant"])
    for name, what in degenerate.items():
        if name == "spurious":
            log.warning("mine: the spurious set holds %s of the %d superpixels (criteria.spurious "
                        "= %s)", what, len(table), spurious)
        else:
            log.warning("mine: criterion %r flags %s of the %d superpixels (threshold %.4g)",
                        name, what, len(table), thresholds.get(name, np.nan))


def _num_classes(model: nn.Module, image: torch.Tensor, device: torch.device) -> int:
    from limeguard.attacks.pgd import model_mode

    with model_mode(model, False), torch.inference_mode():
        return int(model(image.to(device)).shape[1])
