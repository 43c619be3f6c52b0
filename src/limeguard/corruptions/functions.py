"""The 15 CIFAR-10-C corruptions, batched.

Each function takes ``x`` (N, 32, 32, 3) uint8 RGB, a severity constant ``c`` from
:data:`~limeguard.corruptions.constants.CONSTANTS` and a ``numpy.random.Generator``, and returns
(N, 32, 32, 3) float in [0, 1] (before the final uint8 quantisation). They follow
``make_cifar_c.py`` of Hendrycks & Dietterich; deviations are noted where they occur.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image
from scipy import ndimage

from limeguard.corruptions import helpers

Corruption = Callable[[np.ndarray, object, np.random.Generator], np.ndarray]


def _unit(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float64) / 255.0


def gaussian_noise(x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(_unit(x) + rng.normal(scale=c, size=x.shape), 0, 1)


def shot_noise(x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(rng.poisson(_unit(x) * c) / c, 0, 1)


def impulse_noise(x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    """skimage ``random_noise(mode='s&p', amount=c)``: each value flips to 0 or 1 w.p. c/2 each."""
    out = _unit(x)
    flipped = rng.random(x.shape) < c
    salted = rng.random(x.shape) < 0.5
    out[flipped & salted] = 1.0
    out[flipped & ~salted] = 0.0
    return out


def defocus_blur(x: np.ndarray, c: tuple, rng: np.random.Generator) -> np.ndarray:
    kernel = helpers.disk_kernel(radius=c[0], alias_blur=c[1])
    out = ndimage.correlate(_unit(x), kernel[None, :, :, None], mode="mirror")  # reflect-101
    return np.clip(out, 0, 1)


def glass_blur(x: np.ndarray, c: tuple, rng: np.random.Generator) -> np.ndarray:
    """Blur, locally "shuffle" pixels, blur again.

    The reference's swap ``x[h, w], x[h', w'] = x[h', w'], x[h, w]`` acts on numpy views, so it
    only copies ``x[h', w']`` into ``x[h, w]``; with its bottom-right-first scan and offsets in
    {-1, 0}, every copy reads a not-yet-visited pixel. That is what produced CIFAR-10-C, and it is
    what this vectorised version computes (one offset per pixel, per iteration).
    """
    sigma, delta, iterations = c
    if delta != 1:
        raise ValueError("glass_blur is implemented for max_delta == 1 (all CIFAR-10-C severities)")
    img = np.uint8(helpers.gaussian(_unit(x), sigma) * 255)  # truncation, as the reference
    n, h, w = img.shape[:3]
    rows = np.arange(2, h)[None, :, None]  # the reference scans h, w in [2, 31]
    cols = np.arange(2, w)[None, None, :]
    idx = np.arange(n)[:, None, None]
    for _ in range(iterations):
        d = rng.integers(-1, 1, size=(2, n, h - 2, w - 2))  # (dx, dy) in {-1, 0}
        src = img.copy()
        img[:, 2:, 2:] = src[idx, rows + d[1], cols + d[0]]
    return np.clip(helpers.gaussian(_unit(img), sigma), 0, 1)


def motion_blur(x: np.ndarray, c: tuple, rng: np.random.Generator) -> np.ndarray:
    """Deviation: numpy line kernel instead of ImageMagick (see ``helpers.motion_blur``)."""
    angles = rng.uniform(-45, 45, size=len(x))
    return np.clip(helpers.motion_blur(_unit(x), c[0], c[1], angles), 0, 1)


def zoom_blur(x: np.ndarray, c: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    img = x.astype(np.float32) / 255.0
    out = np.zeros_like(img)
    for factor in c:
        out += helpers.clipped_zoom(img, float(factor))
    return np.clip((img + out) / (len(c) + 1), 0, 1)


def snow(x: np.ndarray, c: tuple, rng: np.random.Generator) -> np.ndarray:
    img = x.astype(np.float32) / 255.0
    n = len(x)
    layer = rng.normal(loc=c[0], scale=c[1], size=(n, 32, 32, 1))
    layer = helpers.clipped_zoom(layer, c[2])
    layer[layer < c[3]] = 0
    layer = np.uint8(np.clip(layer[..., 0], 0, 1) * 255) / 255.0  # the reference's 8-bit PNG
    angles = rng.uniform(-135, -45, size=n)
    layer = helpers.motion_blur(layer, c[4], c[5], angles)[..., None]  # (N, 32, 32, 1)
    gray = img @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # cv2 RGB2GRAY
    img = c[6] * img + (1 - c[6]) * np.maximum(img, gray[..., None] * 1.5 + 0.5)
    return np.clip(img + layer + np.rot90(layer, k=2, axes=(1, 2)), 0, 1)


def frost(x: np.ndarray, c: tuple, rng: np.random.Generator) -> np.ndarray:
    """Blend with a random 32x32 crop of frost1..frost5 (the reference never draws frost6)."""
    frosts = helpers.frost_images()
    picks = rng.integers(5, size=len(x))
    layer = np.empty(x.shape, dtype=np.float64)
    for i, k in enumerate(picks):
        fr = frosts[k]
        r0, c0 = rng.integers(0, fr.shape[0] - 32), rng.integers(0, fr.shape[1] - 32)
        layer[i] = fr[r0 : r0 + 32, c0 : c0 + 32]
    return np.clip(c[0] * x.astype(np.float64) + c[1] * layer, 0, 255) / 255.0


def fog(x: np.ndarray, c: tuple, rng: np.random.Generator) -> np.ndarray:
    img = _unit(x)
    max_val = img.max(axis=(1, 2, 3), keepdims=True)  # per image
    img = img + c[0] * helpers.plasma_fractal(len(x), rng, 32, c[1])[..., None]
    return np.clip(img * max_val / (max_val + c[0]), 0, 1)


def brightness(x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    """HSV value + c (clipped), hue and saturation kept: exactly a per-pixel rescaling of RGB
    by ``v' / v`` (black pixels, s = 0, become grey ``v'``), as skimage's rgb2hsv/hsv2rgb."""
    img = _unit(x)
    v = img.max(axis=-1, keepdims=True)
    v_new = np.clip(v + c, 0, 1)
    scale = np.divide(v_new, v, out=np.zeros_like(v), where=v > 0)
    out = np.where(v > 0, img * scale, v_new)
    return np.clip(out, 0, 1)


