"""Deterministic, stratified splits: train, validation, test and the LIME probe set."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from limeguard.config import ConfigError, check_seed
from limeguard.images.folder import class_folder
from limeguard.images.imageset import ImageSet


@dataclass(frozen=True)
class SplitConfig:
    """``params:data.split``; sizes are image counts, spread evenly over the classes.

    Attributes:
        train_size: training images; null takes every training-pool image not in validation.
        val_size: validation images, drawn from the training pool, disjoint from train.
        test_size: test images from the test pool; null takes the whole test split.
        probe_size: LIME probe images, a stratified subset of train.
        seed: the split's seed (independent of the training seed).
    """

    train_size: int | None = 5000
    val_size: int = 1000
    test_size: int | None = 1000
    probe_size: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        for key in ("train_size", "val_size", "test_size", "probe_size"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"data.split.{key}: must be a positive integer, got {value!r}")
        check_seed("data.split.seed", self.seed)


@dataclass(frozen=True)
class Splits:
    train: ImageSet
    val: ImageSet
    test: ImageSet
    probe: ImageSet


def class_quotas(size: int, num_classes: int) -> np.ndarray:
    """``size`` spread over classes: equal shares, the remainder to the first classes."""
    quotas = np.full(num_classes, size // num_classes)
    quotas[: size % num_classes] += 1
    return quotas


def make_splits(train_pool: ImageSet, test_pool: ImageSet, cfg: SplitConfig) -> Splits:
    """Split deterministically; every size is checked against the data before anything is drawn.

    Raises:
        ConfigError: a requested size exceeds what a class has (names the key and the class).
    """
    k = train_pool.num_classes
    by_class = _shuffled_by_class(train_pool.labels, k, cfg.seed)
    val_q = class_quotas(cfg.val_size, k)
    left = np.array([len(ix) for ix in by_class]) - val_q
    _check_fits("val_size", val_q, np.array([len(ix) for ix in by_class]), train_pool)
    train_q = left if cfg.train_size is None else class_quotas(cfg.train_size, k)
    _check_fits("train_size", train_q, left, train_pool)
    probe_q = class_quotas(cfg.probe_size, k)
    _check_fits("probe_size", probe_q, train_q, train_pool)

    val_ix = [ix[:q] for ix, q in zip(by_class, val_q, strict=True)]
    train_ix = [ix[v : v + q] for ix, v, q in zip(by_class, val_q, train_q, strict=True)]
    probe_ix = [ix[:q] for ix, q in zip(train_ix, probe_q, strict=True)]

    test_by_class = _shuffled_by_class(test_pool.labels, k, cfg.seed + 1)
    counts = np.array([len(ix) for ix in test_by_class])
    test_q = counts if cfg.test_size is None else class_quotas(cfg.test_size, k)
    _check_fits("test_size", test_q, counts, test_pool)
    test_ix = [ix[:q] for ix, q in zip(test_by_class, test_q, strict=True)]

    rng = np.random.default_rng(cfg.seed + 2)
    return Splits(
        train=_shuffled_subset(train_pool, train_ix, "train", rng),
        val=_shuffled_subset(train_pool, val_ix, "val", rng),
        test=_shuffled_subset(test_pool, test_ix, "test", rng),
        probe=_shuffled_subset(train_pool, probe_ix, "probe", rng),
    )


def _shuffled_subset(
    pool: ImageSet, parts: list[np.ndarray], split: str, rng: np.random.Generator
) -> ImageSet:
    return pool.subset(rng.permutation(np.concatenate(parts)), split=split)


def _shuffled_by_class(labels: torch.Tensor, num_classes: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    labels_np = labels.numpy()
    return [rng.permutation(np.flatnonzero(labels_np == c)) for c in range(num_classes)]


def _check_fits(key: str, wanted: np.ndarray, available: np.ndarray, pool: ImageSet) -> None:
    short = np.flatnonzero(wanted > available)
    if short.size:
        c = int(short[0])
        where = f" (folder {class_folder(pool.meta, pool.classes[c])})" if "folder" in pool.meta else ""
        raise ConfigError(
            f"data.split.{key}: asks for {int(wanted.sum())} images ({int(wanted[c])} of class "
            f"'{pool.classes[c]}'), but the {pool.meta.get('split', '')} data has only "
            f"{int(max(available[c], 0))} left for that class{where}"
        )
