"""CIFAR-10-C (Hendrycks & Dietterich 2019): generation at the CIFAR constants, and the real files.

Library code: never imports Kedro; caching on disk is the pipeline's job.
"""

from limeguard.corruptions.constants import CONSTANTS, CORRUPTIONS, SEVERITIES
from limeguard.corruptions.files import cifar10c_available, load_cifar10c, missing_files, severity_rows
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
