import numpy as np
import torch

from limeguard.config import from_params
from limeguard.explain.config import SegmentationConfig
from limeguard.explain.segmentation import SegmentCache, grid_segments, segment_images
from tests.explain.conftest import smooth_images


def test_slic_counts_on_smooth_images():
    seg = segment_images(smooth_images(6), SegmentationConfig())
    assert seg.segments.shape == (6, 32, 32) and seg.segments.dtype == torch.int64
    assert ((seg.n_segments >= 20) & (seg.n_segments <= 40)).all(), seg.n_segments
    assert not seg.fallback.any()
    for labels, n in zip(seg.segments, seg.n_segments, strict=True):
        assert torch.equal(labels.unique(), torch.arange(int(n)))  # contiguous 0..n-1


def test_flat_image_falls_back_to_grid():
    images = torch.cat([torch.full((1, 3, 32, 32), 0.4), smooth_images(1)])
    seg = segment_images(images, SegmentationConfig(grid_cells=6))
    assert seg.fallback.tolist() == [True, False]
    assert int(seg.n_segments[0]) == 36
    assert torch.equal(seg.segments[0], torch.from_numpy(grid_segments(32, 32, 6)))


def test_too_few_segments_falls_back():
    cfg = SegmentationConfig(n_segments=4, min_segments=30, grid_cells=5)
    seg = segment_images(smooth_images(1), cfg)
    assert seg.fallback.all() and int(seg.n_segments[0]) == 25


def test_cache_reuses_by_content():
    cache = SegmentCache()
    images = smooth_images(3)
    first = segment_images(images, SegmentationConfig(), cache)
    again = segment_images(images.clone(), SegmentationConfig(), cache)
    assert cache.misses == 3 and cache.hits == 3
    assert torch.equal(first.segments, again.segments)


def test_grid_segments_small_image():
    labels = grid_segments(4, 4, 6)
    assert np.array_equal(np.unique(labels), np.arange(16))


def test_config_from_params():
    cfg = from_params(SegmentationConfig, {"n_segments": 30, "sigma": 2}, "mine.segmentation")
    assert cfg.n_segments == 30 and cfg.sigma == 2.0
