"""Adversarial-training throughput: ``train_model`` against a bare PyTorch loop doing the same work.

Both sides train the same ~60k-parameter CNN (``cnn_small``) from the same initial weights on the
same images for one epoch: SGD with momentum, weight decay and a per-step cosine rate; FGSM-RS or
PGD-AT examples generated in train mode; channels-last on both sides (it speeds up both on CPU);
then clean and PGD-1 accuracy on a small validation batch. Repetitions are interleaved (the order of
the two sides alternates), and the median of the per-repetition ratios is reported.

Usage::

    python benchmarks/bench_training.py [--images 1024] [--reps 5] [--pgd-steps 3]
        [--device cpu] [--threads N] [--out benchmarks/results/training.md]
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from limeguard.training import AttackSettings, TrainConfig, train_model

BATCH = 128
LR = 0.1
VAL_IMAGES = 64


def make_model() -> nn.Module:
    """The project's small CNN (61k parameters), or the same layers if the registry is absent."""
    try:
        from limeguard.models import build_model

        return build_model("cnn_small", num_classes=10)
    except ImportError:  # models package not there yet
        from limeguard.models.cnn import conv_net

        return conv_net((16, 32, 64, 64), 10)


def bare_attack(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, alpha: float,
                steps: int) -> torch.Tensor:  # fmt: skip
    """L∞ PGD with a uniform random start (FGSM-RS is steps=1, alpha=1.25 eps)."""
    delta = torch.empty_like(x).uniform_(-eps, eps)
    delta = (x + delta).clamp_(0, 1) - x
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = F.cross_entropy(model(x + delta), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, delta)
        delta = (delta.detach() + alpha * grad.sign()).clamp_(-eps, eps)
        delta = (x + delta).clamp_(0, 1) - x
    return (x + delta).detach()


