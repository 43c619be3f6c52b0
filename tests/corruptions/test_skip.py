"""CIFAR-10-C on data it does not apply to: a clear skip, not a crash."""

from __future__ import annotations

import torch

from limeguard.corruptions.testset import CorruptionSetConfig, corrupted_test_set, skip_reason
from limeguard.images.imageset import ImageSet


def test_grayscale_test_split_is_skipped_with_its_reason() -> None:
    test = ImageSet(torch.rand(4, 1, 28, 28), torch.tensor([0, 1, 0, 1]), torch.arange(4), ("a", "b"))
    images, index = corrupted_test_set(test, CorruptionSetConfig())
    assert len(images) == 0 and images.images.shape == (0, 1, 28, 28) and index.empty
    assert images.meta["source"].startswith("skipped: CIFAR-10-C applies to 32x32 RGB images, "
                                            "these are 1x28x28")


def test_an_image_folder_at_cifar_size_is_skipped_with_its_reason() -> None:
    meta = {"source": "image_folder", "dataset": "image_folder"}
    test = ImageSet(torch.rand(4, 3, 32, 32), torch.tensor([0, 1, 0, 1]), torch.arange(4), ("a", "b"),
                    meta)
    images, index = corrupted_test_set(test, CorruptionSetConfig())
    assert len(images) == 0 and index.empty
    assert images.meta["source"] == ("skipped: CIFAR-10-C applies to CIFAR images, these come from "
                                     "an image folder")


def test_skip_reason_is_none_for_cifar() -> None:
    assert skip_reason((3, 32, 32)) is None and skip_reason((3, 32, 32), "cifar100") is None
    assert "1x28x28" in skip_reason((1, 28, 28), "fashion_mnist")
