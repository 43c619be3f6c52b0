"""Batched building blocks of the CIFAR-10-C corruptions (numpy/scipy; no OpenCV or ImageMagick).

Arrays are (N, H, W[, C]) float in [0, 1] unless stated; every random draw comes from the
``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path

import numpy as np
from scipy import ndimage

FROST_FILES = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg", "frost6.jpg")
FROST_DIR_ENV = "LIMEGUARD_FROST_DIR"


def gaussian(
    x: np.ndarray, sigma: float, mode: str = "nearest", truncate: float = 4.0
) -> np.ndarray:
    """``skimage.filters.gaussian`` over the H and W axes of (N, H, W[, C]), channels kept apart."""
    if sigma <= 0:
        return x.astype(np.float64)
    sigmas = (0, sigma, sigma) + (0,) * (x.ndim - 3)
    return ndimage.gaussian_filter(x.astype(np.float64), sigmas, mode=mode, truncate=truncate)


def disk_kernel(radius: float, alias_blur: float) -> np.ndarray:
    """Anti-aliased disk (ImageNet-C ``disk``): 17x17 aliased disk, 3x3 Gaussian blur (OpenCV's
    BORDER_REFLECT_101), normalised; cropped to its non-zero support, which is exact."""
    half = 8 if radius <= 8 else int(np.ceil(radius))
    ksize = 3 if radius <= 8 else 5
    grid = np.arange(-half, half + 1)
    xx, yy = np.meshgrid(grid, grid)
    disk = (xx**2 + yy**2 <= radius**2).astype(np.float64)
    disk /= disk.sum()
    taps = np.arange(ksize) - ksize // 2
    g = np.exp(-(taps**2) / (2 * alias_blur**2))  # cv2.getGaussianKernel(ksize, sigma)
    g /= g.sum()
    k = ndimage.correlate1d(ndimage.correlate1d(disk, g, 0, mode="mirror"), g, 1, mode="mirror")
    nz = np.argwhere(k > 0)
    r = int(np.abs(nz - half).max())
    return k[half - r : half + r + 1, half - r : half + r + 1]


def clipped_zoom(x: np.ndarray, factor: float) -> np.ndarray:
    """Zoom (N, H, H, C) by ``factor`` >= 1 about the centre and crop back to H x H.

    Same result as the reference's ``scipy.ndimage.zoom(order=1)`` of the central crop (linear,
    corner-aligned grid), computed as ``A @ x @ A.T`` with a (H, H) interpolation matrix.
    """
    a = _zoom_matrix(x.shape[1], float(factor)).astype(x.dtype)
    nchw = np.moveaxis(x, -1, 1)  # (N, C, H, W) view
    return np.moveaxis(a @ nchw @ a.T, 1, -1)


@functools.lru_cache(maxsize=64)
def _zoom_matrix(h: int, factor: float) -> np.ndarray:
    ch = int(np.ceil(h / factor))
    top = (h - ch) // 2
    out = int(round(ch * factor))  # scipy.ndimage.zoom's output size
    trim = (out - h) // 2
    o = np.arange(trim, trim + h)
    src = o * (ch - 1) / (out - 1) if out > 1 else np.zeros(h)  # corner-aligned coordinates
    lo = np.clip(np.floor(src).astype(int), 0, ch - 1)
    hi = np.clip(lo + 1, 0, ch - 1)
    frac = src - lo
    a = np.zeros((h, h))
    np.add.at(a, (np.arange(h), top + lo), 1 - frac)
    np.add.at(a, (np.arange(h), top + hi), frac)
    a.setflags(write=False)
    return a


def plasma_fractal(
    n: int, rng: np.random.Generator, mapsize: int = 32, wibbledecay: float = 3
) -> np.ndarray:
    """(n, mapsize, mapsize) diamond-square height maps in [0, 1], one per image (ImageNet-C)."""
    maps = np.zeros((n, mapsize, mapsize))
    step, wibble = mapsize, 100.0

    def wibbled_mean(a: np.ndarray) -> np.ndarray:
        # The reference scales uniform(-wibble, wibble) by wibble again; kept as is.
        return a / 4 + wibble * rng.uniform(-wibble, wibble, a.shape)

    while step >= 2:
        half = step // 2
        corners = maps[:, 0::step, 0::step]
        sq = corners + np.roll(corners, -1, axis=1)
        sq = sq + np.roll(sq, -1, axis=2)
        maps[:, half::step, half::step] = wibbled_mean(sq)
        dr = maps[:, half::step, half::step]
        ul = maps[:, 0::step, 0::step]
        lt = dr + np.roll(dr, 1, axis=1) + ul + np.roll(ul, -1, axis=2)
        maps[:, 0::step, half::step] = wibbled_mean(lt)
        tt = dr + np.roll(dr, 1, axis=2) + ul + np.roll(ul, -1, axis=1)
        maps[:, half::step, 0::step] = wibbled_mean(tt)
        step //= 2
        wibble /= wibbledecay
    maps -= maps.min(axis=(1, 2), keepdims=True)
    return maps / maps.max(axis=(1, 2), keepdims=True)


def motion_blur(x: np.ndarray, radius: int, sigma: float, angles_deg: np.ndarray) -> np.ndarray:
    """ImageMagick-style motion blur of (N, H, W[, C]) with one angle per image.

    A one-sided line kernel of ``2 * radius + 1`` taps, Gaussian weights ``exp(-i^2 / 2 sigma^2)``
    (normalised) samples the pixel ``i`` steps along the angle, edges clamped (as the numpy port in
    ``imagecorruptions``; ImageMagick's ``MagickMotionBlurImage`` does the same on a uint8 image).
    """
    width = 2 * int(radius) + 1
    taps = np.arange(width)
    weights = np.exp(-(taps**2) / (2 * sigma**2))
    weights /= weights.sum()
    n, h, w = x.shape[:3]
    theta = np.deg2rad(angles_deg)[:, None]  # (N, 1)
    dx = np.ceil(taps[None] * np.cos(theta) - 0.5).astype(int)  # (N, width)
    dy = np.ceil(taps[None] * np.sin(theta) - 0.5).astype(int)
    flat = x.reshape(n * h * w, -1)  # (N*H*W, C)
    rows, cols = np.arange(h)[None, :, None], np.arange(w)[None, None, :]
    base = (np.arange(n) * h * w)[:, None, None]
    out = np.zeros((n * h * w, flat.shape[1]), dtype=np.float64)
    for i in range(width):
        r = np.clip(rows + dy[:, i, None, None], 0, h - 1)  # (N, H, 1)
        c = np.clip(cols + dx[:, i, None, None], 0, w - 1)  # (N, 1, W)
        out += weights[i] * np.take(flat, (base + r * w + c).ravel(), axis=0)
    return out.reshape(x.shape)


def frost_dir() -> Path:
    """Folder with ``frost1.png`` .. ``frost6.jpg``: ``$LIMEGUARD_FROST_DIR``, else the one shipped
    by the ``imagecorruptions-imaug`` package (found without importing it: it needs OpenCV)."""
    env = os.environ.get(FROST_DIR_ENV)
    if env:
        return Path(env)
    spec = importlib.util.find_spec("imagecorruptions")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "frost needs the frost images: install imagecorruptions-imaug==1.1.5 "
            f"(`pip install --no-deps`), or set {FROST_DIR_ENV} to a folder with {FROST_FILES}"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "frost"


@functools.lru_cache(maxsize=2)
def frost_images(folder: Path | None = None) -> tuple[np.ndarray, ...]:
    """The frost photographs as uint8 (h, w, 3) RGB, scaled by 0.2 (bilinear, as cv2.resize)."""
    from PIL import Image

    folder = folder or frost_dir()
    out = []
    for name in FROST_FILES:
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"frost image missing: {path}")
        rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
        small = resize_bilinear(rgb, round(rgb.shape[0] * 0.2), round(rgb.shape[1] * 0.2))
        out.append(np.clip(np.rint(small), 0, 255).astype(np.uint8))
    return tuple(out)


def resize_bilinear(img: np.ndarray, h: int, w: int) -> np.ndarray:
    """(H, W, C) -> (h, w, C), half-pixel centres, no anti-aliasing (cv2 INTER_LINEAR)."""
    for axis, size in ((0, h), (1, w)):
        n = img.shape[axis]
        src = np.clip((np.arange(size) + 0.5) * n / size - 0.5, 0, n - 1)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, n - 1)
        frac = (src - lo).reshape((-1,) + (1,) * (img.ndim - 1 - axis))
        img = np.take(img, lo, axis) * (1 - frac) + np.take(img, hi, axis) * frac
    return img
