"""Benchmark: our PGD-20 against torchattacks' PGD-20 on the same model and batch, side by side.

Both run the same work (20 steps, step 2/255, ε 8/255, random start, eval mode) on the same
images; repetitions are interleaved (and their order alternated) so that load from other processes
hits both alike. Prints images/s per implementation and the ratio ours / torchattacks (goal >= 1).

    python benchmarks/bench_pgd.py [--batch 128] [--reps 7] [--threads N] [--save results/pgd.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import torch
import torchattacks
from torch import nn

from limeguard.attacks import build_attack


def make_model() -> tuple[nn.Module, str]:
    """``cnn_small`` from the model registry, else an equivalent 4-conv CNN defined here."""
    try:
        from limeguard.models import build_model

        return build_model("cnn_small"), "limeguard cnn_small"
    except (ImportError, AttributeError):
        layers: list[nn.Module] = []
        c_in = 3
        for c_out in (16, 32, 64, 64):
            layers += [
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
                nn.MaxPool2d(2) if c_out != 64 or c_in == 64 else nn.Identity(),
            ]
            c_in = c_out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
        return nn.Sequential(*layers), "4-conv CNN (local fallback)"


def time_once(fn, x: torch.Tensor, y: torch.Tensor) -> float:
    torch.manual_seed(0)
    start = time.perf_counter()
    fn(x, y)
    return time.perf_counter() - start


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        names = [
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return (
        f"{cpu}; {os.cpu_count()} logical CPUs; {platform.system()} {platform.machine()}; "
        f"Python {platform.python_version()}; torch {torch.__version__} "
        f"({torch.get_num_threads()} threads); torchattacks {torchattacks.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--save", type=Path, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model, model_name = make_model()
    model.eval()
    x = torch.rand(args.batch, 3, 32, 32)
    with torch.no_grad():
        y = model(x).argmax(1)
    ours_attack = build_attack("pgd", 8, steps=20, alpha_255=2)
    theirs_attack = torchattacks.PGD(model, eps=8 / 255, alpha=2 / 255, steps=20, random_start=True)
    impls = {"limeguard": lambda a, b: ours_attack(model, a, b), "torchattacks": theirs_attack}
    for fn in impls.values():  # warm-up
        time_once(fn, x[:16], y[:16])
    times: dict[str, list[float]] = {k: [] for k in impls}
    load_before = os.getloadavg()[0]
    for rep in range(args.reps):
        order = list(impls) if rep % 2 == 0 else list(reversed(impls))
        for name in order:
            times[name].append(time_once(impls[name], x, y))
    load_after = os.getloadavg()[0]
    lines = report(times, args, model_name, load_before, load_after)
    print("\n".join(lines))  # noqa: T201
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text("\n".join(lines) + "\n")


def report(
    times: dict[str, list[float]], args, model_name: str, load_before: float, load_after: float
) -> list[str]:
    rate = {k: args.batch / statistics.median(v) for k, v in times.items()}
    best = {k: args.batch / min(v) for k, v in times.items()}
    lines = [
        "# PGD-20 throughput: limeguard vs torchattacks",
        "",
        f"- machine: {machine()}",
        f"- load average (1 min) before / after: {load_before:.2f} / {load_after:.2f}",
        f"- model: {model_name}, eval mode; batch {args.batch} x 3x32x32; ε 8/255, step 2/255, "
        f"20 steps, random start; {args.reps} interleaved repetitions",
        "",
        "| implementation | median images/s | best images/s | median s/batch |",
        "|---|---|---|---|",
    ]
    for k, v in times.items():
        lines.append(f"| {k} | {rate[k]:.1f} | {best[k]:.1f} | {statistics.median(v):.3f} |")
    lines += [
        "",
        f"ratio ours / torchattacks (median): {rate['limeguard'] / rate['torchattacks']:.3f}",
        f"ratio ours / torchattacks (best): {best['limeguard'] / best['torchattacks']:.3f}",
    ]
    return lines


if __name__ == "__main__":
    main()
