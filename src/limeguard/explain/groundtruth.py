"""How well mining recovers a known spurious feature: pixel precision and recall per criterion."""

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
    rows = torch.as_tensor(row[table["image_id"]].to_numpy())
    cols = torch.as_tensor(table["segment_id"].to_numpy())
    flags[rows, cols] = torch.as_tensor(table[criterion].to_numpy(dtype=bool))
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
        flagging pixels at random), and per criterion ``precision``, ``recall`` (pooled over
        pixels), ``flagged_share`` and ``detected`` (share of cued images whose cue was found).
    """
    if tuple(cue.shape) != tuple(segments.shape):
        raise ValueError(f"cue mask shape {tuple(cue.shape)} does not match the segments "
                         f"{tuple(segments.shape)}")
    cued = cue.flatten(1).any(1)
    out: dict[str, Any] = {
        "n_images": len(image_ids), "n_cued_images": int(cued.sum()),
        "cue_pixels": int(cue.sum()),
        "chance_precision": float(cue.float().mean()) if cue.numel() else float("nan"),
        "criteria": {},
    }
    for criterion in (c for c in FLAG_COLUMNS if c in table.columns):
        flagged = flagged_pixels(table, segments, image_ids, criterion)
        hits = flagged & cue
        found = hits.flatten(1).sum(1) >= detect_share * cue.flatten(1).sum(1).clamp_min(1)
        out["criteria"][criterion] = {
            "precision": _ratio(hits.sum(), flagged.sum()),
            "recall": _ratio(hits.sum(), cue.sum()),
            "flagged_share": float(flagged.float().mean()) if flagged.numel() else float("nan"),
            "detected": _ratio((found & cued).sum(), cued.sum()),
        }
    return out


def _ratio(num: torch.Tensor, den: torch.Tensor) -> float:
    return float(num) / float(den) if int(den) > 0 else float("nan")
