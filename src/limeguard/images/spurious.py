"""A planted spurious feature: a class-specific patch, the miner's ground truth.

In a fraction ``p`` of each class's images a small square of the class's content (a flat colour or a
fixed texture) is painted at the class's position (round the border, or inside the centred object
region), or in one of the four corners chosen per image (``corners``: a shortcut that moves, as in
decoy MNIST). ``aligned`` sets carry the cue of the image's own class; ``swapped`` sets carry, on the same
images, the cue of another class. A model that relies on the cue is right on aligned images and
wrong on swapped ones, so the aligned-minus-swapped accuracy gap measures that reliance.
"""

from __future__ import annotations

import colorsys
import hashlib
from dataclasses import dataclass
from typing import Any

import torch

from limeguard.config import ConfigError, check_seed
from limeguard.images.imageset import ImageSet
from limeguard.safetensors_io import META_KEY

PLACEMENTS = ("border", "object", "corners")
CONTENTS = ("flat", "texture")
CIFAR_SIDE = 32  # CIFAR-10 and CIFAR-100 images are 32x32: configs are checked against it at parse


@dataclass(frozen=True)
class CueConfig:
    """``params:data.spurious``.

    Attributes:
        enabled: plant the cue (the ``spurious`` envs); False leaves the data untouched.
        fraction: share p of each class's images (train, and the aligned/swapped val and test sets)
            that carry a cue.
        patch_size: side of the square patch in pixels.
        margin: ``border`` and ``corners`` placements: distance in pixels of the patches from the
            image border.
        seed: which images carry the cue, which other class a swapped image shows, and the textures.
        placement: ``border`` (class positions spread round a ring ``margin`` px inside the
            border, off the centred object), ``object`` (a grid of non-overlapping slots inside
            the centred box where CIFAR objects are) or ``corners`` (each cued image's patch in
            one of the four corners, ``margin`` px in, the corner fixed by (seed, image id)).
        object_box: ``object`` placement: side of the centred box, as a share of the image side.
        content: ``flat`` (a square of the class's colour) or ``texture`` (a fixed, class-specific
            random pattern whose pixels vary inside the patch).
    """

    enabled: bool = False
    fraction: float = 0.95
    patch_size: int = 4
    margin: int = 1
    seed: int = 0
    placement: str = "border"
    object_box: float = 0.5
    content: str = "flat"

    def __post_init__(self) -> None:
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"fraction: {self.fraction} is not in [0, 1]")
        if self.patch_size < 1:
            raise ValueError(f"patch_size: {self.patch_size} must be at least 1")
        if self.margin < 0:
            raise ValueError(f"margin: {self.margin} must be >= 0")
        check_seed("seed", self.seed)
        if self.placement not in PLACEMENTS:
            raise ValueError(f"placement: unknown placement {self.placement!r}; use {PLACEMENTS}")
        if self.content not in CONTENTS:
            raise ValueError(f"content: unknown content {self.content!r}; use {CONTENTS}")
        if not 0.0 < self.object_box <= 1.0:
            raise ValueError(f"object_box: {self.object_box} is not in (0, 1]")
        if self.content == "texture" and self.patch_size < 2:
            raise ValueError(f"patch_size: a texture needs at least 2 px a side, got {self.patch_size}")
        cue_slots(CIFAR_SIDE, CIFAR_SIDE, self)  # refuse a layout that does not fit, at parse


