"""Decoy Fashion-MNIST (Ross et al. 2017, dtak/rrr ``decoy_mnist.py``; Friedrich et al. 2023).

A 4x4 swatch sits in one of the four corners of every image (the corner fixed per image id, as
the ``corners`` placement of :mod:`limeguard.images.spurious`, whose corner machinery this reuses);
its shade is ``255 - 25 * y`` (y the label) in the training images and ``255 - 25 * r`` in the test
images, r a uniformly random class (fixed by the image id; r may equal y, as in dtak/rrr). Pixels
are float32 in [0, 1] (shade / 255). The swatch's pixels are each image's ground-truth mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from limeguard.config import ConfigError, check_int_range, check_seed
from limeguard.images.imageset import ImageSet, joined
from limeguard.images.spurious import _rank_key, four_corners, square_masks

SHADE_STEP = 25  # shade of class c: 255 - 25 c (0..255 pixel units)


@dataclass(frozen=True)
class DecoyData:
    """``params:decoy.data``.

    Attributes:
        train_images: training images, a random subset (fixed by ``seed``) of the 60,000 (null:
            all, the protocol).
        test_images: test images (the first of the 10,000; null: all).
        probe_images: training images that mining probes (the miner's probe set, a subset of
            the training images as in the project's refinement).
        patch_size: side of the swatch (4).
        margin: distance of the swatch from the border (0: the corner pixels, as dtak/rrr).
        seed: which corner each image's swatch takes, the test shades, the training subset.
    """

    train_images: int | None = 1500
    test_images: int | None = 2000
    probe_images: int = 100
    patch_size: int = 4
    margin: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("train_images", "test_images"):
            if getattr(self, name) is not None:
                check_int_range(name, getattr(self, name), 10)
        check_int_range("probe_images", self.probe_images, 1)
        check_int_range("patch_size", self.patch_size, 1, 13)
        check_int_range("margin", self.margin, 0)
        check_seed("seed", self.seed)


def shades(classes: torch.Tensor) -> torch.Tensor:
    """(N,) float32 in [0, 1]: the swatch shade of each class, ``(255 - 25 c) / 255``."""
    return (255.0 - SHADE_STEP * classes.float()) / 255.0


def corners_of(ids: torch.Tensor, split: str, side: int, cfg: DecoyData) -> torch.Tensor:
    """(N, 2) int64 top-left of each image's swatch: one of the four corners, fixed by (seed,
    split, id)."""
    slots = torch.tensor(four_corners(side, side, cfg.patch_size, cfg.margin))  # (4, 2)
    keys = [_rank_key(cfg.seed, int(i), f"decoy-corner-{split}") for i in ids.tolist()]
    return slots[torch.tensor([int(k * 4) for k in keys], dtype=torch.long)]


def random_classes(ids: torch.Tensor, num_classes: int, seed: int) -> torch.Tensor:
    """(N,) int64: a uniformly random class per test image id (fixed by (seed, id))."""
    keys = [_rank_key(seed, int(i), "decoy-shade") for i in ids.tolist()]
    return torch.tensor([int(k * num_classes) for k in keys], dtype=torch.long)


def swatch_masks(images: ImageSet, split: str, cfg: DecoyData) -> torch.Tensor:
    """(N, H, W) bool: each image's swatch pixels (the ground-truth masks)."""
    side = images.images.shape[-1]
    return square_masks(corners_of(images.ids, split, side, cfg), cfg.patch_size, side, side)


def paint_swatches(images: ImageSet, shade_class: torch.Tensor, split: str, cfg: DecoyData,
                   variant: str) -> ImageSet:
    """``images`` with the swatch of class ``shade_class[i]``'s shade in image i's corner."""
    if images.images.shape[1] != 1 or images.images.shape[-1] != images.images.shape[-2]:
        raise ConfigError(f"decoy.data: the decoy needs square grayscale images, got "
                          f"{tuple(images.images.shape[1:])}")
    masks = swatch_masks(images, split, cfg)[:, None]  # (N, 1, H, W)
    shade = shades(shade_class).view(-1, 1, 1, 1)
    pixels = torch.where(masks, shade, images.images)
    return ImageSet(pixels, images.labels, images.ids, images.classes,
                    {**images.meta, "decoy": variant})


@dataclass(frozen=True)
class DecoySets:
    """The benchmark's image sets: decoy train/probe/test and their clean originals."""

    train: ImageSet
    probe: ImageSet
    test: ImageSet
    clean_train: ImageSet
    clean_test: ImageSet


def decoy_sets(train_pool: ImageSet, test_pool: ImageSet, cfg: DecoyData) -> DecoySets:
    """The training subset and probe set (shade of the label) and the test set (shade of a
    random class), with the clean images they were painted on."""
    order = torch.tensor([_rank_key(cfg.seed, int(i), "decoy-subset")
                          for i in train_pool.ids.tolist()]).argsort()
    n_train = len(train_pool) if cfg.train_images is None else cfg.train_images
    if cfg.probe_images > n_train or n_train > len(train_pool):
        raise ConfigError(f"decoy.data.train_images: {n_train} does not fit the "
                          f"{len(train_pool)} training images or hold {cfg.probe_images} probes")
    clean_train = train_pool.subset(order[:n_train].sort().values, split="decoy_train")
    clean_probe = train_pool.subset(order[:cfg.probe_images].sort().values)  # of the subset
    n_test = len(test_pool) if cfg.test_images is None else min(cfg.test_images, len(test_pool))
    clean_test = test_pool.subset(torch.arange(n_test), split="decoy_test")
    test_classes = random_classes(clean_test.ids, clean_test.num_classes, cfg.seed)
    return DecoySets(
        train=paint_swatches(clean_train, clean_train.labels, "train", cfg, "train: shade of y"),
        probe=paint_swatches(clean_probe, clean_probe.labels, "train", cfg, "train: shade of y"),
        test=paint_swatches(clean_test, test_classes, "test", cfg, "test: shade of random r"),
        clean_train=clean_train, clean_test=clean_test)


def counterexamples(train: ImageSet, cfg: DecoyData, seed: int) -> ImageSet:
    """``train`` and, appended, each image again with its swatch re-drawn in the shade of a
    random *other* class (fixed by (seed, id)); the copies' ids are offset past the originals'."""
    k = train.num_classes
    keys = [_rank_key(seed, int(i), "decoy-counterexample") for i in train.ids.tolist()]
    other = (train.labels + 1 + torch.tensor([int(u * (k - 1)) for u in keys])) % k
    copies = paint_swatches(train, other, "train", cfg, "counterexample")
    offset = int(train.ids.max()) + 1
    shifted = ImageSet(copies.images, copies.labels, copies.ids + offset, copies.classes,
                       copies.meta)
    return joined(train, shifted)
