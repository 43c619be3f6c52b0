"""The planted-cue benchmark over seeds and mask sources: does refinement unlearn the shortcut?

For each ``runtime.seed`` and each ``rounds.refine.masks`` (``oracle``: the planted pixels;
``mined``: the previous round's mining) this runs the part of the ``refine`` job that the question
needs (``kedro run --to-outputs``: baselines, mining, rounds, matched control, and per model the
aligned / swapped / uncued test accuracy, and for the control and the last round AutoAttack on the
uncued test images), copies each run's per-model JSON files aside, and writes a per-seed table with
mean ± std. Finished runs are kept beside the table (``<out>.json``, committed): a rerun skips
them (delete an entry to rerun it), so the benchmark resumes across sessions. The seeds vary the
models' initialisation (baselines are keyed by the seed); the splits and the cue stay fixed.

    python benchmarks/planted_seeds.py [--env spurious] [--arm transplant] [--seeds 0 1 2]
        [--masks oracle mined] [--params runtime.num_threads=1]
        [--out benchmarks/results/planted_seeds.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 3


def round_names(arm: str, rounds: int) -> list[str]:
    return [f"{arm}.round_{k}" for k in range(1, rounds + 1)]


def outputs(arm: str, rounds: int) -> list[str]:
    models = ["adversarial", "control", *round_names(arm, rounds)]
    last = ["control.uncued_robustness", f"{arm}.round_{rounds}.uncued_robustness"]
    infos = [f"{name}.round_info" for name in round_names(arm, rounds)]
    return [f"{m}.cue_reliance" for m in models] + last + infos + ["adversarial.cue_recovery"]


def run_once(env: str, arm: str, seed: int, masks: str, data_root: Path, keep: Path,
             extra: str) -> dict:
    """One kedro run; returns {model: {reliance..., autoattack_uncued}} and its wall time."""
    command = [str(ROOT / ".venv/bin/kedro"), "run", "--env", env,
               "--to-outputs", ",".join(outputs(arm, ROUNDS)),
               "--params", f"runtime.seed={seed},rounds.refine.masks={masks},runtime.progress=false"
               + (f",{extra}" if extra else "")]
    environ = {**os.environ, "KEDRO_ENV": env, "KEDRO_DISABLE_TELEMETRY": "true",
               "DVC_NO_ANALYTICS": "1", "MPLBACKEND": "Agg", "TQDM_DISABLE": "1"}
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=environ, check=True)
    seconds = time.perf_counter() - start
    report = data_root / "08_reporting"
    target = keep / f"seed{seed}_{masks}"
    shutil.rmtree(target, ignore_errors=True)
    out: dict = {"seconds": seconds, "models": {}}
    for folder in sorted(p for p in report.iterdir() if p.is_dir()):
        reliance = folder / "cue_reliance.json"
        if not reliance.is_file():
            continue
        (target / folder.name).mkdir(parents=True, exist_ok=True)
        row = json.loads(reliance.read_text())
        shutil.copy(reliance, target / folder.name)
        robust = folder / "uncued_robustness.json"
        if folder.name in ("control", f"{arm}.round_{ROUNDS}") and robust.is_file():
            row["autoattack_uncued"] = json.loads(robust.read_text())["autoattack_accuracy"]
            shutil.copy(robust, target / folder.name)
        recovery = folder / "cue_recovery.json"
        if folder.name == "adversarial" and recovery.is_file():
            found = json.loads(recovery.read_text())
            spurious = found["criteria"]["spurious"]
            row["mined_precision"], row["mined_recall"] = spurious["precision"], spurious["recall"]
            row["searched"] = found.get("training_images")
            shutil.copy(recovery, target / folder.name)
        info = folder / "round_info.json"
        if folder.name.startswith(f"{arm}.round_") and info.is_file():
            row["applied"] = json.loads(info.read_text()).get("applied_masks")
            shutil.copy(info, target / folder.name)
        out["models"][folder.name] = row
        reliance.unlink()  # a later run reads only what it wrote itself
    out["searched_by_class"] = searched_by_class(data_root)
    return out


def searched_by_class(data_root: Path) -> dict[str, dict] | None:
    """Per class, the recovery of the masks the AT baseline's mask transfer handed the training
    images (``adversarial/refinement_masks``) against each image's own cue pixels: which classes'
    cues the model's reliance let mining find. None when the run wrote no such masks."""
    import torch

    from limeguard.datasets.tensors import TensorsDataset
    from limeguard.explain.groundtruth import mask_recovery
    from limeguard.images.spurious import cue_pixel_masks
    from limeguard.safetensors_io import META_KEY

    path = data_root / "07_model_output" / "adversarial" / "refinement_masks.safetensors"
    if not path.is_file():
        return None
    masks = TensorsDataset(str(path)).load()
    cue = TensorsDataset(str(data_root / "05_model_input" / "spurious_cue.safetensors")).load()
    train = TensorsDataset(str(data_root / "05_model_input" / "train_images.safetensors")).load()
    keep = torch.isin(masks["image_ids"], train["ids"])
    ids, found = masks["image_ids"][keep], masks["image_masks"][keep].bool()
    labels = train["labels"][train["ids"].argsort()][torch.searchsorted(
        train["ids"].sort().values, ids)]
    truth = cue_pixel_masks(cue, labels, ids, cue["train_cued_ids"])
    names = cue[META_KEY].get("classes") or []
    return {names[c] if c < len(names) else str(c): mask_recovery(found[labels == c], truth[labels == c])
            for c in labels.unique().tolist()}


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def table(results: dict) -> list[str]:
    lines = ["| masks | seed | model | aligned | swapped | uncued | gap (points) | AutoAttack, uncued |",
             "|---|---|---|---|---|---|---|---|"]
    for (masks, seed), run in sorted(results.items()):
        for model, r in run["models"].items():
            lines.append(f"| {masks} | {seed} | {model} | {pct(r['aligned_accuracy'])} | "
                         f"{pct(r['swapped_accuracy'])} | {pct(r.get('uncued_accuracy'))} | "
                         f"{pct(r['gap'])} | {pct(r.get('autoattack_uncued'))} |")
    return lines


