"""Mining outputs: the tidy attribution table, pixel masks, class masks and summary statistics."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

FLAG_COLUMNS = ("irrelevant", "sensitive", "unstable", "transplant", "spurious")


def degenerate_criteria(flags: dict[str, torch.Tensor], valid: torch.Tensor) -> dict[str, str]:
    """Criterion -> ``"nothing"`` or ``"everything"`` for the flag columns that flag no valid
    superpixel, or all of them (empty when there are no superpixels)."""
    out: dict[str, str] = {}
    if not bool(valid.any()):
        return out
    for name in FLAG_COLUMNS:
        share = float(flags[name][valid].float().mean())
        if share == 0.0:
            out[name] = "nothing"
        elif share == 1.0:
            out[name] = "everything"
    return out


def attribution_table(image_ids: Sequence[object], labels: torch.Tensor, weights: torch.Tensor,
                      valid: torch.Tensor, outside: torch.Tensor, scores: dict[str, torch.Tensor],
                      flags: dict[str, torch.Tensor],
                      extra: dict[str, torch.Tensor] | None = None) -> pd.DataFrame:
    """One row per (image, superpixel): image_id, label, segment_id, weight, outside_frac,
    ``<criterion>_score``, the ``extra`` (N, F) columns (e.g. ``transplant_null``) and the boolean
    flags irrelevant/sensitive/unstable/transplant/spurious."""
    rows, cols = valid.nonzero(as_tuple=True)
    data = {
        "image_id": pd.Series(list(image_ids)).iloc[rows.numpy()].reset_index(drop=True),
        "label": labels[rows].numpy().astype(np.int64),
        "segment_id": cols.numpy().astype(np.int64),
        "weight": weights[rows, cols].numpy(),
        "outside_frac": outside[rows, cols].numpy(),
    }
    for name, score in scores.items():
        data[f"{name}_score"] = score[rows, cols].numpy().astype(np.float32)
    for name, values in (extra or {}).items():
        data[name] = values[rows, cols].numpy()
    for name in FLAG_COLUMNS:
        data[name] = flags[name][rows, cols].numpy().astype(bool)
    return pd.DataFrame(data)


def pixel_masks(flags: torch.Tensor, segments: torch.Tensor) -> torch.Tensor:
    """(N, H, W) bool pixel masks from (N, F) superpixel flags and (N, H, W) segments."""
    n = segments.shape[0]
    if flags.shape[1] == 0:
        return torch.zeros(segments.shape, dtype=torch.bool)
    return flags.gather(1, segments.reshape(n, -1)).reshape(segments.shape)


def class_masks(masks: torch.Tensor, labels: torch.Tensor, num_classes: int,
                threshold: float | None) -> torch.Tensor:
    """(classes, H, W) float32 in [0, 1]: per class, the share of its probed images whose pixel is
    flagged (0 for a class without probed images); with ``threshold``, binarised at >= threshold."""
    freq = torch.zeros((num_classes, *masks.shape[1:]), dtype=torch.float32)
    counts = torch.bincount(labels, minlength=num_classes).to(torch.float32)
    freq.index_add_(0, labels, masks.to(torch.float32))
    freq /= counts.clamp_min(1)[:, None, None]
    if threshold is not None:
        freq = (freq >= threshold).to(torch.float32) * (counts > 0)[:, None, None]
    return freq


def summary_table(table: pd.DataFrame, masks: torch.Tensor, labels: torch.Tensor,
                  num_classes: int, degenerate: dict[str, str] | None = None) -> pd.DataFrame:
    """Share of superpixels flagged per criterion, per class (``scope`` class) and overall
    (``scope`` all, label -1), with images, superpixels and the share of pixels masked;
    ``note`` on the overall row names the criteria that flag nothing or everything."""
    pixel_share = masks.flatten(1).to(torch.float64).mean(1).numpy()
    rows = []
    for label in [-1, *range(num_classes)]:
        part = table if label < 0 else table[table["label"] == label]
        chosen = np.ones(len(labels), bool) if label < 0 else labels.numpy() == label
        row = {"scope": "all" if label < 0 else "class", "label": label,
               "n_images": int(chosen.sum()), "n_superpixels": len(part)}
        for name in FLAG_COLUMNS:
            row[f"share_{name}"] = float(part[name].mean()) if len(part) else float("nan")
        row["pixel_share_spurious"] = (float(pixel_share[chosen].mean()) if chosen.any()
                                       else float("nan"))
        row["note"] = degenerate_note(degenerate or {}) if label < 0 else ""
        rows.append(row)
    return pd.DataFrame(rows)


def degenerate_note(degenerate: dict[str, str]) -> str:
    """``"transplant flags nothing; sensitive flags everything"`` ("" when none is degenerate)."""
    return "; ".join(f"{name} flags {what}" for name, what in degenerate.items())


def image_table(image_ids: Sequence[object], labels: torch.Tensor, n_segments: torch.Tensor,
                fallback: torch.Tensor, intercept: torch.Tensor, score: torch.Tensor,
                masks: torch.Tensor, flags: dict[str, torch.Tensor] | None = None,
                segments: torch.Tensor | None = None) -> pd.DataFrame:
    """One row per image: segment count, grid fallback, LIME intercept and R^2, the share of its
    pixels in the spurious set (``pixel_share_spurious``) and, given the (N, F) ``flags`` and
    (N, H, W) ``segments``, the share each criterion flags (``pixel_share_<criterion>``)."""
    shares = {}
    if flags is not None and segments is not None:
        shares = {f"pixel_share_{name}": pixel_masks(flags[name], segments).flatten(1)
                  .to(torch.float32).mean(1).numpy() for name in FLAG_COLUMNS if name != "spurious"}
    return pd.DataFrame({
        "image_id": list(image_ids),
        "label": labels.numpy().astype(np.int64),
        "n_segments": n_segments.numpy().astype(np.int64),
        "grid_fallback": fallback.numpy().astype(bool),
        "lime_intercept": intercept.numpy(),
        "lime_r2": score.numpy(),
        **shares,
        "pixel_share_spurious": masks.flatten(1).to(torch.float32).mean(1).numpy(),
    })

