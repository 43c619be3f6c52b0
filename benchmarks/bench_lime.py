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
        [--threads N] [--regimes free,cnn,memory] [--out benchmarks/results/lime.md]
"""

from __future__ import annotations

import argparse
import os
import platform
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


def median_runs(fns: dict[str, callable], reps: int) -> dict[str, float]:
    """Interleaved repetitions of each timed function; the median per name."""
    runs: dict[str, list[float]] = {name: [] for name in fns}
    for rep in range(reps):
        for name, fn in (fns.items() if rep % 2 == 0 else reversed(list(fns.items()))):
            runs[name].append(fn())
            print(f"rep {rep} {name}: {runs[name][-1]:.4f} s/image", file=sys.stderr)  # noqa: T201
    return {name: statistics.median(v) for name, v in runs.items()}


def regime_free(args) -> list[str]:
    model = FreeModel().eval()
    batched = LimeConfig(num_samples=NUM_SAMPLES, chunk_size=1024, images_per_batch=16,
                         channels_last=False)
    lime_cfg = LimeConfig(num_samples=NUM_SAMPLES, channels_last=False)
    time_engine(model, "batched", 2, batched)  # warm-up
    t = median_runs({"lime": lambda: time_engine(model, "lime", args.lime_images, lime_cfg),
                     "batched": lambda: time_engine(model, "batched", args.images, batched)},
                    args.reps)
    return ["## (a) Near-free classifier (engine overhead)", "",
            "| engine | s / image | ratio |", "|---|---|---|",
            f"| lime (explain_instance, batch_size 10) | {t['lime']:.4f} | 1.0x |",
            f"| batched (chunk 1024, 16 images/group) | {t['batched']:.4f} | "
            f"**{t['lime'] / t['batched']:.1f}x faster** (goal >= 30x) |", ""]


def regime_cnn(args) -> list[str]:
    model = cnn_model()
    fwd = {b: (lambda b=b: time_forward(model, args.images, b)) for b in (64, 128, 256)}
    eng = {f"batched_{b}": (lambda b=b: time_engine(
        model, "batched", args.images, LimeConfig(num_samples=NUM_SAMPLES, chunk_size=b)))
        for b in (128, 256, 1024)}
    lime10 = LimeConfig(num_samples=NUM_SAMPLES, lime_batch_size=10)
    lime128 = LimeConfig(num_samples=NUM_SAMPLES, lime_batch_size=128)
    eng["lime_10"] = lambda: time_engine(model, "lime", args.lime_images, lime10)
    eng["lime_128"] = lambda: time_engine(model, "lime", args.lime_images, lime128)
    time_forward(model, 1, 128)
    t = median_runs({**{f"fwd_{b}": f for b, f in fwd.items()}, **eng}, args.reps)
    best_b = min((64, 128, 256), key=lambda b: t[f"fwd_{b}"])
    floor = t[f"fwd_{best_b}"]
    best_e = min((k for k in t if k.startswith("batched")), key=t.get)
    lines = ["## (b) Real CPU model: cnn_small (61k parameters), channels-last", "",
             "| what | s / image (1000 perturbed images) | vs bare forward at best batch |",
             "|---|---|---|"]
    for name in sorted(t):
        lines.append(f"| {name} | {t[name]:.4f} | {t[name] / floor:.2f}x |")
    lines += ["", f"Best bare forward batch size: {best_b}. Best batched engine: {best_e}: "
              f"**{t[best_e] / floor:.2f}x the forward floor** (goal <= 1.2x), "
              f"**{t['lime_10'] / t[best_e]:.2f}x faster than lime** (batch_size 10) and "
              f"{t['lime_128'] / t[best_e]:.2f}x faster than lime with batch_size 128.", ""]
    return lines


def current_rss_mib() -> float:
    """Resident set size of this process now (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_child(num_samples: int, chunk: int) -> None:
    """Child process: peak RSS growth (MiB) over the RSS before one batched explain of 16 images,
    sampled every millisecond by a thread."""
    import threading

    global SETUP
    model = cnn_model()
    SETUP = setup(16, num_samples)
    cfg = LimeConfig(num_samples=num_samples, chunk_size=chunk, images_per_batch=16)
    before, peak, done = current_rss_mib(), [0.0], threading.Event()

    def poll() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], current_rss_mib())
            time.sleep(0.001)

    thread = threading.Thread(target=poll)
    thread.start()
    time_engine(model, "batched", 16, cfg)
    done.set()
    thread.join()
    print(f"{peak[0] - before:.1f} {before:.1f}")  # noqa: T201


