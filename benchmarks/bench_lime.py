"""LIME engines side by side: the ``lime`` package against the batched torch engine.

Same images, segmentation (SLIC), LIME samples (num_samples=1000) and model on both sides:
(a) a near-free classifier (the GPU regime: engine overhead only), per-image time, goal >= 30x;
(b) the project's ~61k-parameter CNN (``cnn_small``, channels-last): batched engine against the bare
    forward passes over the same number of perturbed images at the best batch size (goal <= 1.2x),
    and against ``lime``;
(c) peak memory (RSS) of the batched engine for two num_samples at a fixed chunk size, each measured
    in a fresh child process.
Repetitions are interleaved; medians are reported.

Usage::

    python benchmarks/bench_lime.py [--images 16] [--lime-images 6] [--reps 3]
        [--out benchmarks/results/lime.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from limeguard.explain.config import LimeConfig, SegmentationConfig  # noqa: E402
from limeguard.explain.engines import explain  # noqa: E402
from limeguard.explain.sampling import image_random_state, sample_masks  # noqa: E402
from limeguard.explain.segmentation import segment_images  # noqa: E402

NUM_SAMPLES = 1000
CPU = torch.device("cpu")


class FreeModel(nn.Module):
    """Near-free classifier: a linear layer on the 4x4 average-pooled image."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.head = nn.Linear(48, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(F.adaptive_avg_pool2d(x, 4).flatten(1))


def cnn_model() -> nn.Module:
    """``cnn_small`` from the registry (61k parameters), channels-last, eval mode."""
    from limeguard.models import build_model

    torch.manual_seed(0)
    model = build_model("cnn_small").eval()
    return model.to(memory_format=torch.channels_last)


def make_images(n: int, seed: int = 0) -> torch.Tensor:
    """(n, 3, 32, 32) smooth random textures in [0, 1] (SLIC gives ~30 segments, as on CIFAR)."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand((n, 3, 8, 8), generator=g)
    fine = torch.rand((n, 3, 32, 32), generator=g) * 0.1
    return (F.interpolate(coarse, size=(32, 32), mode="bilinear") + fine).clamp(0, 1)


def setup(n: int, num_samples: int = NUM_SAMPLES):
    images = make_images(n)
    seg = segment_images(images, SegmentationConfig())
    masks = [sample_masks(int(k), num_samples, image_random_state(0, i))
             for i, k in enumerate(seg.n_segments)]
    labels = torch.arange(n) % 10
    return images, labels, seg, masks


def time_engine(model, engine: str, n: int, cfg: LimeConfig) -> float:
    """Seconds per image for ``engine`` on the first ``n`` images."""
    images, labels, seg, masks = SETUP
    sub = type(seg)(seg.segments[:n], seg.n_segments[:n], seg.fallback[:n])
    start = time.perf_counter()
    explain(model, images[:n], labels[:n], sub, masks[:n], list(range(n)), cfg, engine, CPU)
    return (time.perf_counter() - start) / n


def time_forward(model, n: int, batch: int) -> float:
    """Seconds per image for the bare forward passes over n * NUM_SAMPLES perturbed-size inputs."""
    x = torch.rand((batch, 3, 32, 32)).contiguous(memory_format=torch.channels_last)
    total, done = n * NUM_SAMPLES, 0
    start = time.perf_counter()
    with torch.inference_mode():
        while done < total:
            size = min(batch, total - done)
            model(x[:size])
            done += size
    return (time.perf_counter() - start) / n
