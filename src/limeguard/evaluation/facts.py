"""Facts about a model that gradient masking would betray, as a one-row table for the checks."""

from __future__ import annotations

import pandas as pd
import torch
from torch import nn

from limeguard.attacks.factory import build_attack
from limeguard.attacks.pgd import model_mode
from limeguard.evaluation.config import MaskingCheckConfig

FACT_COLUMNS = (
    "n_probe",
    "looks_like_probabilities",
    "forward_max_abs_diff",
    "probe_eps_255",
    "probe_accuracy",
)


def model_facts(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    cfg: MaskingCheckConfig | None = None,
    device: torch.device | str = "cpu",
    seed: int = 0,
) -> pd.DataFrame:
    """Measure, on the first ``cfg.probe_size`` images (``cfg`` default
    :class:`MaskingCheckConfig`), in eval mode (the mode is restored):

    - ``looks_like_probabilities``: every output row lies in [0, 1] and sums to 1 (1e-4), i.e. the
      model returns probabilities, not logits (softmax outputs flatten the CE gradient);
    - ``forward_max_abs_diff``: largest absolute output difference between two forward passes
      (non-zero: a randomized model, which plain attacks under-estimate);
    - ``probe_accuracy``: accuracy under PGD-20 at ``cfg.probe_eps_255`` (a radius at which any
      model should fall to about 0; staying high means the gradients do not lead anywhere).

    Args:
        images: ``(N, C, H, W)`` float32 in [0, 1]; labels: ``(N,)`` int64.

    Returns:
        One row with columns :data:`FACT_COLUMNS`.
    """
    cfg = cfg or MaskingCheckConfig()
    x = images[: cfg.probe_size].to(device)
    y = labels[: cfg.probe_size].to(device)
    with model_mode(model, False):
        with torch.no_grad():
            first, second = model(x), model(x)
        probs = bool(
            ((first >= 0) & (first <= 1)).all()
            and torch.allclose(first.sum(1), torch.ones(len(x), device=first.device), atol=1e-4)
        )
        attack = build_attack("pgd", cfg.probe_eps_255)
        devices = [x.device] if x.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            x_adv = attack(model, x, y)
        with torch.no_grad():
            accuracy = (model(x_adv).argmax(1) == y).float().mean().item()
    return pd.DataFrame(
        [
            {
                "n_probe": len(x),
                "looks_like_probabilities": probs,
                "forward_max_abs_diff": float((first - second).abs().max()),
                "probe_eps_255": float(cfg.probe_eps_255),
                "probe_accuracy": accuracy,
            }
        ],
        columns=list(FACT_COLUMNS),
    )
