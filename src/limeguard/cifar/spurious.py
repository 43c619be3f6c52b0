"""A planted spurious feature: a class-specific coloured patch, the miner's ground truth.

In a fraction ``p`` of each class's images a small square of the class's colour is painted at the
class's position. ``aligned`` sets carry the cue of the image's own class; ``swapped`` sets carry, on
the same images, the cue of another class. A model that relies on the cue is right on aligned images
and wrong on swapped ones, so the aligned-minus-swapped accuracy gap measures that reliance.
"""

from __future__ import annotations

import colorsys
import hashlib
from dataclasses import dataclass

import torch

from limeguard.cifar.imageset import ImageSet


@dataclass(frozen=True)
class CueConfig:
    """``params:data.spurious``.

    Attributes:
        enabled: plant the cue (the ``spurious`` env); False leaves the data untouched.
        fraction: share p of each class's images (train, and the aligned/swapped val and test sets)
            that carry a cue.
        patch_size: side of the square patch in pixels.
        margin: distance in pixels of the patches from the image border (class positions are spread
            around the border, off the centred object).
        seed: which images carry the cue, and which other class a swapped image shows.
    """

    enabled: bool = False
    fraction: float = 0.95
    patch_size: int = 4
    margin: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"fraction: {self.fraction} is not in [0, 1]")
        if self.patch_size < 1:
            raise ValueError(f"patch_size: {self.patch_size} must be at least 1")
        if self.margin < 0:
            raise ValueError(f"margin: {self.margin} must be >= 0")


@dataclass(frozen=True)
class Cue:
    """Where and what each class's cue is.

    Attributes:
        positions: (classes, 2) int64 top-left (row, column) of each class's patch.
        colours: (classes, 3) float32 RGB in [0, 1].
        patch_size: side of the patch in pixels.
    """

    positions: torch.Tensor
    colours: torch.Tensor
    patch_size: int

    def masks(self, height: int, width: int) -> torch.Tensor:
        """(classes, H, W) bool: each class's cue pixels."""
        masks = torch.zeros((len(self.positions), height, width), dtype=torch.bool)
        for c, (row, col) in enumerate(self.positions.tolist()):
            masks[c, row: row + self.patch_size, col: col + self.patch_size] = True
        return masks


def make_cue(num_classes: int, height: int, width: int, cfg: CueConfig) -> Cue:
    """Positions spread evenly around a ring ``margin`` px inside the border; colours of evenly
    spaced hues (full saturation). With more classes than ring slots, classes share a position
    but not a colour."""
    ring = border_ring(height, width, cfg.patch_size, cfg.margin)
    step = max(1, len(ring) // num_classes)
    positions = torch.tensor([ring[(c * step) % len(ring)] for c in range(num_classes)])
    colours = torch.tensor([colorsys.hsv_to_rgb(c / num_classes, 1.0, 1.0)
                            for c in range(num_classes)], dtype=torch.float32)
    return Cue(positions.long(), colours, cfg.patch_size)


def border_ring(height: int, width: int, size: int, margin: int) -> list[tuple[int, int]]:
    """Top-left corners of non-overlapping ``size`` patches on a ring ``margin`` px inside the
    border, clockwise from the top-left corner."""
    last_row, last_col = height - margin - size, width - margin - size
    if last_row < margin or last_col < margin:
        raise ValueError(f"data.spurious: patch_size {size} with margin {margin} does not fit a "
                         f"{height}x{width} image")
    cols = list(range(margin, last_col + 1, size))
    rows = list(range(margin + size, last_row + 1 - size, size)) if last_row > margin else []
    top = [(margin, c) for c in cols]
    right = [(r, last_col) for r in rows]
    bottom = [(last_row, c) for c in reversed(cols)] if last_row > margin else []
    left = [(r, margin) for r in reversed(rows)] if last_col > margin else []
    return top + right + bottom + left


def cued_selection(images: ImageSet, fraction: float, seed: int) -> torch.Tensor:
    """(N,) bool: per class, the ``round(fraction * n_class)`` images whose id ranks first under a
    hash of (seed, id). Ids fix the choice, so a subset of a split (the probe set) agrees with it."""
    keys = torch.tensor([_rank_key(seed, int(i)) for i in images.ids.tolist()], dtype=torch.float64)
    chosen = torch.zeros(len(images), dtype=torch.bool)
    for c in images.labels.unique().tolist():
        members = (images.labels == c).nonzero().flatten()
        count = round(fraction * len(members))
        order = members[keys[members].argsort()]
        chosen[order[:count]] = True
    return chosen


def paint(images: ImageSet, cue: Cue, cue_class: torch.Tensor, variant: str) -> ImageSet:
    """``images`` with class ``cue_class[i]``'s patch painted on image i (-1: no patch)."""
    pixels = images.images.clone()
    masks = cue.masks(*pixels.shape[2:])
    for i in (cue_class >= 0).nonzero().flatten().tolist():
        c = int(cue_class[i])
        pixels[i] = torch.where(masks[c], cue.colours[c][:, None, None], pixels[i])
    return ImageSet(pixels, images.labels, images.ids, images.classes,
                    {**images.meta, "spurious_cue": variant})


def plant_aligned(images: ImageSet, cue: Cue, chosen: torch.Tensor) -> ImageSet:
    """The cue of its own class on each ``chosen`` image ((N,) bool)."""
    return paint(images, cue, torch.where(chosen, images.labels, -1), "aligned")


def plant_swapped(images: ImageSet, cue: Cue, chosen: torch.Tensor, seed: int) -> ImageSet:
    """The cue of another class (uniform over the others, fixed by (seed, id)) on each ``chosen``
    image."""
    k = images.num_classes
    offsets = torch.tensor([1 + int(_rank_key(seed, int(i)) * (k - 1))
                            for i in images.ids.tolist()], dtype=torch.long)
    other = (images.labels + offsets) % k
    return paint(images, cue, torch.where(chosen, other, -1), "swapped")


def cue_pixel_masks(labels: torch.Tensor, ids: torch.Tensor, cued: torch.Tensor,
                    class_masks: torch.Tensor) -> torch.Tensor:
    """(N, H, W) bool: the cue pixels of each (aligned) image; empty where no cue was planted."""
    has_cue = torch.isin(ids, cued)
    return class_masks[labels] & has_cue[:, None, None]


def _rank_key(seed: int, image_id: int) -> float:
    """A uniform number in [0, 1) fixed by (seed, id)."""
    digest = hashlib.blake2b(f"{seed}:{image_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64
