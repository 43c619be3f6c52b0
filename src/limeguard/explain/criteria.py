"""The criteria of METHOD.md stage 1.4, per superpixel: irrelevant, sensitive, unstable
(the paper's three) and transplant; and how the spurious set is formed from them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from limeguard.attacks.pgd import PGD, model_mode
from limeguard.explain.attributions import quantile_threshold
from limeguard.explain.config import CriteriaConfig

if TYPE_CHECKING:
    from limeguard.explain.transplant import TransplantScores

RegionPrior = Callable[[int, int, CriteriaConfig], torch.Tensor]


def center_region(height: int, width: int, cfg: CriteriaConfig) -> torch.Tensor:
    """(H, W) bool: the centred box of side ``center_frac`` of the image (CIFAR is centred)."""
    def span(n: int) -> slice:
        side = max(1, round(n * cfg.center_frac))
        start = (n - side) // 2
        return slice(start, start + side)

    region = torch.zeros((height, width), dtype=torch.bool)
    region[span(height), span(width)] = True
    return region


def full_region(height: int, width: int, cfg: CriteriaConfig) -> torch.Tensor:
    """(H, W) bool: the whole image is object (the irrelevant criterion never fires)."""
    return torch.ones((height, width), dtype=torch.bool)


REGION_PRIORS: dict[str, RegionPrior] = {"center": center_region, "full": full_region}


def segment_mean(values: torch.Tensor, segments: torch.Tensor, width: int) -> torch.Tensor:
    """Mean of (N, H, W) ``values`` over each superpixel of (N, H, W) ``segments`` -> (N, width)."""
    n = values.shape[0]
    index = segments.reshape(n, -1)
    sums = torch.zeros((n, width), dtype=torch.float64).scatter_add_(
        1, index, values.reshape(n, -1).to(torch.float64))
    counts = torch.zeros((n, width), dtype=torch.float64).scatter_add_(
        1, index, torch.ones_like(index, dtype=torch.float64))
    return (sums / counts.clamp_min(1)).to(torch.float32)


def outside_fraction(segments: torch.Tensor, region: torch.Tensor, width: int) -> torch.Tensor:
    """(N, width) share of each superpixel's pixels outside the (H, W) bool object region."""
    outside = (~region).to(torch.float32).expand(segments.shape)
    return segment_mean(outside, segments, width)


def input_gradients(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                    device: torch.device, chunk_size: int) -> torch.Tensor:
    """(N, H, W) float32: |d CE / d x| summed over channels, model in eval mode."""
    out = []
    with model_mode(model, False):
        for s in range(0, len(images), chunk_size):
            x = images[s: s + chunk_size].to(device).requires_grad_(True)
            loss = F.cross_entropy(model(x), labels[s: s + chunk_size].to(device), reduction="sum")
            (grad,) = torch.autograd.grad(loss, x)
            out.append(grad.abs().sum(1).float().cpu())
    return torch.cat(out) if out else torch.zeros((0, *images.shape[2:]))


def perturbed_copies(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                     cfg: CriteriaConfig, seed: int, device: torch.device) -> torch.Tensor:
    """(K, N, C, H, W) copies: Gaussian noise (std ``noise_std_255``/255) or FGSM/PGD examples.

    Attack copies start from independent random points in the eps-ball, so they differ.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if cfg.perturbation == "gaussian":
            noise = torch.randn((cfg.copies, *images.shape)) * (cfg.noise_std_255 / 255)
            return (images[None] + noise).clamp_(0, 1)
        steps = 1 if cfg.perturbation == "fgsm" else cfg.pgd_steps
        alpha = 1.25 * cfg.eps_255 if steps == 1 else 2.5 * cfg.eps_255 / steps
        attack = PGD(eps_255=cfg.eps_255, alpha_255=alpha, steps=steps, random_start=True)
        x, y = images.to(device), labels.to(device)
        return torch.stack([attack(model, x, y).cpu() for _ in range(cfg.copies)])


def combine_flags(flags: dict[str, torch.Tensor], cfg: CriteriaConfig) -> torch.Tensor:
    """The spurious set: the transplant flags, or the union (any) / intersection (all) of the
    ``combine`` criteria's flags (``criteria.spurious``)."""
    if cfg.spurious == "transplant":
        return flags["transplant"]
    stacked = torch.stack([flags[name] for name in cfg.combine])
    return stacked.any(0) if cfg.spurious == "union" else stacked.all(0)


def flag_superpixels(weights: torch.Tensor, outside: torch.Tensor, sensitivity: torch.Tensor,
                     variance: torch.Tensor | None, valid: torch.Tensor, cfg: CriteriaConfig,
                     transplant: TransplantScores | None = None,
                     ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], dict[str, float]]:
    """Scores, flags and thresholds of the criteria and the spurious set; all tensors (N, F).

    irrelevant: outside the region (``outside >= outside_frac``) and |weight| (scaled as
    ``weight_scale``) above its ``irrelevant_quantile`` over all probed superpixels (score: that
    |weight| if outside, else 0). sensitive / unstable: score above its quantile over all probed
    superpixels. transplant: the transplant score (effect - null, NaN where not a candidate) above
    its calibrated threshold.
    ``variance`` or ``transplant`` None (not computed) gives NaN scores and no flags. Quantiles
    use only ``valid`` (non-padding) superpixels; comparisons are strict, so ties at 0 are not
    flagged.
    """
    magnitude = weights.abs()
    if cfg.weight_scale == "image_max":
        magnitude = magnitude / magnitude.amax(1, keepdim=True).clamp_min(1e-12)
    is_outside = outside >= cfg.outside_frac
    thresholds = {
        "irrelevant": quantile_threshold(magnitude[valid], cfg.irrelevant_quantile),
        "sensitive": quantile_threshold(sensitivity[valid], cfg.sensitive_quantile),
    }
    scores = {"irrelevant": torch.where(is_outside, magnitude, torch.zeros_like(magnitude)),
              "sensitive": sensitivity}
    flags = {"irrelevant": is_outside & (magnitude > thresholds["irrelevant"]) & valid,
             "sensitive": (sensitivity > thresholds["sensitive"]) & valid}
    nan = torch.full_like(magnitude, float("nan"))
    if variance is None:
        thresholds["unstable"], scores["unstable"] = float("nan"), nan
        flags["unstable"] = torch.zeros_like(valid)
    else:
        thresholds["unstable"] = quantile_threshold(variance[valid], cfg.unstable_quantile)
        scores["unstable"] = variance
        flags["unstable"] = (variance > thresholds["unstable"]) & valid
    if transplant is None:
        thresholds["transplant"], scores["transplant"] = float("nan"), nan
        flags["transplant"] = torch.zeros_like(valid)
    else:
        thresholds["transplant"] = transplant.threshold
        scores["transplant"] = transplant.score
        flags["transplant"] = transplant.flag & valid
    flags["spurious"] = combine_flags(flags, cfg) & valid
    return scores, flags, thresholds
