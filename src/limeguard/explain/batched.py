"""The vectorised engine: all perturbed images of a group of images built by one broadcast op,
the model run in chunks of ``chunk_size`` images, all ridge regressions solved in one call."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from limeguard.attacks.pgd import model_mode
from limeguard.explain.attributions import Attributions, check_finite
from limeguard.explain.config import LimeConfig
from limeguard.explain.ridge import weighted_ridge
from limeguard.explain.sampling import cosine_distances, kernel_weights, pad_masks
from limeguard.explain.segmentation import Segmentation
from limeguard.runtime import progress


def superpixel_means(images: torch.Tensor, segments: torch.Tensor, width: int) -> torch.Tensor:
    """Mean colour of each superpixel (lime's fill), computed in float64 as lime does.

    Args:
        images: (B, C, H, W) float; segments: (B, H, W) int64 labels < width.
    Returns:
        (B, C, H*W) float32: every pixel replaced by its superpixel's mean colour.
    """
    b, c = images.shape[:2]
    flat = images.reshape(b, c, -1).to(torch.float64)
    index = segments.reshape(b, 1, -1).expand(b, c, -1)  # (B, C, HW)
    sums = torch.zeros((b, c, width), dtype=torch.float64, device=images.device)
    sums.scatter_add_(2, index, flat)
    counts = torch.zeros((b, 1, width), dtype=torch.float64, device=images.device)
    counts.scatter_add_(2, index[:, :1], torch.ones_like(flat[:, :1]))
    means = sums / counts.clamp_min(1)
    return means.gather(2, index).to(torch.float32)


def perturb_into(out: torch.Tensor, images: torch.Tensor, fills: torch.Tensor,
                 onehot: torch.Tensor, masks: torch.Tensor, start: int) -> torch.Tensor:
    """Fill ``out`` (L, C, HW) with the perturbed images of flat (image, sample) pairs
    ``start .. start+L-1`` of (B, S): superpixel on -> image pixel, off -> its mean colour.

    Args:
        images, fills: (B, C, HW) float32; onehot: (B, F, HW) float32 segment indicators;
        masks: (B, S, F) float32 in {0, 1}.
    """
    n_samples, pos, stop = masks.shape[1], start, start + out.shape[0]
    while pos < stop:  # one matmul and one broadcast lerp per image that the chunk touches
        b, s0 = divmod(pos, n_samples)
        s1 = min(n_samples, s0 + stop - pos)
        pixel_on = masks[b, s0:s1] @ onehot[b]  # (n, HW), exactly 0 or 1
        dest = out[pos - start: pos - start + s1 - s0]
        # torch.lerp is exact at weights 0 and 1: the result is the image or the fill, bit for bit
        torch.lerp(fills[b], images[b], pixel_on[:, None, :], out=dest)
        pos += s1 - s0
    return out


def class_probabilities(model: nn.Module, images: torch.Tensor, fills: torch.Tensor,
                        onehot: torch.Tensor, masks: torch.Tensor, labels: torch.Tensor,
                        cfg: LimeConfig, shape: tuple[int, int]) -> torch.Tensor:
    """(B, S) float32 probability of each image's label on each of its perturbed images.

    images, fills: (B, C, HW); onehot: (B, F, HW); masks: (B, S, F) float32; labels: (B,).
    """
    b, n_samples = masks.shape[:2]
    total = b * n_samples
    out = torch.empty(total, dtype=torch.float32, device=images.device)
    buffer = torch.empty((min(cfg.chunk_size, total), *images.shape[1:]), device=images.device)
    for start in range(0, total, cfg.chunk_size):
        x = perturb_into(buffer[: min(cfg.chunk_size, total - start)], images, fills, onehot,
                         masks, start)
        x = x.reshape(len(x), -1, *shape)
        if cfg.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        logits = model(x).float()
        probs = torch.softmax(logits, 1)
        probs[~torch.isfinite(logits).all(1)] = float("nan")  # keep an inf visible to check_finite
        owner = torch.arange(start, start + len(x), device=images.device) // n_samples
        out[start: start + len(x)] = probs.gather(1, labels[owner, None])[:, 0]
    return out.reshape(b, n_samples)


def explain_group(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                  segments: torch.Tensor, n_segments: torch.Tensor, masks: torch.Tensor,
                  image_ids: Sequence[object], cfg: LimeConfig) -> tuple[torch.Tensor, ...]:
    """One group of images, all on one device; returns (coef (B, F), intercept, score)."""
    b, c, h, w = images.shape
    width = masks.shape[2]
    fills = superpixel_means(images, segments, width)
    onehot = F.one_hot(segments.reshape(b, -1), width).transpose(1, 2).float().contiguous()
    with torch.inference_mode():
        y = class_probabilities(model, images.reshape(b, c, -1), fills, onehot, masks.float(),
                                labels, cfg, (h, w))
    check_finite(y, image_ids)
    weights = kernel_weights(cosine_distances(masks, n_segments), cfg.kernel_width)
    return weighted_ridge(masks, y, weights, cfg.ridge_alpha)


def explain_batched(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                    segmentation: Segmentation, masks: Sequence[np.ndarray],
                    image_ids: Sequence[object], cfg: LimeConfig, device: torch.device,
                    desc: str = "lime") -> Attributions:
    """Explain (N, C, H, W) images in groups of ``cfg.images_per_batch`` on ``device``."""
    width = int(segmentation.n_segments.max()) if len(images) else 0
    n = len(images)
    coef = torch.zeros((n, width), dtype=torch.float32)
    intercept, score = torch.zeros(n), torch.zeros(n)
    starts = range(0, n, cfg.images_per_batch)
    with model_mode(model, False):
        for s in progress(starts, desc=desc, total=len(starts)):
            sl = slice(s, s + cfg.images_per_batch)
            group_masks = pad_masks(list(masks[sl]), width).to(device)
            out = explain_group(model, images[sl].to(device), labels[sl].to(device),
                                segmentation.segments[sl].to(device),
                                segmentation.n_segments[sl].to(device), group_masks,
                                list(image_ids[sl]), cfg)
            coef[sl], intercept[sl], score[sl] = (t.float().cpu() for t in out)
    return Attributions(coef, intercept, score, segmentation.n_segments.clone())
