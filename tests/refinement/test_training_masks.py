"""masks_for_training_set, sensitivity_for_training_set, render_superpixel_scores."""

from __future__ import annotations

import pytest
import torch

from limeguard.refinement import (
    masks_for_training_set,
    render_superpixel_scores,
    sensitivity_for_training_set,
)


def test_probed_images_get_their_mask_others_their_class_mask() -> None:
    ids = ["a", "b", "c", "d", "e"]
    labels = torch.tensor([0, 1, 0, 1, 2])
    probed = torch.zeros(2, 4, 4, dtype=torch.bool)
    probed[0, 0, 0] = True  # "c"
    probed[1, 3, 3] = True  # "b"
    classes = torch.zeros(3, 4, 4)
    classes[0, 1] = 0.8  # class 0: row 1 often flagged
    classes[1, 2] = 0.3  # class 1: row 2 rarely flagged
    masks = masks_for_training_set(ids, labels, ["c", "b"], probed, classes, threshold=0.5)
    assert masks.shape == (5, 1, 4, 4) and masks.dtype == torch.float32
    assert torch.equal(masks[2, 0], probed[0].float())
    assert torch.equal(masks[1, 0], probed[1].float())
    assert masks[0, 0, 1].eq(1).all() and masks[0].sum() == 4  # class 0 thresholded
    assert masks[3].sum() == 0 and masks[4].sum() == 0  # class 1 below 0.5, class 2 empty
    soft = masks_for_training_set(ids, labels, ["c", "b"], probed, classes, threshold=None)
    assert torch.allclose(soft[3, 0, 2], torch.full((4,), 0.3))


def test_errors_are_clear() -> None:
    labels = torch.tensor([0, 1])
    with pytest.raises(ValueError, match="not in train_ids"):
        masks_for_training_set(["a", "b"], labels, ["z"], torch.zeros(1, 4, 4),
                               torch.zeros(2, 4, 4))  # fmt: skip
    with pytest.raises(ValueError, match=r"\(1, 5, 5\).*\(2, 4, 4\)"):
        masks_for_training_set(["a", "b"], labels, ["a"], torch.zeros(1, 5, 5),
                               torch.zeros(2, 4, 4))  # fmt: skip
    with pytest.raises(ValueError, match="train_labels"):
        masks_for_training_set(["a", "b"], torch.tensor([0, 5]), [], torch.zeros(0, 4, 4),
                               torch.zeros(2, 4, 4))  # fmt: skip


def test_sensitivity_defaults_for_unprobed_images() -> None:
    maps = torch.full((1, 4, 4), 3.0)
    out = sensitivity_for_training_set([10, 11, 12], [11], maps, default=1.0)
    assert out.shape == (3, 1, 4, 4)
    assert out[1].eq(3).all() and out[0].eq(1).all() and out[2].eq(1).all()
    with pytest.raises(ValueError, match=">= 0"):
        sensitivity_for_training_set([1], [1], -maps)


def test_render_normalises_to_mean_one_on_the_mask() -> None:
    segments = torch.tensor([[[0, 0], [1, 2]]])  # (1, 2, 2)
    scores = torch.tensor([[1.0, 4.0, 2.0]])
    mask = torch.tensor([[[0, 0], [1, 1]]])
    maps = render_superpixel_scores(segments, scores, mask)
    assert maps.shape == (1, 1, 2, 2)
    assert torch.allclose(maps[0, 0], torch.tensor([[1.0, 1.0], [4.0, 2.0]]) / 3.0)
    plain = render_superpixel_scores(segments, scores)
    assert torch.isclose(plain.mean(), torch.tensor(1.0))
