"""CIFAR-10-C on data it does not apply to: a clear skip, not a crash."""

from __future__ import annotations

import torch

from limeguard.corruptions.testset import CorruptionSetConfig, corrupted_test_set
from limeguard.images.imageset import ImageSet


def test_grayscale_test_split_is_skipped_with_its_reason() -> None:
    test = ImageSet(torch.rand(4, 1, 28, 28), torch.tensor([0, 1, 0, 1]), torch.arange(4), ("a", "b"))
    images, index = corrupted_test_set(test, CorruptionSetConfig())
    assert len(images) == 0 and images.images.shape == (0, 1, 28, 28) and index.empty
    assert images.meta["source"].startswith("skipped: CIFAR-10-C applies to 32x32 RGB images, "
                                            "these are 1x28x28")
