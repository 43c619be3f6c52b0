import math

import numpy as np
import pytest
from scipy import ndimage

from limeguard.corruptions import helpers
from limeguard.corruptions.functions import glass_blur


@pytest.mark.parametrize("factor", [1.0, 1.03, 1.12, 1.25, 1.75, 2.25])
def test_clipped_zoom_matches_scipy_zoom(factor):
    x = np.random.default_rng(0).random((2, 32, 32, 3))
    ch = int(np.ceil(32 / factor))
    top = (32 - ch) // 2
    ref = ndimage.zoom(x[:, top : top + ch, top : top + ch], (1, factor, factor, 1), order=1)
    trim = (ref.shape[1] - 32) // 2
    assert np.allclose(helpers.clipped_zoom(x, factor), ref[:, trim : trim + 32, trim : trim + 32])


def test_motion_blur_matches_a_literal_line_kernel():
    rng = np.random.default_rng(0)
    x, angle, radius, sigma = rng.random((1, 32, 32, 3)), 30.0, 6, 2.0
    width = 2 * radius + 1
    k = np.exp(-(np.arange(width) ** 2) / (2 * sigma**2))
    k /= k.sum()
    ref = np.zeros_like(x[0])
    for i in range(width):
        dx = math.ceil(i * math.cos(math.radians(angle)) - 0.5)
        dy = math.ceil(i * math.sin(math.radians(angle)) - 0.5)
        rows = np.clip(np.arange(32) + dy, 0, 31)
        cols = np.clip(np.arange(32) + dx, 0, 31)
        ref += k[i] * x[0][rows][:, cols]
    assert np.allclose(helpers.motion_blur(x, radius, sigma, np.array([angle]))[0], ref)


def test_glass_blur_shuffle_matches_the_reference_loop(monkeypatch):
    """The reference's tuple 'swap' on numpy views copies x[h', w'] into x[h, w]; same here."""
    x = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    offsets = np.random.default_rng(1).integers(-1, 1, size=(2, 2, 30, 30))
    monkeypatch.setattr(helpers, "gaussian", lambda a, sigma, **kw: a.astype(np.float64))

    class FixedRng:
        def integers(self, *args, **kwargs):
            return offsets

    out = glass_blur(x, (0.0, 1, 1), FixedRng())
    for n in range(2):
        ref = x[n].copy()
        for h in range(31, 1, -1):
            for w in range(31, 1, -1):
                dx, dy = offsets[0, n, h - 2, w - 2], offsets[1, n, h - 2, w - 2]
                ref[h, w], ref[h + dy, w + dx] = ref[h + dy, w + dx], ref[h, w]
        assert np.array_equal(np.uint8(out[n] * 255 + 1e-6), ref)


def test_disk_kernel_is_normalised_and_symmetric():
    for radius, blur in [(0.3, 0.4), (1.5, 0.1)]:
        k = helpers.disk_kernel(radius, blur)
        assert k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1
        assert np.isclose(k.sum(), 1) and np.allclose(k, k.T) and np.allclose(k, k[::-1])


def test_plasma_fractal_in_unit_range_and_seeded():
    a = helpers.plasma_fractal(3, np.random.default_rng(0), 32, 2.0)
    assert a.shape == (3, 32, 32) and a.min() == 0 and a.max() == 1
    assert np.array_equal(a, helpers.plasma_fractal(3, np.random.default_rng(0), 32, 2.0))


def test_frost_without_images_raises_clearly(tmp_path, monkeypatch):
    from limeguard.corruptions import corrupt

    monkeypatch.setenv(helpers.FROST_DIR_ENV, str(tmp_path))
    helpers.frost_images.cache_clear()
    try:
        with pytest.raises(FileNotFoundError, match="frost1.png"):
            corrupt(np.zeros((1, 3, 32, 32), np.uint8), "frost", 1)
    finally:
        helpers.frost_images.cache_clear()
