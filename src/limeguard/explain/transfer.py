"""A mined shortcut, found on every image: the masks of the images mining did not probe.

Mining probes a few hundred images. A shortcut that sits at one place per class reaches the rest of
the training split through its class's aggregate mask; one that moves (a watermark, a tag, decoy
MNIST's random corner) does not. ``search`` finds it where it is: once mining has flagged regions on
the probe images, the transplant test runs on every image of the classes it flagged, at cheaper
settings (one screening recipient, two candidates, eight recipients), with the probe set's
threshold as a floor. It looks for what mining found (the model's reliance on a region whose
content raises its class on other classes' images), not for a shape or a place, so it carries any
cue the transplant test can flag. Then ``explain.propagate`` carries the content that recurs in a
class's found regions to the images of the class where the search missed it (a cue the model uses
on some images only). Mining that flags nothing costs nothing here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from limeguard.explain.config import MineParams, MiningConfig, TransferConfig
from limeguard.explain.propagate import propagate_masks
from limeguard.explain.reports import pixel_masks
from limeguard.explain.segmentation import segment_images
from limeguard.explain.transplant import transplant_scores
from limeguard.images.imageset import ImageSet
from limeguard.safetensors_io import META_KEY

log = logging.getLogger(__name__)

def flagged_classes(labels: torch.Tensor, probe_masks: torch.Tensor) -> torch.Tensor:
    """(K,) the classes of the probe images with at least one flagged pixel."""
    flagged = probe_masks.flatten(1).bool().any(1)
    return labels[flagged].unique()


def search_masks(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                 image_ids: Sequence[object], classes: torch.Tensor, mining: MiningConfig,
                 cfg: TransferConfig, floor: float, device: torch.device) -> torch.Tensor:
    """(N, H, W) bool: the regions the transplant test flags on each image of ``classes``.

    Args:
        images: (N, C, H, W) float32 in [0, 1]; labels: (N,); image_ids: N ids (seed the
            recipients and donors, as in mining).
        classes: the classes whose images are searched; the others are only recipients and
            donors, and get empty masks.
        floor: the probe set's transplant threshold (the search's threshold is at least this).
    """
    out = torch.zeros((len(images), *images.shape[2:]), dtype=torch.bool)
    searched = torch.isin(labels, classes)
    if not bool(searched.any()):
        return out
    segments = torch.zeros(out.shape, dtype=torch.long)
    seg = segment_images(images[searched], mining.segmentation)
    segments[searched] = seg.segments
    n_segments = torch.zeros(len(images), dtype=torch.long)
    n_segments[searched] = seg.n_segments
    valid = torch.arange(int(n_segments.max()))[None, :] < n_segments[:, None]
    scores = transplant_scores(model, images, labels, segments, valid, image_ids,
                               cfg.transplant(mining.criteria.transplant), mining.lime,
                               mining.seed, device, floor=floor)
    out = pixel_masks(scores.flag, segments) & searched[:, None, None]
    log.info("mask search: %d images of %d classes searched, %.1f%% with a flagged region "
             "(threshold %.3f)", int(searched.sum()), len(classes),
             100 * float(out[searched].flatten(1).any(1).float().mean()), scores.threshold)
    return dilated(out, cfg.dilate)


def dilated(masks: torch.Tensor, pixels: int) -> torch.Tensor:
    """(N, H, W) bool ``masks`` grown by ``pixels`` (a square neighbourhood)."""
    if pixels == 0 or masks.numel() == 0:
        return masks
    grown = F.max_pool2d(masks[:, None].float(), 2 * pixels + 1, stride=1, padding=pixels)
    return grown[:, 0] > 0


def refinement_masks(model: nn.Module, masks: dict[str, Any], images: ImageSet, cfg: MineParams,
                     device: torch.device) -> dict[str, Any]:
    """Mining's ``masks`` (of the probe images) with each of ``images``' own: ``image_ids`` and
    ``image_masks`` (M, H, W) uint8, searched (``mine.transfer.mode: search``) or none
    (``class``: refinement then gives an unprobed image its class's aggregate mask)."""
    meta = dict(masks.get(META_KEY, {}))
    classes = flagged_classes(masks["labels"], masks["pixel_masks"])
    found = torch.zeros((len(images), *images.images.shape[2:]), dtype=torch.bool)
    ids = images.ids
    searched = found
    if cfg.transfer.mode == "search" and len(classes):
        floor = float(meta.get("thresholds", {}).get("transplant", 0.0))
        searched = search_masks(model, images.images, images.labels, ids.tolist(), classes,
                                cfg.mining, cfg.transfer, floor, device)
        found = propagate_masks(images.images, images.labels, searched, classes,
                                cfg.transfer.propagate)
    elif cfg.transfer.mode == "class":
        ids, found, searched = ids[:0], found[:0], found[:0]
    meta["transfer"] = {"mode": cfg.transfer.mode, "flagged_classes": classes.tolist(),
                        "images": len(ids), "images_masked": _masked(found),
                        "images_masked_by_propagation": _masked(found) - _masked(searched),
                        "pixel_share": float(found.float().mean()) if found.numel() else 0.0}
    return {**masks, "image_ids": ids, "image_masks": found.to(torch.uint8), META_KEY: meta}


def _masked(masks: torch.Tensor) -> int:
    return int(masks.flatten(1).any(1).sum())
