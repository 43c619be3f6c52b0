"""How well mining recovers a known spurious feature: pixel precision and recall per criterion,
and the share it flags on images with and without the cue."""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch

from limeguard.explain.reports import FLAG_COLUMNS, pixel_masks


def flagged_pixels(table: pd.DataFrame, segments: torch.Tensor, image_ids: torch.Tensor,
                   criterion: str) -> torch.Tensor:
    """(N, H, W) bool: the pixels of the superpixels ``criterion`` flagged, from the attribution
    table (one row per image x superpixel) and the (N, H, W) segments of the images ``image_ids``."""
    width = int(segments.max()) + 1 if segments.numel() else 0
    flags = torch.zeros((len(image_ids), width), dtype=torch.bool)
    row = pd.Series(range(len(image_ids)), index=image_ids.tolist())
    known = table["image_id"].isin(row.index)
    if not known.all():
        missing = table.loc[~known, "image_id"].iloc[0]
        raise ValueError(f"attributions: image_id {missing} is not among the mined images")
    rows = torch.as_tensor(row[table["image_id"]].to_numpy().copy())
    cols = torch.as_tensor(table["segment_id"].to_numpy().copy())
    flags[rows, cols] = torch.as_tensor(table[criterion].to_numpy(dtype=bool).copy())
    return pixel_masks(flags, segments)


def cue_recovery(table: pd.DataFrame, segments: torch.Tensor, image_ids: torch.Tensor,
                 cue: torch.Tensor, detect_share: float = 0.5) -> dict[str, Any]:
    """Pixel precision and recall of each criterion's flags against the planted ``cue`` pixels.

    Args:
        table: the mining attribution table (``image_id, segment_id`` and the flag columns).
        segments: (N, H, W) superpixels of the mined images, in the order of ``image_ids``.
        cue: (N, H, W) bool, the planted pixels (empty on images without a cue).
        detect_share: an image's cue counts as found when at least this share of it is flagged.

    Returns:
        ``n_images``, ``n_cued_images``, ``cue_pixels`` and ``chance_precision`` (the precision of
        flagging pixels at random), per criterion ``precision``, ``recall`` (pooled over pixels),
        ``flagged_share`` (of all pixels), ``flagged_share_cued`` / ``flagged_share_uncued`` (of
        the pixels of the images with / without a cue; NaN without such images) and ``detected``
        (share of cued images whose cue was found); ``notes``: criterion -> "flags nothing" or
        "flags everything" for a degenerate criterion.
    """
    if tuple(cue.shape) != tuple(segments.shape):
        raise ValueError(f"cue mask shape {tuple(cue.shape)} does not match the segments "
                         f"{tuple(segments.shape)}")
    cued = cue.flatten(1).any(1)
    out: dict[str, Any] = {
        "n_images": len(image_ids), "n_cued_images": int(cued.sum()),
        "n_uncued_images": int((~cued).sum()),
        "cue_pixels": int(cue.sum()),
        "chance_precision": float(cue.float().mean()) if cue.numel() else float("nan"),
        "criteria": {}, "notes": {},
    }
    for criterion in (c for c in FLAG_COLUMNS if c in table.columns):
        flagged = flagged_pixels(table, segments, image_ids, criterion)
        hits = flagged & cue
        found = hits.flatten(1).sum(1) >= detect_share * cue.flatten(1).sum(1).clamp_min(1)
        out["criteria"][criterion] = {
            "precision": _ratio(hits.sum(), flagged.sum()),
            "recall": _ratio(hits.sum(), cue.sum()),
            "flagged_share": _share(flagged),
            "flagged_share_cued": _share(flagged[cued]),
            "flagged_share_uncued": _share(flagged[~cued]),
            "detected": _ratio((found & cued).sum(), cued.sum()),
        }
        share = out["criteria"][criterion]["flagged_share"]
        if share in (0.0, 1.0):
            out["notes"][criterion] = "flags nothing" if share == 0.0 else "flags everything"
    return out


def _share(flagged: torch.Tensor) -> float:
    return float(flagged.float().mean()) if flagged.numel() else float("nan")


def _ratio(num: torch.Tensor, den: torch.Tensor) -> float:
    return float(num) / float(den) if int(den) > 0 else float("nan")


def mask_recovery(masks: torch.Tensor, cue: torch.Tensor) -> dict[str, Any]:
    """Pixel precision and recall of (N, H, W) ``masks`` against the (N, H, W) planted ``cue``
    pixels, and their coverage: the share of images with any masked pixel (cued and uncued) and
    of masked pixels."""
    masks, cue = masks.bool(), cue.bool()
    if tuple(masks.shape) != tuple(cue.shape):
        raise ValueError(f"mask shape {tuple(masks.shape)} does not match the cue's "
                         f"{tuple(cue.shape)}")
    cued, masked = cue.flatten(1).any(1), masks.flatten(1).any(1)
    hits = masks & cue
    return {"n_images": len(masks), "n_cued_images": int(cued.sum()),
            "precision": _ratio(hits.sum(), masks.sum()), "recall": _ratio(hits.sum(), cue.sum()),
            "pixel_share": _share(masks), "images_masked_cued": _share(masked[cued]),
            "images_masked_uncued": _share(masked[~cued])}