@dataclass(frozen=True)
class Cue:
    """Where and what each class's cue is.

    Attributes:
        positions: (classes, 2) int64 top-left (row, column) of each class's patch (``corners``:
            -1, the position is the image's).
        colours: (classes, 3) float32 RGB in [0, 1]: each class's colour (``texture``: the mean
            colour of its pattern).
        patterns: (classes, 3, P, P) float32 in [0, 1]: the pixels painted (``flat``: the colour
            repeated).
        corners: ``corners`` placement: (4, 2) int64 top-left of the corner slots, else None.
        seed: which corner each image's patch takes (``corners``).
    """

    positions: torch.Tensor
    colours: torch.Tensor
    patterns: torch.Tensor
    corners: torch.Tensor | None = None
    seed: int = 0

    @property
    def patch_size(self) -> int:
        """Side P of the patch in pixels."""
        return int(self.patterns.shape[-1])

    def masks(self, height: int, width: int) -> torch.Tensor:
        """(classes, H, W) bool: the pixels where each class's cue can sit (``corners``: all four
        corners)."""
        slots = self.positions[:, None] if self.corners is None else \
            self.corners[None].expand(len(self.positions), -1, -1)
        return square_masks(slots, self.patch_size, height, width).any(1)

    def image_positions(self, cue_class: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """(N, 2) top-left of the patch of class ``cue_class[i]`` on image ``ids[i]``."""
        if self.corners is None:
            return self.positions[cue_class.clamp_min(0)]
        return self.corners[corner_index(self.seed, ids)]


def corner_index(seed: int, ids: torch.Tensor) -> torch.Tensor:
    """(N,) int64 in [0, 4): the corner of each image id's patch, fixed by (seed, id)."""
    return torch.tensor([int(_rank_key(seed, int(i), "corner") * 4) for i in ids.tolist()],
                        dtype=torch.long)


def square_masks(positions: torch.Tensor, size: int, height: int, width: int) -> torch.Tensor:
    """(..., H, W) bool: a ``size`` square at each (..., 2) top-left position."""
    rows = torch.arange(height).view(*([1] * (positions.ndim - 1)), height, 1)
    cols = torch.arange(width).view(*([1] * (positions.ndim - 1)), 1, width)
    top, left = positions[..., 0, None, None], positions[..., 1, None, None]
    return (rows >= top) & (rows < top + size) & (cols >= left) & (cols < left + size)


def make_cue(num_classes: int, height: int, width: int, cfg: CueConfig) -> Cue:
    """Positions spread evenly over the placement's slots; colours of evenly spaced hues (full
    saturation), or seeded per-class textures. With more classes than slots, classes share a
    position but not a colour or texture.

    Raises:
        ConfigError: the patch, margin or box does not fit a ``height`` x ``width`` image (the
            message names the key ``data.spurious.<key>``).
    """
    try:
        slots = cue_slots(height, width, cfg)
    except ValueError as err:
        raise ConfigError(f"data.spurious.{err}") from err
    step = max(1, len(slots) // num_classes)
    positions = torch.tensor([slots[(c * step) % len(slots)] for c in range(num_classes)])
    corners = torch.tensor(slots) if cfg.placement == "corners" else None
    if corners is not None:
        positions = torch.full_like(positions, -1)
    colours = torch.tensor([colorsys.hsv_to_rgb(c / num_classes, 1.0, 1.0)
                            for c in range(num_classes)], dtype=torch.float32)
    size = cfg.patch_size
    if cfg.content == "flat":
        patterns = colours[:, :, None, None].expand(-1, -1, size, size).clone()
    else:
        patterns = torch.stack([_texture(cfg.seed, c, size) for c in range(num_classes)])
        colours = patterns.mean(dim=(2, 3))
    return Cue(positions.long(), colours, patterns, corners, cfg.seed)


def cue_slots(height: int, width: int, cfg: CueConfig) -> list[tuple[int, int]]:
    """Top-left corners of the non-overlapping patch slots of ``cfg.placement``.

    Raises:
        ValueError: the layout does not fit; the message starts with the key to change.
    """
    if cfg.patch_size > min(height, width):
        raise ValueError(f"patch_size: {cfg.patch_size} does not fit a {height}x{width} image")
    if cfg.placement == "object":
        return object_grid(height, width, cfg.patch_size, cfg.object_box)
    if cfg.placement == "corners":
        return four_corners(height, width, cfg.patch_size, cfg.margin)
    return border_ring(height, width, cfg.patch_size, cfg.margin)


def four_corners(height: int, width: int, size: int, margin: int) -> list[tuple[int, int]]:
    """Top-left corners of ``size`` patches ``margin`` px inside each corner: top-left, top-right,
    bottom-left, bottom-right."""
    last_row, last_col = height - margin - size, width - margin - size
    if last_row < margin + size or last_col < margin + size:
        raise ValueError(f"margin: four {size}x{size} corner patches with margin {margin} do not "
                         f"fit a {height}x{width} image without overlapping")
    return [(margin, margin), (margin, last_col), (last_row, margin), (last_row, last_col)]


def border_ring(height: int, width: int, size: int, margin: int) -> list[tuple[int, int]]:
    """Top-left corners of non-overlapping ``size`` patches on a ring ``margin`` px inside the
    border, clockwise from the top-left corner."""
    last_row, last_col = height - margin - size, width - margin - size
    if last_row < margin or last_col < margin:
        raise ValueError(f"margin: patch_size {size} with margin {margin} does not fit a "
                         f"{height}x{width} image")
    cols = list(range(margin, last_col + 1, size))
    rows = list(range(margin + size, last_row + 1 - size, size)) if last_row > margin else []
    top = [(margin, c) for c in cols]
    right = [(r, last_col) for r in rows]
    bottom = [(last_row, c) for c in reversed(cols)] if last_row > margin else []
    left = [(r, margin) for r in reversed(rows)] if last_col > margin else []
    return top + right + bottom + left


def object_grid(height: int, width: int, size: int, box: float) -> list[tuple[int, int]]:
    """Top-left corners of a grid of non-overlapping ``size`` patches centred in the centred box
    of side ``box`` x the image side (row-major)."""
    box_h, box_w = round(box * height), round(box * width)
    rows, cols = box_h // size, box_w // size
    if rows < 1 or cols < 1:
        raise ValueError(f"object_box: a centred {box_h}x{box_w} box ({box} of a {height}x{width} "
                         f"image) holds no {size}x{size} patch")
    top = (height - box_h) // 2 + (box_h - rows * size) // 2
    left = (width - box_w) // 2 + (box_w - cols * size) // 2
    return [(top + r * size, left + c * size) for r in range(rows) for c in range(cols)]


def _texture(seed: int, cls: int, size: int) -> torch.Tensor:
    """(3, size, size) float32 in [0, 1): class ``cls``'s pattern, uniform noise fixed by (seed,
    class)."""
    digest = hashlib.blake2b(f"texture:{seed}:{cls}".encode(), digest_size=8).digest()
    generator = torch.Generator().manual_seed(int.from_bytes(digest, "big") >> 1)
    return torch.rand((3, size, size), generator=generator)


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
    """``images`` with class ``cue_class[i]``'s patch painted on image i (-1: no patch); on
    grayscale images the patch's luma (ITU-R 601) is painted."""
    pixels = images.images.clone()
    size = cue.patch_size
    patterns = cue.patterns if pixels.shape[1] == 3 else luma(cue.patterns)
    positions = cue.image_positions(cue_class, images.ids)
    for i in (cue_class >= 0).nonzero().flatten().tolist():
        c = int(cue_class[i])
        row, col = positions[i].tolist()
        pixels[i, :, row: row + size, col: col + size] = patterns[c]
    return ImageSet(pixels, images.labels, images.ids, images.classes,
                    {**images.meta, "spurious_cue": variant})


def luma(patterns: torch.Tensor) -> torch.Tensor:
    """(K, 3, P, P) RGB -> (K, 1, P, P) gray, 0.299 R + 0.587 G + 0.114 B."""
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=patterns.dtype).view(1, 3, 1, 1)
    return (patterns * weights).sum(1, keepdim=True)


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


def cue_record(cue: Cue, cfg: CueConfig, train: ImageSet, test: ImageSet,
               train_chosen: torch.Tensor, test_chosen: torch.Tensor) -> dict[str, Any]:
    """The planted cue as data: its class masks, colours and patterns, which training and test
    images carry it, where (``corners``: each image's corner is a function of its id, see
    :func:`cue_pixel_masks`), and the settings that planted it (``META_KEY``)."""
    moving = {} if cue.corners is None else {"corners": cue.corners}
    return {"class_masks": cue.masks(*train.images.shape[2:]).to(torch.uint8),
            "positions": cue.positions, "colours": cue.colours, "patterns": cue.patterns,
            "train_cued_ids": train.ids[train_chosen],
            "test_cued_ids": test.ids[test_chosen], **moving,
            META_KEY: {"fraction": cfg.fraction, "patch_size": cfg.patch_size,
                       "seed": cfg.seed, "placement": cfg.placement, "content": cfg.content,
                       "margin": cfg.margin, "object_box": cfg.object_box,
                       "classes": list(train.classes)}}


def cue_pixel_masks(record: dict[str, Any], labels: torch.Tensor, ids: torch.Tensor,
                    cued: torch.Tensor | None) -> torch.Tensor:
    """(N, H, W) bool: each (aligned) image's own cue pixels, from the planted cue's ``record``.

    Args:
        cued: ids of the images that carry the cue (e.g. ``record["train_cued_ids"]``); the
            others get empty masks. None: every image, where its cue would sit.
    """
    if "corners" in record:
        height, width = record["class_masks"].shape[-2:]
        positions = record["corners"][corner_index(int(record[META_KEY]["seed"]), ids)]
        masks = square_masks(positions.long(), int(record["patterns"].shape[-1]), height, width)
    else:
        masks = record["class_masks"].bool()[labels.long()]
    if cued is not None:
        masks &= torch.isin(ids, cued)[:, None, None]
    return masks


def _rank_key(seed: int, image_id: int, purpose: str = "") -> float:
    """A uniform number in [0, 1) fixed by (seed, id) (and ``purpose``, for a second draw)."""
    key = f"{seed}:{image_id}" if not purpose else f"{purpose}:{seed}:{image_id}"
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64
