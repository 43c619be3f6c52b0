"""The ``data.source`` dispatcher: CIFAR, Fashion-MNIST or an image folder, at the configured shape."""

from __future__ import annotations

import json

import torch
import torch.nn.functional as F

from limeguard.images.imageset import ImageSet, to_uint8
from limeguard.images.source_config import DATASETS, SourceConfig


def load_pools(cfg: SourceConfig) -> tuple[ImageSet, ImageSet]:
    """The train and test pools of ``cfg.dataset``, at ``cfg.shape`` (C, H, W).

    CIFAR is returned exactly as :func:`~limeguard.images.sources.load_cifar` reads it.
    """
    if cfg.dataset in DATASETS:
        from limeguard.images.sources import load_cifar

        return load_cifar(cfg)
    if cfg.dataset == "image_folder":
        from limeguard.images.folder import read_image_folder

        return read_image_folder(cfg)
    from limeguard.images.idx import load_fashion_mnist

    train, test = load_fashion_mnist(cfg)
    return conform(train, cfg.shape), conform(test, cfg.shape)


def conform(images: ImageSet, shape: tuple[int, int, int]) -> ImageSet:
    """``images`` at ``shape``: grayscale repeated to RGB (or RGB to luma), resized (bilinear,
    antialiased) and re-quantised to 8-bit levels; the conversion is recorded in
    ``meta['conversions']``. Unchanged if already at ``shape``."""
    if tuple(images.images.shape[1:]) == tuple(shape):
        return images
    channels, height, width = shape
    x = images.images  # (N, C, H, W) in [0, 1]
    done = {}
    if x.shape[1] != channels:
        done[f"channels {x.shape[1]}->{channels}"] = len(images)
        luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        x = x.repeat(1, 3, 1, 1) if channels == 3 else (x * luma).sum(1, keepdim=True)
    if tuple(x.shape[2:]) != (height, width):
        done[f"resized from {x.shape[3]}x{x.shape[2]}"] = len(images)
        x = F.interpolate(x, size=(height, width), mode="bilinear", antialias=True,
                          align_corners=False)
    x = to_uint8(x.clamp(0, 1)).float().div_(255)
    summary = {"images": len(images), "target": "x".join(map(str, shape)), "converted": done}
    return ImageSet(x, images.labels, images.ids, images.classes,
                    {**images.meta, "conversions": json.dumps(summary, sort_keys=True)})
