"""Batched predictions, and the reliance of a model on a planted cue (aligned vs swapped vs
uncued sets)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch
from torch import nn

from limeguard.images.imageset import ImageSet
from limeguard.runtime import progress


def predict(model: nn.Module, images: torch.Tensor, device: torch.device, batch_size: int = 512,
            desc: str | None = None) -> torch.Tensor:
    """(N,) int64 eval-mode predictions of (N, C, H, W) float ``images`` in [0, 1], on the CPU."""
    model = model.to(device).eval()
    batches = torch.split(torch.arange(len(images)), batch_size)
    out = [torch.zeros(0, dtype=torch.long)]
    with torch.no_grad():
        for rows in progress(batches, desc=desc or "predict", total=len(batches)):
            out.append(model(images[rows].to(device)).argmax(1).cpu())
    return torch.cat(out)


def cue_outcomes(model: nn.Module, aligned: ImageSet, swapped: ImageSet, uncued: ImageSet,
                 device: torch.device) -> pd.DataFrame:
    """Per test image: whether the model is right on the aligned, the swapped and the uncued
    version, and whether the image carries a cue (columns ``image_id, cued, aligned, swapped,
    uncued``).

    The sets hold the same images (same ids and labels): ``aligned`` and ``swapped`` differ only in
    the cue painted on the cued images; ``uncued`` is the split before any cue was painted.
    """
    for name, other in (("swapped", swapped), ("uncued", uncued)):
        if not (torch.equal(aligned.ids, other.ids) and torch.equal(aligned.labels, other.labels)):
            raise ValueError(f"cue reliance: the aligned and {name} sets hold different images "
                             "(ids or labels differ); both must come from plant_spurious_cue")
    right = {name: (predict(model, images.images, device, desc=name) == images.labels).numpy()
             for name, images in (("aligned", aligned), ("swapped", swapped), ("uncued", uncued))}
    cued = (aligned.images != swapped.images).flatten(1).any(1).numpy()
    return pd.DataFrame({"image_id": aligned.ids.numpy(), "cued": cued, **right})


def cue_reliance(outcomes: pd.DataFrame) -> dict[str, Any]:
    """Accuracy on the aligned, the swapped and the uncued set, and the aligned-swapped gap
    (fractions in [0, 1]), from :func:`cue_outcomes`; ``cued_*`` accuracies are over the cued
    images only."""
    cued = outcomes[outcomes["cued"]]
    aligned, swapped = _mean(outcomes["aligned"]), _mean(outcomes["swapped"])
    return {
        "n_images": len(outcomes), "n_cued": len(cued), "n_uncued": len(outcomes),
        "aligned_accuracy": aligned, "swapped_accuracy": swapped,
        "uncued_accuracy": _mean(outcomes["uncued"]), "gap": aligned - swapped,
        "cued_aligned_accuracy": _mean(cued["aligned"]),
        "cued_swapped_accuracy": _mean(cued["swapped"]),
    }


def _mean(correct: pd.Series) -> float:
    return float(correct.astype(float).mean()) if len(correct) else float("nan")
