import numpy as np
import pytest
from scipy import ndimage


def textured_images(n: int, seed: int = 0) -> np.ndarray:
    """(n, 3, 32, 32) uint8 CIFAR-like images: smooth background, a centred object, fine texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:32, 0:32]
    out = []
    for _ in range(n):
        bg = rng.uniform(0.2, 0.8, (3, 1, 1)) + ndimage.gaussian_filter(
            rng.normal(0, 1, (3, 32, 32)), (0, 5, 5)
        )
        cy, cx, ry, rx = (
            rng.uniform(12, 20),
            rng.uniform(12, 20),
            rng.uniform(5, 10),
            rng.uniform(5, 10),
        )
        obj = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        img = np.where(obj, rng.uniform(0.1, 0.9, (3, 1, 1)), bg)
        img = ndimage.gaussian_filter(img, (0, 0.7, 0.7))
        img += ndimage.gaussian_filter(rng.normal(0, 0.12, (3, 32, 32)), (0, 0.6, 0.6))
        out.append(np.clip(img, 0, 1))
    return np.rint(np.stack(out) * 255).astype(np.uint8)


@pytest.fixture(scope="session")
def images() -> np.ndarray:
    return textured_images(12)
