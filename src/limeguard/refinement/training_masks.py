"""Per-image masks and sensitivity maps for the whole training split, from mining's outputs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch

from limeguard.refinement.masking import as_mask_batch

log = logging.getLogger(__name__)


def _positions(train_ids: Sequence[object], probed_ids: Sequence[object]) -> torch.Tensor:
    """(P,) positions of ``probed_ids`` in ``train_ids``; ValueError naming unknown ids."""
    where = {key: i for i, key in enumerate(train_ids)}
    if len(where) != len(train_ids):
        raise ValueError("train_ids: image ids must be unique")
    missing = [key for key in probed_ids if key not in where]
    if missing:
        raise ValueError(f"probed_ids: {len(missing)} id(s) not in train_ids, e.g. {missing[:3]!r}")
    return torch.tensor([where[key] for key in probed_ids], dtype=torch.long)


def _shared(train_ids: Sequence[object], found_ids: Sequence[object]
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Positions in ``train_ids`` and in ``found_ids`` of the ids both hold."""
    where = {key: i for i, key in enumerate(found_ids)}
    pairs = [(i, where[key]) for i, key in enumerate(train_ids) if key in where]
    rows, cols = zip(*pairs, strict=True) if pairs else ((), ())
    return torch.tensor(rows, dtype=torch.long), torch.tensor(cols, dtype=torch.long)