def contrast(x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    img = _unit(x)
    means = img.mean(axis=(1, 2), keepdims=True)  # per image and channel
    return np.clip((img - means) * c + means, 0, 1)


def elastic_transform(x: np.ndarray, c: tuple, rng: np.random.Generator) -> np.ndarray:
    """Random affine (as cv2.warpAffine, reflect-101 border), then a smooth random displacement.

    With the CIFAR constants the affine jitter shrinks (2.6 -> 1.0 px) while the local elastic
    displacement grows with severity, so the pixel distance to the original *falls* with severity.
    """
    img = x.astype(np.float32) / 255.0
    n, h, w, _ = img.shape
    inv, dx, dy = elastic_fields(n, h, w, c, rng)
    yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    grid = np.stack([xx, yy, np.ones_like(xx)], -1).astype(np.float64)  # (H, W, 3)
    src = np.einsum("nij,hwj->nhwi", inv, grid)  # (N, H, W, 2) as (x, y)
    img = _sample(img, src[..., 1], src[..., 0], mode="mirror")
    out = _sample(img, yy[None] + dy, xx[None] + dx, mode="reflect")
    return np.clip(out, 0, 1)


def elastic_fields(n: int, h: int, w: int, c: tuple, rng: np.random.Generator):
    """Random parts of ``elastic_transform``: inverse affines (N, 2, 3) mapping output (x, y, 1)
    to input (x, y), and the displacements dx, dy (N, H, W) in pixels."""
    pts1 = np.array([[26, 26], [26, 6], [6, 6]], dtype=np.float64)  # (x, y), centre 16 +- 32 // 3
    pts2 = pts1 + rng.uniform(-c[2], c[2], size=(n, 3, 2))
    inv = _inverse_affine(pts1, pts2)
    shift = rng.uniform(-1, 1, size=(2, n, h, w))
    dx = helpers.gaussian(shift[0], c[1], mode="reflect", truncate=3) * c[0]
    dy = helpers.gaussian(shift[1], c[1], mode="reflect", truncate=3) * c[0]
    return inv, dx, dy


def _inverse_affine(pts1: np.ndarray, pts2: np.ndarray) -> np.ndarray:
    """Affine maps sending each ``pts2[n]`` back onto ``pts1`` (inverse of getAffineTransform)."""
    a = np.concatenate([pts2, np.ones(pts2.shape[:2] + (1,))], axis=-1)  # (N, 3, 3)
    sol = np.linalg.solve(a, np.broadcast_to(pts1, pts2.shape))  # (N, 3, 2)
    return np.swapaxes(sol, 1, 2)


def _sample(img: np.ndarray, rows: np.ndarray, cols: np.ndarray, mode: str) -> np.ndarray:
    """Bilinear sampling of (N, H, W, C) at per-image (N, H, W) coordinates, all channels.

    ``mode``: ``mirror`` (reflect-101, OpenCV's default border) or ``reflect`` (half-sample
    symmetric), as ``scipy.ndimage.map_coordinates(order=1)``.
    """
    n, h, w, _ = img.shape
    r0, c0 = np.floor(rows), np.floor(cols)
    fr, fc = (rows - r0)[..., None], (cols - c0)[..., None]  # (N, H, W, 1)
    r0, c0 = r0.astype(int), c0.astype(int)
    ri = [_fold(r0, h, mode), _fold(r0 + 1, h, mode)]
    ci = [_fold(c0, w, mode), _fold(c0 + 1, w, mode)]
    idx = np.arange(n)[:, None, None]
    top = img[idx, ri[0], ci[0]] * (1 - fc) + img[idx, ri[0], ci[1]] * fc
    bottom = img[idx, ri[1], ci[0]] * (1 - fc) + img[idx, ri[1], ci[1]] * fc
    return top * (1 - fr) + bottom * fr


def _fold(i: np.ndarray, n: int, mode: str) -> np.ndarray:
    """Integer indices folded into [0, n) by the border ``mode`` (one reflection, then clamp)."""
    if mode == "mirror":
        i = np.where(i < 0, -i, np.where(i > n - 1, 2 * (n - 1) - i, i))
    else:
        i = np.where(i < 0, -i - 1, np.where(i > n - 1, 2 * n - 1 - i, i))
    return np.clip(i, 0, n - 1)


def pixelate(x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    side = int(32 * c)
    out = np.empty(x.shape, dtype=np.uint8)
    for i, im in enumerate(x):
        small = Image.fromarray(im).resize((side, side), Image.Resampling.BOX)
        out[i] = np.asarray(small.resize((32, 32), Image.Resampling.BOX))
    return out / 255.0


def jpeg_compression(x: np.ndarray, c: int, rng: np.random.Generator) -> np.ndarray:
    out = np.empty(x.shape, dtype=np.uint8)
    for i, im in enumerate(x):
        buf = io.BytesIO()
        Image.fromarray(im).save(buf, "JPEG", quality=int(c))
        out[i] = np.asarray(Image.open(buf).convert("RGB"))
    return out / 255.0


FUNCTIONS: dict[str, Corruption] = {
    "gaussian_noise": gaussian_noise,
    "shot_noise": shot_noise,
    "impulse_noise": impulse_noise,
    "defocus_blur": defocus_blur,
    "glass_blur": glass_blur,
    "motion_blur": motion_blur,
    "zoom_blur": zoom_blur,
    "snow": snow,
    "frost": frost,
    "fog": fog,
    "brightness": brightness,
    "contrast": contrast,
    "elastic_transform": elastic_transform,
    "pixelate": pixelate,
    "jpeg_compression": jpeg_compression,
}