def regime_memory() -> list[str]:
    lines = ["## (c) Peak memory of the batched engine (16 images per group, fresh process each)",
             "",
             "| num_samples | chunk_size | peak RSS growth in explain (MiB) | RSS before (MiB) |",
             "|---|---|---|---|"]
    for num_samples, chunk in ((1000, 256), (4000, 256), (1000, 4096), (4000, 4096)):
        out = subprocess.run([sys.executable, __file__, "--memory-child", str(num_samples),
                              str(chunk)], capture_output=True, text=True, check=True).stdout
        grow, peak = out.split()[-2:]
        lines.append(f"| {num_samples} | {chunk} | {grow} | {peak} |")
    lines += ["", "Growth = peak RSS during the explain call (polled every ms) minus the RSS "
              "before it (model, images and samples already in memory). It follows chunk_size "
              "(perturbed images alive at once, 12 KiB each, and the model's activations on "
              "them) plus the (images_per_batch x num_samples x segments) "
              "float64 ridge design, not num_samples x images x pixels (16 x 4000 perturbed "
              "images would be 750 MiB).", ""]
    return lines


def machine() -> list[str]:
    return [f"- machine: {platform.machine()}, {os.cpu_count()} CPU cores "
            f"(shared with other jobs), Python {platform.python_version()}, "
            f"torch {torch.__version__}, "
            f"torch threads {torch.get_num_threads()}",
            f"- {platform.platform()}"]


def main() -> None:
    global SETUP
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--lime-images", type=int, default=6)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/lime.md"))
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--regimes", default="free,cnn,memory", help="comma-separated subset")
    parser.add_argument("--memory-child", type=int, nargs=2, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_child:
        memory_child(*args.memory_child)
        return
    global LOAD_START
    LOAD_START = tuple(round(v, 1) for v in os.getloadavg())
    SETUP = setup(args.images)
    seg_counts = SETUP[2].n_segments.float()
    head = ["# LIME engines: `lime` package vs batched torch engine", "",
            f"Run: `python benchmarks/bench_lime.py --images {args.images} --lime-images "
            f"{args.lime_images} --reps {args.reps}"
            f"{' --threads ' + str(args.threads) if args.threads else ''}`, "
            f"{time.strftime('%Y-%m-%d %H:%M')}", "",
            *machine(), f"- num_samples {NUM_SAMPLES}; {args.images} synthetic 32x32 images, SLIC "
            f"segments {seg_counts.mean():.1f} mean "
            f"({int(seg_counts.min())}-{int(seg_counts.max())});"
            f" lime timed on the first {args.lime_images}; medians of {args.reps} interleaved reps",
            ""]
    chosen = args.regimes.split(",")
    lines = list(head)
    lines += regime_free(args) if "free" in chosen else []
    lines += regime_cnn(args) if "cnn" in chosen else []
    lines += regime_memory() if "memory" in chosen else []
    lines.insert(5, f"- load average (1/5/15 min) at start {LOAD_START}, at end "
                    f"{tuple(round(v, 1) for v in os.getloadavg())}: other jobs share the cores")
    text = "\n".join(lines)
    print(text)  # noqa: T201
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


SETUP = None
LOAD_START = None

if __name__ == "__main__":
    main()