def masks_for_training_set(
    train_ids: Sequence[object],
    train_labels: torch.Tensor,
    probed_ids: Sequence[object],
    probed_masks: torch.Tensor,
    class_masks: torch.Tensor,
    threshold: float | None = 0.5,
    found: tuple[Sequence[object], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Masks for every training image: a probed image's own mask, else the mask found on it
    (``found``), else its class's aggregate.

    Args:
        train_ids: N image ids of the training split, in the order of its tensors.
        train_labels: (N,) int64 labels.
        probed_ids: P ids of the probed images (a subset of ``train_ids``).
        probed_masks: (P, H, W) or (P, 1, H, W) masks (bool or float in [0, 1]).
        class_masks: (classes, H, W) float in [0, 1], share of a class's probed images whose
            pixel is flagged.
        threshold: class masks binarised at ``>= threshold`` (null: the soft share is used).
        found: (ids, (M, H, W) masks) of the images the mined shortcut was searched for on (a
            superset or a subset of ``train_ids``; ids not in ``train_ids`` are ignored).

    Returns:
        (N, 1, H, W) float32 masks in [0, 1].

    Raises:
        ValueError: unknown probed ids, a label without a class mask, mismatched shapes.
    """
    probed = as_mask_batch(probed_masks, "probed_masks")
    classes = as_mask_batch(class_masks, "class_masks")
    if len(probed) != len(probed_ids):
        raise ValueError(f"probed_masks: {len(probed)} masks for {len(probed_ids)} probed_ids")
    if len(train_labels) != len(train_ids):
        raise ValueError(f"train_labels: {len(train_labels)} labels for {len(train_ids)} ids")
    if len(probed) and probed.shape[-2:] != classes.shape[-2:]:
        raise ValueError(f"probed_masks of shape {tuple(probed_masks.shape)} do not match "
                         f"class_masks of shape {tuple(class_masks.shape)} (H, W)")  # fmt: skip
    labels = train_labels.long().cpu()
    if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
        raise ValueError(f"train_labels: labels must be in [0, {len(classes)}) for "
                         f"{len(classes)} class masks, got max {int(labels.max())}")  # fmt: skip
    if threshold is not None:
        classes = (classes >= threshold).to(torch.float32)
    masks = classes[labels].clone()  # (N, 1, H, W)
    own = torch.zeros(len(labels), dtype=torch.bool)
    if found is not None:
        rows, where = _shared(train_ids, found[0])
        masks[rows] = as_mask_batch(found[1], "found")[where]
        own[rows] = True
    masks[_positions(train_ids, probed_ids)] = probed
    own[_positions(train_ids, probed_ids)] = True
    log.info(
        "training masks: %d probed, %d own (probed or searched), %d from class masks, "
        "%.3f of pixels masked", len(probed), int(own.sum()), int((~own).sum()),
        float(masks.mean()) if len(masks) else 0.0,
    )
    return masks


def sensitivity_for_training_set(
    train_ids: Sequence[object],
    probed_ids: Sequence[object],
    probed_sensitivity: torch.Tensor,
    default: float = 1.0,
) -> torch.Tensor:
    """Sensitivity weight maps for every training image: measured for probed images, else
    ``default`` everywhere (1.0 matches :func:`render_superpixel_scores`' normalisation).

    Args:
        train_ids: N image ids of the training split.
        probed_ids: P ids of the probed images.
        probed_sensitivity: (P, 1, H, W) or (P, H, W) maps >= 0.

    Returns:
        (N, 1, H, W) float32 maps >= 0.
    """
    maps = probed_sensitivity.to(torch.float32)
    maps = maps[:, None] if maps.ndim == 3 else maps
    if maps.ndim != 4 or maps.shape[1] != 1 or len(maps) != len(probed_ids):
        raise ValueError(f"probed_sensitivity: expected ({len(probed_ids)}, 1, H, W) maps, "
                         f"got shape {tuple(probed_sensitivity.shape)}")  # fmt: skip
    if not bool(torch.isfinite(maps).all()) or bool((maps < 0).any()):
        raise ValueError("probed_sensitivity: values must be finite and >= 0")
    out = torch.full((len(train_ids), 1, *maps.shape[-2:]), float(default))
    out[_positions(train_ids, probed_ids)] = maps
    return out


def render_superpixel_scores(
    segments: torch.Tensor,
    scores: torch.Tensor,
    masks: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-superpixel scores painted onto pixels, normalised to mean 1.

    Args:
        segments: (P, H, W) int64 superpixel ids in [0, F).
        scores: (P, F) scores >= 0 (e.g. mining's sensitivity: input-gradient density).
        masks: optional (P, H, W) or (P, 1, H, W) masks; the mean is then taken over the masked
            pixels (so flagged superpixels average 1), else over all pixels.

    Returns:
        (P, 1, H, W) float32 weight maps >= 0 (all ones when the reference mean is 0).
    """
    p = segments.shape[0]
    scores = scores.to(torch.float32).clamp_min(0)
    maps = scores.gather(1, segments.reshape(p, -1).long()).reshape(p, 1, *segments.shape[1:])
    if masks is None:
        ref = maps.mean() if maps.numel() else maps.new_zeros(())
    else:
        m = as_mask_batch(masks)
        ref = (maps * m).sum() / m.sum().clamp_min(1e-12)
    if float(ref) <= 0:
        return torch.ones_like(maps)
    return maps / ref


def mined_masks(result: Any, ids: torch.Tensor, labels: torch.Tensor, segments: torch.Tensor,
                n_segments: torch.Tensor) -> dict[str, torch.Tensor]:
    """A mining result's masks as the ``mine`` stage stores them and refinement reads them.

    Args:
        result: the ``limeguard.explain.mining.MiningResult`` of the images ``ids`` (N,), ``labels``.
        segments: (N, H, W) their superpixel ids; ``n_segments``: (N,) superpixels per image.

    Returns:
        ``pixel_masks`` (N, H, W) uint8, 1 = spurious; ``class_masks`` (classes, H, W) in [0, 1];
        ``sensitivity`` (N, 1, H, W), each superpixel's sensitivity score on its pixels, mean 1 on
        the masks; ``flagged_share`` (N,) in [0, 1]; ``ids`` and ``labels``.
    """
    table = result.table
    position = {int(i): k for k, i in enumerate(ids.tolist())}
    scores = torch.zeros(len(ids), int(n_segments.max()) if len(ids) else 0)
    rows = torch.tensor([position[int(i)] for i in table["image_id"]], dtype=torch.long)
    cols = torch.as_tensor(table["segment_id"].to_numpy().copy(), dtype=torch.long)
    scores[rows, cols] = torch.as_tensor(table["sensitive_score"].to_numpy().copy(), dtype=torch.float32)
    return {
        "pixel_masks": result.pixel_masks.to(torch.uint8),
        "class_masks": result.class_masks.float(),
        "sensitivity": render_superpixel_scores(segments, scores, result.pixel_masks),
        "flagged_share": result.pixel_masks.flatten(1).float().mean(1),
        "ids": ids, "labels": labels,
    }
