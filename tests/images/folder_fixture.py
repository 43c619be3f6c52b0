"""A tiny image folder written by the tests: 3 classes, PNG and JPEG, two sizes, some grayscale."""

from __future__ import annotations

from pathlib import Path

import numpy as np

CLASSES = ("cat", "dog", "lesion")


def write_image_folder(root: Path, per_class: int = 20, classes: tuple[str, ...] = CLASSES,
                       seed: int = 0) -> Path:
    """``root/<class>/NN.{png,jpg}``: smooth seeded images, each class its own tint; even files
    40x48 PNG, odd 24x24 JPEG; every fourth image grayscale (mode L)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for c, name in enumerate(classes):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            height, width = (40, 48) if i % 2 == 0 else (24, 24)
            yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
            base = np.stack([np.sin(3 * xx + c + i), np.cos(2 * yy + c), xx * yy], -1)
            noise = rng.normal(0, 0.1, (height, width, 3))
            pixels = np.clip(127 + 100 * base + 40 * noise + 30 * c, 0, 255).astype(np.uint8)
            img = Image.fromarray(pixels, "RGB")
            if i % 4 == 3:
                img = img.convert("L")
            suffix = "png" if i % 2 == 0 else "jpg"
            img.save(folder / f"{i:02d}.{suffix}", **({"quality": 90} if suffix == "jpg" else {}))
    return root
