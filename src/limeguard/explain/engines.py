"""The two LIME engines behind one call: ``lime`` (the package, reference), ``batched`` (torch)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from limeguard.explain.attributions import Attributions
from limeguard.explain.config import LimeConfig
from limeguard.explain.segmentation import Segmentation


def explain(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
            segmentation: Segmentation, masks: Sequence[np.ndarray],
            image_ids: Sequence[object], cfg: LimeConfig, engine: str,
            device: torch.device, desc: str = "lime") -> Attributions:
    """Explain ``labels`` of (N, C, H, W) ``images`` with the given LIME samples.

    Args:
        masks: per image, (num_samples, n_segments[i]) binary samples (see ``sample_masks``).
        engine: ``batched`` or ``lime``.
    """
    if engine == "batched":
        from limeguard.explain.batched import explain_batched

        return explain_batched(model, images, labels, segmentation, masks, image_ids, cfg,
                               device, desc)
    from limeguard.explain.lime_engine import explain_lime

    return explain_lime(model, images, labels, segmentation, masks, image_ids, cfg, device, desc)
