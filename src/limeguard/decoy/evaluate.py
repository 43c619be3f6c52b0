"""Per-image outcomes of one model: right on the decoy test image, on its clean original, and under
PGD L-inf on the decoy test image (the first ``attack.images``; NaN beyond)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from limeguard.attacks.pgd import PGD
from limeguard.decoy.config import RobustnessCheck
from limeguard.decoy.data import DecoySets

BATCH = 500


@torch.no_grad()
def correct(model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device) -> np.ndarray:
    """(N,) bool: the model's prediction equals ``y`` (x (N, C, H, W) in [0, 1])."""
    model.eval()
    hits = [(model(x[i:i + BATCH].to(device)).argmax(1).cpu() == y[i:i + BATCH])
            for i in range(0, len(x), BATCH)]
    return torch.cat(hits).numpy()


def robust_correct(model: nn.Module, x: torch.Tensor, y: torch.Tensor, check: RobustnessCheck,
                   device: torch.device, seed: int) -> np.ndarray:
    """(N,) bool: right on the PGD example (random start seeded by ``seed``)."""
    attack = PGD(check.eps_255, check.alpha_255, steps=check.steps, random_start=True)
    torch.manual_seed(seed)
    out = []
    for i in range(0, len(x), BATCH):
        xb, yb = x[i:i + BATCH].to(device), y[i:i + BATCH].to(device)
        out.append(correct(model, attack(model, xb, yb), yb, device))
    return np.concatenate(out)


def model_outcomes(model: nn.Module, sets: DecoySets, check: RobustnessCheck,
                   device: torch.device, seed: int) -> pd.DataFrame:
    """One row per test image: ``image_id``, ``decoy_correct``, ``clean_correct`` and
    ``robust_correct`` (float 0/1; NaN past the attacked images)."""
    model = model.to(device)
    test, clean = sets.test, sets.clean_test
    n = min(check.images, len(test))
    robust = np.full(len(test), np.nan)
    robust[:n] = robust_correct(model, test.images[:n], test.labels[:n], check, device, seed)
    return pd.DataFrame({
        "image_id": test.ids.numpy(),
        "decoy_correct": correct(model, test.images, test.labels, device).astype(float),
        "clean_correct": correct(model, clean.images, clean.labels, device).astype(float),
        "robust_correct": robust})