def bare_loop(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, vx: torch.Tensor, vy: torch.Tensor,
    method: str, pgd_steps: int, device: torch.device,
) -> None:  # fmt: skip
    """One epoch of adversarial training plus validation, written out by hand."""
    cl = torch.channels_last
    model = model.to(device).to(memory_format=cl)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9, weight_decay=5e-4)
    eps = 8 / 255
    alpha, steps = (1.25 * eps, 1) if method == "fgsm_rs" else (2 / 255, pgd_steps)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    n_steps = math.ceil(len(x) / BATCH)
    model.train()
    for b in range(n_steps):
        idx = order[b * BATCH : (b + 1) * BATCH]
        xb = x[idx].to(device).contiguous(memory_format=cl)
        yb = y[idx].to(device)
        for g in opt.param_groups:
            g["lr"] = LR * 0.5 * (1 + math.cos(math.pi * (b + 0.5) / n_steps))
        x_adv = bare_attack(model, xb, yb, eps, alpha, steps)
        loss = F.cross_entropy(model(x_adv), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if not math.isfinite(loss.item()):
            raise RuntimeError("loss is not finite")
    model.eval()
    xv, yv = vx.to(device).contiguous(memory_format=cl), vy.to(device)
    with torch.no_grad():
        (model(xv).argmax(1) == yv).sum().item()
    x_adv = bare_attack(model, xv, yv, eps, 2 / 255, 1)
    with torch.no_grad():
        (model(x_adv).argmax(1) == yv).sum().item()


def library_loop(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, vx: torch.Tensor, vy: torch.Tensor,
    method: str, pgd_steps: int, device: torch.device,
) -> None:  # fmt: skip
    """The same epoch through ``train_model``."""
    cfg = TrainConfig(method=method, epochs=1, batch_size=BATCH, lr=LR, schedule="cosine",
                      attack=AttackSettings(steps=pgd_steps), val_steps=1, channels_last=True, co_guard=False,
                      eval_batch_size=VAL_IMAGES, amp="off")  # fmt: skip
    train_model(model, x, y, vx, vy, cfg, device=device, checkpoint_dir=None, progress=False)


def machine() -> str:
    """One line describing the machine and the library versions."""
    cpu = platform.processor() or "?"
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        names = [ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")]
        cpu = f"{names[0]} x{len(names)}" if names else cpu
    except OSError:
        pass
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (f"{platform.system()} {platform.machine()}, {cpu}, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads, Python {platform.python_version()}, "
            f"load average before the run {load}")  # fmt: skip


def bench(method: str, args: argparse.Namespace, device: torch.device) -> list[tuple[float, ...]]:
    """Interleaved repetitions; per repetition (library, bare) images/s of wall-clock time, then
    (library, bare) images per CPU-second of this process (steadier on a shared machine)."""
    torch.manual_seed(0)
    init = make_model()
    x, y = torch.rand(args.images, 3, 32, 32), torch.randint(0, 10, (args.images,))
    vx, vy = torch.rand(VAL_IMAGES, 3, 32, 32), torch.randint(0, 10, (VAL_IMAGES,))
    sides = {"library": library_loop, "bare": bare_loop}
    for fn in sides.values():  # warm-up (allocator, kernels), not timed
        fn(copy.deepcopy(init), x[: 2 * BATCH], y[: 2 * BATCH], vx, vy, method, args.pgd_steps,
           device)  # fmt: skip
    rows = []
    for rep in range(args.reps):
        order = ["library", "bare"] if rep % 2 == 0 else ["bare", "library"]
        speed, cpu = {}, {}
        for side in order:
            model = copy.deepcopy(init)
            if device.type == "cuda":
                torch.cuda.synchronize()
            start, start_cpu = time.perf_counter(), time.process_time()
            sides[side](model, x, y, vx, vy, method, args.pgd_steps, device)
            if device.type == "cuda":
                torch.cuda.synchronize()
            speed[side] = args.images / (time.perf_counter() - start)
            cpu[side] = args.images / (time.process_time() - start_cpu)
        rows.append((speed["library"], speed["bare"], cpu["library"], cpu["bare"]))
        print(f"{method:8s} rep {rep}: train_model {speed['library']:7.1f} img/s, "  # noqa: T201
              f"bare {speed['bare']:7.1f} img/s, ratio {speed['library'] / speed['bare']:.3f}; "
              f"per CPU-s ratio {cpu['library'] / cpu['bare']:.3f}")
    return rows


def report(results: dict[str, list[tuple[float, ...]]], args: argparse.Namespace,
           desc: str) -> str:  # fmt: skip
    """Markdown table of medians and ratios."""
    lines = [
        "# Training throughput: `train_model` vs a bare PyTorch loop",
        "",
        f"Machine: {desc}.",
        "",
        f"Setup: `cnn_small` (61k parameters), {args.images} random 32x32 images, batch {BATCH}, "
        f"one epoch + clean/PGD-1 validation on {VAL_IMAGES} images per call, channels-last on "
        "both sides, "
        f"float32, {args.reps} interleaved repetitions (order alternating), device {args.device}. "
        "Images/s count training images over the whole call (setup, training, validation).",
        "",
        "| method | train_model img/s (median) | bare loop img/s (median) | ratio (median of reps) "
        "| ratio min..max | ratio per CPU-second (median) |",
        "|---|---|---|---|---|---|",
    ]
    for method, rows in results.items():
        ratios = [r[0] / r[1] for r in rows]
        cpu_ratios = [r[2] / r[3] for r in rows]
        lines.append(
            f"| {method} | {statistics.median(r[0] for r in rows):.1f} "
            f"| {statistics.median(r[1] for r in rows):.1f} | {statistics.median(ratios):.3f} "
            f"| {min(ratios):.3f}..{max(ratios):.3f} | {statistics.median(cpu_ratios):.3f} |"
        )
    for method, rows in results.items():
        per_rep = ", ".join(f"{r[0] / r[1]:.2f}" for r in rows)
        lines.append(f"\nPer-repetition wall-clock ratios, {method}: {per_rep}.")
    lines += ["", "Goal: ratio >= 0.90 (train_model within 10% of the bare loop). A ratio is"
              " train_model's throughput over the bare loop's (above 1: train_model faster). The "
              "CPU-second ratio uses this process's CPU time and is less sensitive to other load.",
              "",
              f"Command: `python benchmarks/bench_training.py {' '.join(args.argv)}`", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--pgd-steps", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/training.md"))
    args = parser.parse_args()
    args.argv = sys.argv[1:]
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    desc = machine()
    print(desc)  # noqa: T201
    results = {m: bench(m, args, device) for m in ("fgsm_rs", "pgd_at")}
    results[f"pgd_at ({args.pgd_steps} steps)"] = results.pop("pgd_at")
    text = report(results, args, desc)
    print(text)  # noqa: T201
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
