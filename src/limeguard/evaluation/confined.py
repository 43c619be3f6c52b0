"""The paper's observation, measured: are the pixels LIME flagged disproportionately vulnerable?

In the spirit of Hsieh et al. (ICLR 2021), one PGD attack (same ε, steps, restarts) is confined
once to the pixels a criterion flagged on an image and once to as many pixels drawn from the
image's unflagged superpixels (several seeded draws). Per image: correct under the flagged-region
attack, and the mean over draws of correct under the random-region attack. The paired difference
``random - flagged`` of robust accuracy, with a bootstrap interval over images, is positive when
the flagged pixels are the more vulnerable ones. Images without a flagged pixel, or with fewer
unflagged than flagged pixels (no matched region), are left out and counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import numpy as np
import torch
from torch import nn

from limeguard.attacks.pgd import PGD, model_mode
from limeguard.evaluation.config import ConfinedConfig
from limeguard.evaluation.paired import paired_difference

DIRECTION = ("difference = robust accuracy under the random-region attack - under the "
             "flagged-region attack (fractions); > 0: the flagged pixels are more vulnerable")
VERDICTS = ("disproportionately vulnerable", "less vulnerable than random pixels",
            "inside the noise", "not measured", "no image broken in either region")


def random_region(segments: torch.Tensor, flagged: torch.Tensor,
                  rng: np.random.Generator) -> torch.Tensor | None:
    """(H, W) bool: as many pixels as ``flagged`` holds, from superpixels of the (H, W)
    ``segments`` that touch no flagged pixel, taken whole in a random order, the last one cut
    (its first pixels in raster order) to match exactly; None when those superpixels are too few."""
    seg = segments.reshape(-1).numpy()
    flag = flagged.reshape(-1).numpy().astype(bool)
    need = int(flag.sum())
    touched = np.unique(seg[flag])
    free = np.setdiff1d(np.unique(seg), touched)
    out = np.zeros(seg.shape, dtype=bool)
    count = 0
    for sid in rng.permutation(free):
        if count == need:
            break
        pixels = np.flatnonzero(seg == sid)[: need - count]
        out[pixels] = True
        count += len(pixels)
    return torch.from_numpy(out.reshape(segments.shape)) if count == need else None


def matched_random_masks(segments: torch.Tensor, flagged: torch.Tensor, draws: int,
                         seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``draws`` random regions per image, each with the image's flagged pixel count.

    Args:
        segments: (N, H, W) superpixel ids; flagged: (N, H, W) bool.
        draws: regions per image; draw ``d`` of image ``i`` uses the generator of (seed, d, i).

    Returns:
        (D, N, H, W) bool regions (empty where unmatched) and (N,) bool: the images matched in
        every draw (an image matches in all draws or in none: it depends on counts only).
    """
    masks = torch.zeros((draws, *flagged.shape), dtype=torch.bool)
    matched = torch.ones(len(flagged), dtype=torch.bool)
    for i in range(len(flagged)):
        for d in range(draws):
            region = random_region(segments[i], flagged[i], np.random.default_rng([seed, d, i]))
            if region is None:
                matched[i] = False
                break
            masks[d, i] = region
    return masks, matched


def clean_correct(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                  batch_size: int, device: torch.device) -> torch.Tensor:
    """(N,) bool: classified correctly without attack."""
    out = []
    with model_mode(model, False), torch.inference_mode():
        for start in range(0, len(images), batch_size):
            x = images[start:start + batch_size].to(device)
            out.append(model(x).argmax(1).cpu() == labels[start:start + batch_size])
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.bool)


def confined_correct(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                     masks: torch.Tensor, correct: torch.Tensor, cfg: ConfinedConfig, seed: int,
                     device: torch.device) -> torch.Tensor:
    """(N,) bool: correct under PGD confined to the (N, H, W) ``masks``; images wrong without
    attack (``correct`` False) are not attacked and count as not robust."""
    attack = PGD(cfg.eps_255, cfg.eps_255 / 4, steps=cfg.steps, random_start=True,
                 restarts=cfg.restarts)
    out = torch.zeros(len(images), dtype=torch.bool)
    todo = correct.nonzero().squeeze(1)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        for start in range(0, len(todo), cfg.batch_size):
            idx = todo[start:start + cfg.batch_size]
            x, y = images[idx].to(device), labels[idx].to(device)
            x_adv = attack(model, x, y, mask=masks[idx, None].to(device))  # mask (n, 1, H, W)
            with model_mode(model, False), torch.inference_mode():
                out[idx] = (model(x_adv).argmax(1) == y).cpu()
    return out