def summary(results: dict) -> list[str]:
    lines = ["| masks | model | n seeds | gap (points) | uncued | AutoAttack, uncued |",
             "|---|---|---|---|---|---|"]
    for masks in sorted({m for m, _ in results}):
        runs = [run for (m, _), run in sorted(results.items()) if m == masks]
        for model in runs[0]["models"]:
            rows = [run["models"][model] for run in runs if model in run["models"]]
            cells = [_mean_std([r.get(key) for r in rows])
                     for key in ("gap", "uncued_accuracy", "autoattack_uncued")]
            lines.append(f"| {masks} | {model} | {len(rows)} | " + " | ".join(cells) + " |")
    return lines


def mining(results: dict) -> list[str]:
    lines = ["| masks | seed | probe images: precision | recall | training images (searched): "
             "precision | recall | cued masked | uncued masked |", "|---|---|---|---|---|---|---|---|"]
    for (masks, seed), run in sorted(results.items()):
        r = run["models"].get("adversarial", {})
        s = r.get("searched") or {}
        lines.append(f"| {masks} | {seed} | {pct(r.get('mined_precision'))} | "
                     f"{pct(r.get('mined_recall'))} | {pct(s.get('precision'))} | "
                     f"{pct(s.get('recall'))} | {pct(s.get('images_masked_cued'))} | "
                     f"{pct(s.get('images_masked_uncued'))} |")
    return lines


def by_class(results: dict) -> list[str]:
    lines = ["| masks | seed | class | precision | recall | cued masked |", "|---|---|---|---|---|---|"]
    for (masks, seed), run in sorted(results.items()):
        for cls, r in (run.get("searched_by_class") or {}).items():
            lines.append(f"| {masks} | {seed} | {cls} | {pct(r.get('precision'))} | "
                         f"{pct(r.get('recall'))} | {pct(r.get('images_masked_cued'))} |")
    return lines


def applied(results: dict) -> list[str]:
    lines = ["| masks | seed | round | precision | recall | cued masked | uncued masked |",
             "|---|---|---|---|---|---|---|"]
    for (masks, seed), run in sorted(results.items()):
        for model, r in run["models"].items():
            a = r.get("applied")
            if a:
                lines.append(f"| {masks} | {seed} | {model} | {pct(a.get('precision'))} | "
                             f"{pct(a.get('recall'))} | {pct(a.get('images_masked_cued'))} | "
                             f"{pct(a.get('images_masked_uncued'))} |")
    return lines


def _mean_std(values: list[float | None]) -> str:
    values = [100 * v for v in values if v is not None]
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.1f} (one seed)"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="spurious")
    parser.add_argument("--arm", default="transplant", help="the arm of rounds.arms whose rounds run")
    parser.add_argument("--data-root", default=None, help="the env's data root (default data/<env>)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--masks", nargs="+", default=["oracle", "mined"])
    parser.add_argument("--params", default="", help="more kedro --params (not seed or masks)")
    parser.add_argument("--out", default=None,
                        help="default benchmarks/results/planted_seeds.md (env spurious) or "
                             "planted_seeds_<env>.md")
    args = parser.parse_args()
    if args.out is None:
        suffix = "" if args.env == "spurious" else f"_{args.env}"
        args.out = f"benchmarks/results/planted_seeds{suffix}.md"
    args.out = str(ROOT / args.out)
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f"--seeds: duplicates in {args.seeds}")
    data_root = ROOT / (args.data_root or f"data/{args.env}")
    keep = data_root / "08_reporting" / "seeds"
    store = Path(args.out).with_suffix(".json")  # finished runs (committed beside the table): a
    # rerun, in this session or a later one, resumes after them
    results = {tuple(json.loads(key)): run for key, run in
               (json.loads(store.read_text()) if store.is_file() else {}).items()}
    for seed in args.seeds:
        for masks in args.masks:
            if (masks, seed) in results:
                continue
            results[(masks, seed)] = run_once(args.env, args.arm, seed, masks, data_root, keep,
                                              args.params)
            store.write_text(json.dumps({json.dumps(list(k)): v for k, v in results.items()},
                                        indent=1))
            write(Path(args.out), args, results)
    if results:  # the table of every finished run, also when this call ran none
        write(Path(args.out), args, results)


def write(path: Path, args: argparse.Namespace, results: dict) -> None:
    seconds = sum(run["seconds"] for run in results.values())
    lines = [f"# Planted-cue benchmark over seeds (`{args.env}` env)", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
             f"{platform.python_version()}; {seconds / 60:.1f} min of kedro runs for "
             f"{len(results)} runs. Accuracies in % on the test split of the env's data "
             "(CIFAR-10 JPEG q75 mirror with the planted cue); gap = aligned - swapped.", "",
             "## Mean ± std over seeds", "", *summary(results), "", "## Per seed", "",
             *table(results), "", "## Mining of the AT baseline (spurious set vs the planted pixels)",
             "", *mining(results), "", "### The searched masks per class (training images)", "",
             *by_class(results), "", "## The masks each round applied to the training images "
             "(accumulated; vs each image's own cue pixels)", "", *applied(results), ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
