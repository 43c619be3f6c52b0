"""Explanation stability: top-k Jaccard overlap of LIME attributions across sampling seeds."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from limeguard.explain.attributions import Attributions
from limeguard.explain.config import MiningConfig
from limeguard.explain.engines import explain
from limeguard.explain.sampling import image_random_state, sample_masks
from limeguard.explain.segmentation import Segmentation


def topk_jaccard(a: torch.Tensor, b: torch.Tensor, n_segments: torch.Tensor,
                 k: int) -> torch.Tensor:
    """(N,) Jaccard index in [0, 1] of the top-k superpixels by |weight| of two (N, F) weight sets.

    Padding beyond ``n_segments`` is never chosen; k is capped at each image's segment count.
    """
    width = a.shape[1]
    valid = torch.arange(width)[None, :] < n_segments[:, None]
    out = torch.empty(a.shape[0], dtype=torch.float32)
    for i in range(a.shape[0]):
        kk = min(k, int(n_segments[i]))
        top_a = set(torch.where(valid[i], a[i].abs(), -1.0).topk(kk).indices.tolist())
        top_b = set(torch.where(valid[i], b[i].abs(), -1.0).topk(kk).indices.tolist())
        union = len(top_a | top_b)
        out[i] = len(top_a & top_b) / union if union else 1.0
    return out


def explanation_stability(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                          segmentation: Segmentation, image_ids: Sequence[object],
                          cfg: MiningConfig, device: torch.device,
                          seeds: Sequence[int] = (0, 1, 2), k: int = 5) -> dict[str, object]:
    """Mean top-k Jaccard of LIME weights over all pairs of ``seeds`` (1 = identical top-k).

    Returns:
        ``topk_jaccard_mean``, ``topk_jaccard_std``, ``per_image`` ((N,) list), ``k``,
        ``seeds`` and ``n_images``; per_image averages the pairs, the std is over images.
    """
    if len(seeds) < 2:
        raise ValueError(f"seeds: need at least two seeds, got {list(seeds)}")
    runs: list[Attributions] = []
    for seed in seeds:
        masks = [sample_masks(int(n), cfg.lime.num_samples, image_random_state(seed, i))
                 for n, i in zip(segmentation.n_segments, image_ids, strict=True)]
        runs.append(explain(model, images, labels, segmentation, masks, image_ids, cfg.lime,
                            cfg.engine, device, desc=f"stability seed {seed}"))
    pairs = [topk_jaccard(a.weights, b.weights, segmentation.n_segments, k)
             for a, b in itertools.combinations(runs, 2)]
    per_image = torch.stack(pairs).mean(0)
    return {"topk_jaccard_mean": float(per_image.mean()),
            "topk_jaccard_std": float(per_image.std(unbiased=False)),
            "per_image": per_image.tolist(), "k": k, "seeds": list(seeds),
            "n_images": len(image_ids)}