def verdict(low: float, high: float) -> str:
    """Plain words for the interval [low, high] of ``random - flagged`` robust accuracy."""
    if low > 0:
        return VERDICTS[0]
    if high < 0:
        return VERDICTS[1]
    return VERDICTS[2]


def compare_region(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                   segments: torch.Tensor, flagged: torch.Tensor, correct: torch.Tensor,
                   cfg: ConfinedConfig, seed: int, device: torch.device) -> dict[str, Any]:
    """The flagged-vs-random comparison of one criterion's (N, H, W) ``flagged`` pixels."""
    has = flagged.flatten(1).any(1)
    random, matched = matched_random_masks(segments, flagged, cfg.draws, seed)
    keep = (has & matched).nonzero().squeeze(1)
    out: dict[str, Any] = {"n_images": len(keep), "n_no_flags": int((~has).sum()),
                           "n_unmatched": int((has & ~matched).sum())}
    if len(keep) == 0:
        return {**out, "verdict": VERDICTS[3]}
    x, y, ok = images[keep], labels[keep], correct[keep]
    flag = confined_correct(model, x, y, flagged[keep], ok, cfg, seed, device).numpy()
    rand = np.stack([confined_correct(model, x, y, random[d, keep], ok, cfg, seed + 1 + d,
                                      device).numpy() for d in range(cfg.draws)])  # (D, n)
    diff = paired_difference(rand.mean(0), flag, cfg.level, cfg.n_boot, seed)
    return {**out, "pixel_share": float(flagged[keep].float().mean()),
            "clean_accuracy": float(ok.float().mean()),
            "robust_accuracy_flagged": float(flag.mean()),
            "robust_accuracy_random": float(rand.mean()),
            "robust_accuracy_random_draws": rand.mean(1).tolist(),
            "difference": diff.diff, "low": diff.low, "high": diff.high, "level": diff.level,
            "verdict": VERDICTS[4] if _unbroken(ok, flag, rand) else verdict(diff.low, diff.high)}


def _unbroken(correct: torch.Tensor, flagged: np.ndarray, random: np.ndarray) -> bool:
    """True when neither attack turned a correct image wrong (an interval of 0 says nothing)."""
    clean = correct.numpy()
    return bool((flagged == clean).all() and (random == clean[None]).all())


def confined_comparison(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                        segments: torch.Tensor, flagged: Mapping[str, torch.Tensor],
                        cfg: ConfinedConfig, device: torch.device) -> dict[str, Any]:
    """Flagged-region vs matched random-region robust accuracy, per criterion.

    Args:
        images: (N, C, H, W) float32 in [0, 1]; labels: (N,) int64.
        segments: (N, H, W) superpixels of the images (those the miner used).
        flagged: criterion -> (N, H, W) bool pixels it flagged (e.g. the spurious set, or a
            planted cue as a known answer).

    Returns:
        ``config``, ``direction``, ``n_images`` and per criterion ``n_images`` compared,
        ``n_no_flags`` / ``n_unmatched`` left out, ``pixel_share``, ``clean_accuracy``, robust
        accuracy ``_flagged`` / ``_random`` (mean of draws, and per draw), ``difference`` with its
        interval ``low`` / ``high`` and a ``verdict`` (see :data:`VERDICTS`).
    """
    out: dict[str, Any] = {"enabled": cfg.enabled, "config": asdict(cfg), "direction": DIRECTION}
    if not cfg.enabled:
        return {**out, "n_images": 0, "criteria": {}}
    k = len(images) if cfg.max_images is None else min(cfg.max_images, len(images))
    images, labels, segments = images[:k].float(), labels[:k].long(), segments[:k]
    correct = clean_correct(model, images, labels, cfg.batch_size, device)
    criteria = {name: compare_region(model, images, labels, segments, mask[:k].bool(), correct,
                                     cfg, cfg.seed + 1000 * j, device)
                for j, (name, mask) in enumerate(flagged.items())}
    return {**out, "n_images": k, "clean_accuracy": float(correct.float().mean()) if k else None,
            "criteria": criteria}
