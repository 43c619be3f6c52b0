"""The explanation figure at every image size: panels upscaled (nearest, integer factor) to at
least 128 px a side, superpixel boundaries 1 px wide at that resolution, the cue outlined."""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest
import torch

from limeguard.explain.config import SegmentationConfig
from limeguard.explain.figures import boundaries, display_scale, explanation_figure, upscaled
from limeguard.explain.segmentation import segment_images
from tests.explain.conftest import smooth_images


def mined(images: torch.Tensor) -> types.SimpleNamespace:
    """What the figure reads of a MiningResult: real SLIC segments, seeded weights, one mask."""
    seg = segment_images(images, SegmentationConfig())
    weights = torch.randn(len(images), int(seg.segments.max()) + 1,
                          generator=torch.Generator().manual_seed(0))
    return types.SimpleNamespace(
        images=pd.DataFrame({"image_id": ["a", "b"], "label": [0, 1]}), segmentation=seg,
        attributions=types.SimpleNamespace(weights=weights), pixel_masks=seg.segments == 0)


@pytest.mark.parametrize(("height", "width", "factor"), [(28, 28, 5), (32, 32, 4), (64, 64, 2),
                                                          (224, 224, 1), (100, 80, 2)])
def test_display_scale(height, width, factor):
    assert display_scale(height, width) == factor


def test_boundaries_are_one_pixel_wide_at_the_upscaled_resolution():
    segments = np.zeros((4, 4), dtype=np.int64)
    segments[:, 2:] = 1
    drawn = boundaries(np.zeros((4, 4, 3)), segments, 4)
    yellow = (drawn == (1.0, 1.0, 0.0)).all(-1)
    assert drawn.shape == (16, 16, 3) and yellow[:, 7].all() and yellow.sum() == 16


@pytest.mark.parametrize(("channels", "height", "width"), [(1, 28, 28), (3, 32, 32), (3, 100, 80)])
def test_figure_renders_upscaled_with_the_cue_outlined(channels, height, width, tmp_path):
    images = torch.nn.functional.interpolate(smooth_images(2, size=32), size=(height, width))
    images = images.mean(1, keepdim=True) if channels == 1 else images
    cue = torch.zeros((2, height, width), dtype=torch.bool)
    cue[0, 2:6, 2:6] = True
    fig = explanation_figure(images, mined(images), cue=cue)
    k = display_scale(height, width)
    shown = fig.axes[0].get_images()[0].get_array()
    assert shown.shape == (height * k, width * k, 3) and min(shown.shape[:2]) >= 128
    np.testing.assert_array_equal(shown, upscaled(shown[::k, ::k], k))  # nearest neighbour
    superpixels = np.asarray(fig.axes[1].get_images()[0].get_array())
    yellow = (superpixels == (1.0, 1.0, 0.0)).all(-1).mean()
    assert 0 < yellow < 0.15  # thin lines, not most of the image
    assert len(fig.axes[0].collections) == 1  # the cue's contour on the first image
    fig.savefig(tmp_path / "figure.png")
    assert (tmp_path / "figure.png").stat().st_size > 0
