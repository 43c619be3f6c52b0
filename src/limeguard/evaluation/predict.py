"""Batched predictions, and the reliance of a model on a planted cue (aligned vs swapped vs
uncued sets)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from limeguard.cifar.imageset import ImageSet
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


def cue_reliance(model: nn.Module, aligned: ImageSet, swapped: ImageSet, uncued: ImageSet,
                 device: torch.device) -> dict[str, Any]:
    """Accuracy on the aligned, the swapped and the uncued set, and the aligned-swapped gap
    (fractions in [0, 1]).

    The sets hold the same images (same ids and labels): ``aligned`` and ``swapped`` differ only in
    the cue painted on the cued images; ``uncued`` is the split before any cue was painted.
    ``cued_*`` accuracies are over the cued images only.
    """
    for name, other in (("swapped", swapped), ("uncued", uncued)):
        if not (torch.equal(aligned.ids, other.ids) and torch.equal(aligned.labels, other.labels)):
            raise ValueError(f"cue reliance: the aligned and {name} sets hold different images "
                             "(ids or labels differ); both must come from plant_spurious_cue")
    cued = (aligned.images != swapped.images).flatten(1).any(1)
    right_aligned = predict(model, aligned.images, device, desc="aligned") == aligned.labels
    right_swapped = predict(model, swapped.images, device, desc="swapped") == swapped.labels
    right_uncued = predict(model, uncued.images, device, desc="uncued") == uncued.labels
    return {
        "n_images": len(aligned), "n_cued": int(cued.sum()), "n_uncued": len(uncued),
        "aligned_accuracy": _mean(right_aligned), "swapped_accuracy": _mean(right_swapped),
        "uncued_accuracy": _mean(right_uncued),
        "gap": _mean(right_aligned) - _mean(right_swapped),
        "cued_aligned_accuracy": _mean(right_aligned[cued]),
        "cued_swapped_accuracy": _mean(right_swapped[cued]),
    }


def _mean(correct: torch.Tensor) -> float:
    return float(correct.float().mean()) if len(correct) else float("nan")
