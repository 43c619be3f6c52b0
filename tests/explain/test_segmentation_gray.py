"""SLIC on grayscale: segmented on lightness like RGB, not a plain grid."""

from __future__ import annotations

import numpy as np
import torch

from limeguard.explain.config import SegmentationConfig
from limeguard.explain.segmentation import segment_images


def test_grayscale_segments_follow_the_content() -> None:
    """A disc on a plain background: each superpixel lies mostly inside or outside it (SLIC on one
    rescaled channel, at a compactness meant for Lab, cuts across it: purity 0.56)."""
    yy, xx = np.mgrid[0:28, 0:28]
    disc = (xx - 9) ** 2 + (yy - 14) ** 2 < 36
    gray = torch.from_numpy(disc.astype(np.float32) * 0.8 + 0.1)[None, None]  # (1, 1, 28, 28)
    seg = segment_images(gray, SegmentationConfig())
    rgb = segment_images(gray.repeat(1, 3, 1, 1), SegmentationConfig())
    assert not seg.fallback.any() and torch.equal(seg.segments, rgb.segments)
    labels = seg.segments[0].numpy()
    purity = min(max(disc[labels == k].mean(), 1 - disc[labels == k].mean())
                 for k in np.unique(labels))
    assert purity >= 0.75
