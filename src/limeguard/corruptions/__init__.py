"""CIFAR-10-C (Hendrycks & Dietterich 2019): generation at the CIFAR constants, and the real files.

Library code: never imports Kedro; caching on disk is the pipeline's job. Generated images follow
``make_cifar_c.py`` (its 32x32 constants, in :mod:`.constants`) with these differences:

- random numbers come from numpy ``Generator`` streams seeded per (seed, corruption, severity,
  chunk of ``chunk_size`` images), so images differ from the published ones draw by draw while
  following the same distributions;
- motion blur (and the snow streaks) use a numpy line kernel equal to the ``imagecorruptions``
  port of ImageMagick's ``MotionBlurImage``, not Wand/ImageMagick (no 8-bit rounding in between);
- OpenCV steps are re-implemented with numpy/scipy: ``warpAffine`` (bilinear, reflect-101, without
  OpenCV's 1/32-pixel coordinate quantisation), ``filter2D``, ``GaussianBlur``, ``resize``;
- frost uses the frost photographs shipped by ``imagecorruptions-imaug`` (or
  ``$LIMEGUARD_FROST_DIR``); frost1..frost5 only, as the reference.

Faithful quirks kept: glass blur's "swap" is a copy (numpy views), fog's plasma fractal scales its
noise by wibble twice, outputs are truncated to uint8 levels. With these constants the pixel
distance to the clean image is not monotone in severity for glass_blur, motion_blur (3 ~ 4), frost
(peaks at 3) and elastic_transform (falls: the affine jitter shrinks as the local warp grows).
"""

from limeguard.corruptions.constants import CONSTANTS, CORRUPTIONS, SEVERITIES
from limeguard.corruptions.files import (
    cifar10c_available,
    load_cifar10c,
    missing_files,
    severity_rows,
)
from limeguard.corruptions.generate import (
    CHUNK_SIZE,
    CifarCConfig,
    corrupt,
    corrupt_uint8,
    generate_cifar10c,
    to_float_nchw,
    to_uint8_nhwc,
)

__all__ = [
    "CHUNK_SIZE",
    "CONSTANTS",
    "CORRUPTIONS",
    "SEVERITIES",
    "CifarCConfig",
    "cifar10c_available",
    "corrupt",
    "corrupt_uint8",
    "generate_cifar10c",
    "load_cifar10c",
    "missing_files",
    "severity_rows",
    "to_float_nchw",
    "to_uint8_nhwc",
]
