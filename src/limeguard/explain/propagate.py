"""A found shortcut's content, carried to the images where the search did not flag it.

The search (``explain.transfer``) flags a region where the model relies on it. A cue the model
uses weakly, or on only some images, is then flagged on some images of its class and missed on
the others, though its pixels are the same there: a watermark, a logo, a tag, decoy MNIST's
swatch. ``propagate_masks`` takes what recurs: the k x k windows inside the found regions whose
content (within ``tolerance`` per pixel and channel) appears in the found regions of at least
``min_images`` images of the class, and that occur on the class's images at least ``contrast``
times as often as on other classes' images (a shortcut is tied to its class; sky, flat white or
a dark corner are not). Every image of the class where such a window occurs gets it masked.
Content that differs from image to image (a natural object, a varying texture) never recurs,
so it is left to the search.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from limeguard.config import check_fraction, check_int_range, check_real_range, check_seed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PropagateConfig:
    """``params:mine.transfer.propagate``.

    Attributes:
        enabled: carry recurring found content to every image of its class.
        window: side of the compared windows, in pixels (a cue smaller than this is not carried).
        tolerance: largest per-pixel, per-channel difference of a match, in [0, 1] pixels.
        min_images: found images of the class a window's content must recur in.
        contrast: how many times more often (per image) a kept content occurs in its class than
            in the other classes.
        candidates: most windows of a class drawn from its found regions (seeded).
        reference_images: most other-class images its contrast is measured on (seeded).
        seed: the draws above.
    """

    enabled: bool = True
    window: int = 3
    tolerance: float = 0.02
    min_images: int = 3
    contrast: float = 5.0
    candidates: int = 2048
    reference_images: int = 512
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise ValueError(f"enabled: must be true or false, got {self.enabled!r}")
        check_int_range("window", self.window, 1, 16)
        check_fraction("tolerance", self.tolerance)
        check_int_range("min_images", self.min_images, 2)
        check_real_range("contrast", self.contrast, 1.0)
        check_int_range("candidates", self.candidates, 1)
        check_int_range("reference_images", self.reference_images, 1)
        check_seed("seed", self.seed)


def propagate_masks(images: torch.Tensor, labels: torch.Tensor, found: torch.Tensor,
                    classes: torch.Tensor, cfg: PropagateConfig) -> torch.Tensor:
    """(N, H, W) bool: ``found`` with, on each image of ``classes``, the windows whose content
    recurs in the class's found regions (module docstring).

    Args:
        images: (N, C, H, W) float in [0, 1]; labels: (N,); found: (N, H, W) bool, the search's
            masks; classes: the classes to carry content within.
    """
    out = found.clone()
    if not cfg.enabled or images.shape[-1] < cfg.window or images.shape[-2] < cfg.window:
        return out
    g = torch.Generator().manual_seed(cfg.seed)
    for c in classes.tolist():
        candidates = _recurring(images, labels, found, c, cfg, g)
        if not len(candidates):
            continue
        members = (labels == c).nonzero().flatten()
        hits = _window_hits(images[members], candidates, cfg)  # (M, L, P), reused below
        tied = _tied(hits, images, labels, c, candidates, cfg, g)
        out[members] |= _covered(hits[:, :, tied].any(2), images.shape[-2:], cfg.window)
    log.info("mask propagation: %d images newly masked",
             int((out.flatten(1).any(1) & ~found.flatten(1).any(1)).sum()))
    return out


def _windows(images: torch.Tensor, k: int) -> torch.Tensor:
    """(N, L, C*k*k): every k x k window of each image (no padding)."""
    return F.unfold(images.float(), k).transpose(1, 2)


def _inside(masks: torch.Tensor, k: int) -> torch.Tensor:
    """(N, L) bool: the windows lying wholly inside ``masks`` (N, H, W)."""
    return F.unfold(masks[:, None].float(), k).amin(1) > 0


def _recurring(images: torch.Tensor, labels: torch.Tensor, found: torch.Tensor, c: int,
               cfg: PropagateConfig, g: torch.Generator) -> torch.Tensor:
    """(P, C*k*k) the class's found contents that recur in ``min_images`` of its found images."""
    k, empty = cfg.window, torch.zeros((0, images.shape[1] * cfg.window ** 2))
    mine = ((labels == c) & found.flatten(1).any(1)).nonzero().flatten()
    if len(mine) < cfg.min_images:
        return empty
    windows, inside = _windows(images[mine], k), _inside(found[mine], k)
    owner = torch.arange(len(mine))[:, None].expand_as(inside)[inside]
    pool = windows[inside]
    pick = torch.randperm(len(pool), generator=g)[: cfg.candidates]
    close = _close(pool[pick], pool, cfg.tolerance)  # (Q, R)
    seen = torch.zeros((len(pick), len(mine)), dtype=torch.bool)
    seen.index_put_((torch.arange(len(pick))[:, None].expand_as(close)[close],
                     owner[None, :].expand_as(close)[close]), torch.tensor(True))
    return _distinct(pool[pick][seen.sum(1) >= cfg.min_images], cfg.tolerance)


def _tied(hits: torch.Tensor, images: torch.Tensor, labels: torch.Tensor, c: int,
          candidates: torch.Tensor, cfg: PropagateConfig, g: torch.Generator) -> torch.Tensor:
    """(P,) bool: the candidates occurring ``contrast`` times as often on the class's images
    (``hits``) as on drawn images of the other classes."""
    own = hits.any(1).float().mean(0)
    others = (labels != c).nonzero().flatten()
    others = others[torch.randperm(len(others), generator=g)[: cfg.reference_images]]
    elsewhere = (_window_hits(images[others], candidates, cfg).any(1).float().mean(0)
                 if len(others) else torch.zeros(len(own)))
    return own >= cfg.contrast * elsewhere.clamp_min(1.0 / max(len(others), 1))


def _close(queries: torch.Tensor, pool: torch.Tensor, tolerance: float) -> torch.Tensor:
    """(Q, R) bool: L-infinity distance at most ``tolerance``, in chunks of queries."""
    if not len(queries):
        return torch.zeros((0, len(pool)), dtype=torch.bool)
    return torch.cat([torch.cdist(q, pool, p=float("inf")) <= tolerance + 1e-6
                      for q in queries.split(256)])


def _distinct(contents: torch.Tensor, tolerance: float) -> torch.Tensor:
    """One representative of each group of contents within ``tolerance`` of each other (greedy)."""
    kept: list[torch.Tensor] = []
    for row in contents:
        if not kept or not bool(_close(row[None], torch.stack(kept), tolerance).any()):
            kept.append(row)
    return torch.stack(kept) if kept else contents[:0]


def _window_hits(images: torch.Tensor, candidates: torch.Tensor,
                 cfg: PropagateConfig) -> torch.Tensor:
    """(N, L, P) bool: which windows of ``images`` match which candidate."""
    return torch.stack([_close(w, candidates, cfg.tolerance) for w in _windows(images, cfg.window)])


def _covered(hits: torch.Tensor, size: tuple[int, int], k: int) -> torch.Tensor:
    """(N, H, W) bool: the pixels of every window with a hit (``hits`` (N, L))."""
    columns = hits.float()[:, None, :].expand(-1, k * k, -1).contiguous()
    return F.fold(columns, tuple(size), k)[:, 0] > 0
