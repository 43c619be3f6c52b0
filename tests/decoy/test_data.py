"""The decoy images: the swatch's shade per class (train) or random class (test), its corner per
image id, 28x28 grayscale in [0, 1]; counterexamples."""

from __future__ import annotations

import pytest
import torch

from limeguard.config import ConfigError
from limeguard.decoy.data import (
    DecoyData,
    corners_of,
    counterexamples,
    decoy_sets,
    random_classes,
    shades,
    swatch_masks,
)

CFG = DecoyData(train_images=200, test_images=300, probe_images=20)


def swatch_values(images, masks) -> torch.Tensor:
    """(N, 16) the pixels under each image's 4x4 swatch."""
    return images.images[:, 0][masks].view(len(images), -1)


def test_shades_are_255_minus_25_y() -> None:
    assert torch.allclose(shades(torch.arange(10)) * 255, 255 - 25 * torch.arange(10).float())


def test_train_swatch_has_the_shade_of_the_label(pools) -> None:
    sets = decoy_sets(*pools, CFG)
    values = swatch_values(sets.train, swatch_masks(sets.train, "train", CFG))
    assert torch.allclose(values, shades(sets.train.labels)[:, None].expand(-1, 16))
    assert sets.train.images.shape[1:] == (1, 28, 28)
    assert float(sets.train.images.min()) >= 0 and float(sets.train.images.max()) <= 1
    outside = ~swatch_masks(sets.train, "train", CFG)[:, None]
    assert torch.equal(sets.train.images[outside], sets.clean_train.images[outside])


def test_test_swatch_has_a_random_class_shade(pools) -> None:
    sets = decoy_sets(*pools, CFG)
    drawn = random_classes(sets.test.ids, 10, CFG.seed)
    values = swatch_values(sets.test, swatch_masks(sets.test, "test", CFG))
    assert torch.allclose(values, shades(drawn)[:, None].expand(-1, 16))
    agree = float((drawn == sets.test.labels).float().mean())
    assert 0.02 < agree < 0.25  # uniform: about 1 in 10 shades is the label's
    assert len(drawn.unique()) == 10


def test_corner_is_fixed_per_id_and_covers_all_four(pools) -> None:
    sets = decoy_sets(*pools, CFG)
    first = corners_of(sets.train.ids, "train", 28, CFG)
    assert torch.equal(first, corners_of(sets.train.ids.clone(), "train", 28, CFG))
    assert {tuple(c) for c in first.tolist()} == {(0, 0), (0, 24), (24, 0), (24, 24)}
    assert int(swatch_masks(sets.train, "train", CFG).flatten(1).sum(1).unique()) == 16


def test_probe_is_part_of_the_training_images(pools) -> None:
    sets = decoy_sets(*pools, CFG)
    assert len(sets.train) == 200 and len(sets.probe) == 20 and len(sets.test) == 300
    assert bool(torch.isin(sets.probe.ids, sets.train.ids).all())


def test_counterexamples_redraw_the_swatch_with_another_shade(pools) -> None:
    sets = decoy_sets(*pools, CFG)
    both = counterexamples(sets.train, CFG, seed=3)
    n = len(sets.train)
    assert len(both) == 2 * n and len(both.ids.unique()) == 2 * n
    assert torch.equal(both.images[:n], sets.train.images)
    assert torch.equal(both.labels[n:], sets.train.labels)
    masks = swatch_masks(sets.train, "train", CFG)
    copies = both.images[n:, 0][masks].view(n, -1)
    assert torch.allclose(copies, copies[:, :1].expand(-1, 16))
    assert not bool(torch.isclose(copies[:, 0], shades(sets.train.labels)).any())
    assert torch.equal(both.images[n:, 0][~masks], sets.train.images[:, 0][~masks])


def test_too_many_training_images_are_refused(pools) -> None:
    with pytest.raises(ConfigError, match="decoy.data.train_images"):
        decoy_sets(*pools, DecoyData(train_images=601, probe_images=10))
