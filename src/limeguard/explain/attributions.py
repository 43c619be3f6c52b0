"""LIME attributions as data (:class:`Attributions`), the checks on the model outputs behind them,
and the quantile thresholds the criteria and the transplant test share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch


class NonFiniteOutputError(ValueError):
    """The model returned NaN or inf on the perturbed images of an image (named in the message)."""


@dataclass(frozen=True)
class Attributions:
    """LIME explanations of N images for one class each.

    Attributes:
        weights: (N, F) float32 ridge coefficients per superpixel, 0 beyond ``n_segments``.
        intercept: (N,) float32.
        score: (N,) float32 weighted R^2 of the local model.
        n_segments: (N,) int64 valid features per image.
    """

    weights: torch.Tensor
    intercept: torch.Tensor
    score: torch.Tensor
    n_segments: torch.Tensor


def check_finite(values: torch.Tensor, image_ids: Sequence[object]) -> None:
    """Raise NonFiniteOutputError naming the first image whose row of ``values`` is not finite."""
    bad = ~torch.isfinite(values.reshape(values.shape[0], -1)).all(1)
    if bool(bad.any()):
        index = int(bad.nonzero()[0, 0])
        raise NonFiniteOutputError(
            f"model output is not finite (NaN or inf) on the perturbed images of image_id "
            f"{image_ids[index]!r}; {int(bad.sum())} image(s) affected")


def pack(weights: list[np.ndarray], intercept: list[float], score: list[float],
         n_segments: torch.Tensor) -> Attributions:
    """Per-image coefficient vectors into a zero-padded :class:`Attributions`."""
    width = int(n_segments.max()) if len(weights) else 0
    out = torch.zeros((len(weights), width), dtype=torch.float32)
    for i, w in enumerate(weights):
        out[i, : len(w)] = torch.as_tensor(w, dtype=torch.float32)
    return Attributions(out, torch.tensor(intercept, dtype=torch.float32),
                        torch.tensor(score, dtype=torch.float32), n_segments.clone())


def quantile_threshold(values: torch.Tensor, q: float) -> float:
    """The q-quantile of a flat set of scores (numpy: no size limit); inf for an empty set."""
    flat = values.detach().cpu().numpy().ravel()
    return float(np.quantile(flat, q)) if flat.size else float("inf")
