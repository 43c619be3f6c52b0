"""The transplant test: does a region the model relies on move images of other classes toward its
class? A shortcut (a cue that means the class wherever it appears) does; a piece of the object,
out of its context, mostly does not.

For image i of class c, with "rise" the rise of log p_c (``effect: log_prob``, nats of evidence
for c) or of p_c (``effect: prob``) on a recipient:

- screen: every superpixel is pasted, at the same place, onto ``screen_recipients`` images of
  other classes; the ``top_k`` with the largest positive mean rise are the candidates (the regions
  the model relies on for c);
- effect: each candidate is pasted onto ``recipients`` images of other classes;
- null, null2: the same region cut from donor images of other classes (two donors per recipient)
  is pasted onto the same recipients: what covering that region does to p_c whatever it shows
  (e.g. hiding the recipient's own shortcut);
- score: the median over recipients of effect - (null + null2) / 2, what the region's own content
  does, paired on the same recipients. The median, not the mean: covering one recipient's own cue
  moves it by several nats, and a mean lets that one recipient decide;
- calibration: the median of null2 - null is the score of other-class content; a candidate is
  flagged when its score exceeds ``max(min_effect, null_quantile of that null score over all
  candidates)``. Calibrated against pasting other content, not a quantile of the scores, so a
  model without a shortcut gets few or no flags.

Log-probabilities by default: a recipient's own evidence (e.g. its own shortcut) caps how far p_c
can rise, so on the CIFAR benchmark's AT model the rise of p_c missed the weaker cues (recall
0.86), while the evidence a cue adds is about the same on every recipient (recall 0.99).

The screen, not LIME's weights, is the reliance filter: lime's fill (a superpixel's mean colour)
leaves a flat-coloured superpixel unchanged, so a flat patch cut out by SLIC gets a LIME weight of
about zero however much the model relies on it (measured on the synthetic planted problem of the
tests: about half of the cues were outside the top 5 LIME weights).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from limeguard.attacks.pgd import model_mode
from limeguard.explain.attributions import check_finite, quantile_threshold
from limeguard.explain.config import LimeConfig, TransplantConfig


@dataclass(frozen=True)
class TransplantScores:
    """Per superpixel (N, F): ``screen`` (mean rise of (log) p_c on the screening recipients, NaN
    on padding), ``effect``, ``null`` and ``null2`` (median rise over all recipients: own content,
    the first or the second donors'), ``score`` (median of effect - (null + null2) / 2; these four
    NaN where not a candidate), ``candidate`` and ``flag`` (bool); ``threshold`` the calibrated
    threshold of the score."""

    screen: torch.Tensor
    effect: torch.Tensor
    null: torch.Tensor
    null2: torch.Tensor
    score: torch.Tensor
    candidate: torch.Tensor
    flag: torch.Tensor
    threshold: float


def top_candidates(screen: torch.Tensor, valid: torch.Tensor, top_k: int) -> torch.Tensor:
    """(N, F) bool: each image's ``top_k`` superpixels by screening effect, positive ones only."""
    if screen.shape[1] == 0:
        return torch.zeros_like(valid)
    scored = torch.where(valid & (screen > 0), screen, torch.full_like(screen, -np.inf))
    top = scored.topk(min(top_k, screen.shape[1]), dim=1).indices
    chosen = torch.zeros_like(valid).scatter_(1, top, True)
    return chosen & torch.isfinite(scored)


def partners(labels: torch.Tensor, image_ids: Sequence[object], cfg: TransplantConfig,
             seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(N, R) recipient and two (N, R) donor indices, images of classes other than each image's,
    drawn from a generator of (seed, image_id).

    The recipients are distinct; recipient k and its two donors are three different images (the
    second donors are fresh images when there are more than 2R images of other classes). Needs
    R + 2 of them.
    """
    labels_np = labels.numpy()
    r = cfg.recipients
    out = np.empty((3, len(labels), r), np.int64)
    for i, image_id in enumerate(image_ids):
        pool = np.flatnonzero(labels_np != labels_np[i])
        key = zlib.crc32(f"transplant:{image_id}".encode())
        order = np.random.default_rng([int(seed) % 2**32, key]).permutation(pool)
        # slot k takes offsets 0, r and 2r (or r + 1 when fewer than 2r + 1): distinct mod len
        second = 2 * r if len(order) > 2 * r else r + 1
        k = np.arange(r)
        out[:, i] = order[k], order[(r + k) % len(order)], order[(second + k) % len(order)]
    return torch.from_numpy(out[0]), torch.from_numpy(out[1]), torch.from_numpy(out[2])


def class_scores(model: nn.Module, images: torch.Tensor, cfg: LimeConfig, device: torch.device,
                 log: bool) -> torch.Tensor:
    """(N, classes) float32 log-softmax (``log``) or softmax of ``model`` on (N, C, H, W) images,
    in chunks of ``cfg.chunk_size``."""
    out = [_softmax(model, images[s: s + cfg.chunk_size].to(device), cfg, log).cpu()
           for s in range(0, len(images), cfg.chunk_size)]
    return torch.cat(out) if out else torch.zeros((0, 0))


def pasted_scores(model: nn.Module, images: torch.Tensor, segments: torch.Tensor,
                  tasks: torch.Tensor, cfg: LimeConfig, device: torch.device,
                  log: bool) -> torch.Tensor:
    """(T,) log p_class (``log``) or p_class of each pasted image: ``tasks`` (T, 5) int64 rows
    ``(recipient, source, image, segment, class)``: image ``source``'s pixels on superpixel
    ``segment`` of image ``image`` pasted onto image ``recipient``."""
    out = torch.empty(len(tasks), dtype=torch.float32)
    for s in range(0, len(tasks), cfg.chunk_size):
        rec, src, img, seg, cls = tasks[s: s + cfg.chunk_size].T
        region = (segments[img] == seg[:, None, None])[:, None]  # (L, 1, H, W)
        x = torch.where(region, images[src], images[rec])        # (L, C, H, W)
        scores = _softmax(model, x.to(device), cfg, log).cpu()
        out[s: s + len(x)] = scores.gather(1, cls[:, None])[:, 0]
    return out


@dataclass(frozen=True)
class _Paster:
    """What every batch of pastes shares: the model, the images and their base scores (N, K)."""

    model: nn.Module
    images: torch.Tensor
    labels: torch.Tensor
    segments: torch.Tensor
    base: torch.Tensor
    image_ids: Sequence[object]
    lime: LimeConfig
    device: torch.device
    log: bool

    def rise(self, img: torch.Tensor, seg: torch.Tensor, recipients: torch.Tensor,
             sources: torch.Tensor | None = None) -> torch.Tensor:
        """(P, R) rise of (log) p_label(img) on each of the (P, R) ``recipients`` when superpixel
        ``seg`` of image ``img`` is pasted from image ``img`` (or from the (P, R) ``sources``)."""
        r = recipients.shape[1]
        src = img[:, None].expand(-1, r) if sources is None else sources
        cls = self.labels[img]
        tasks = torch.stack([recipients, src, *(t[:, None].expand(-1, r) for t in (img, seg, cls))],
                            -1).reshape(-1, 5)  # (P * R, 5)
        pasted = pasted_scores(self.model, self.images, self.segments, tasks, self.lime,
                               self.device, self.log).reshape(len(img), r)
        check_finite(pasted, [self.image_ids[i] for i in img.tolist()])
        return pasted - self.base[recipients, cls[:, None]]


def transplant_scores(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                      segments: torch.Tensor, valid: torch.Tensor, image_ids: Sequence[object],
                      cfg: TransplantConfig, lime: LimeConfig, seed: int,
                      device: torch.device, floor: float = 0.0) -> TransplantScores:
    """Screen every superpixel, then test each image's ``top_k`` against the null; flag them.

    Args:
        images: (N, C, H, W) float32 in [0, 1]; labels: (N,); segments: (N, H, W) int64;
        valid: (N, F) bool, the superpixels to screen (not padding; an image without any is
            only a recipient or donor).
        floor: the threshold is at least this (e.g. the probe set's, when searching every image).
    """
    recipients, donors, donors2 = partners(labels, image_ids, cfg, seed)
    with model_mode(model, False), torch.inference_mode():
        log = cfg.effect == "log_prob"
        base = class_scores(model, images, lime, device, log)
        check_finite(base, image_ids)
        paster = _Paster(model, images, labels, segments, base, image_ids, lime, device, log)
        img, seg = valid.nonzero(as_tuple=True)
        screen = _scatter(valid.shape, img, seg,
                          paster.rise(img, seg, recipients[img, : cfg.screen_recipients]).mean(1))
        chosen = top_candidates(screen, valid, cfg.top_k)
        img, seg = chosen.nonzero(as_tuple=True)
        effect = paster.rise(img, seg, recipients[img])  # (P, R) each
        null = paster.rise(img, seg, recipients[img], donors[img])
        null2 = paster.rise(img, seg, recipients[img], donors2[img])
    score = _median(effect - (null + null2) / 2)
    calibration = _median(null2 - null)  # the score of other-class content
    threshold = max(cfg.min_effect, floor, quantile_threshold(calibration, cfg.null_quantile)
                    if len(img) else cfg.min_effect)
    maps = [_scatter(valid.shape, img, seg, v)
            for v in (_median(effect), _median(null), _median(null2), score)]
    return TransplantScores(screen, *maps, chosen, chosen & (maps[3] > threshold),
                            float(threshold))


def _median(rises: torch.Tensor) -> torch.Tensor:
    """(P,) median over recipients of (P, R) rises (mean of the two middle ones for even R)."""
    if rises.shape[1] == 0 or rises.shape[0] == 0:
        return torch.zeros(rises.shape[0])
    return rises.float().quantile(0.5, dim=1)


def _scatter(shape: torch.Size, img: torch.Tensor, seg: torch.Tensor,
             values: torch.Tensor) -> torch.Tensor:
    out = torch.full(tuple(shape), float("nan"))
    out[img, seg] = values
    return out


def _softmax(model: nn.Module, x: torch.Tensor, cfg: LimeConfig, log: bool) -> torch.Tensor:
    if cfg.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    logits = model(x).float()
    out = torch.log_softmax(logits, 1) if log else torch.softmax(logits, 1)
    out[~torch.isfinite(logits).all(1)] = float("nan")  # keep an inf visible to check_finite
    return out
