"""The decoy benchmark's report: accuracy over seeds, paired intervals between methods, the share of
the vanilla-to-RRR gap our mined arm and the paper's arm close, each arm's mined masks' recovery of
the true swatches, the vanilla model's training curve, and the published numbers beside ours
(markdown + JSON)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from limeguard.decoy.config import METHODS, REFINED_ARMS
from limeguard.decoy.markdown import render
from limeguard.evaluation.paired import paired_difference

MEASURES = ("decoy_correct", "clean_correct", "robust_correct")
PAIRS = (("mined", "vanilla"), ("rrr", "vanilla"), ("mined", "rrr"),
         ("counterexamples", "vanilla"), ("mined", "counterexamples"), ("clean", "rrr"),
         ("paper", "vanilla"), ("paper", "mined"), ("paper", "rrr"))
DONE_WHEN = 0.8  # issue 25: mined closes >= 80% of the vanilla -> RRR gap
PUBLISHED = [  # what the sources say, as far as they could be read offline
    ("Ross et al. 2017, decoy MNIST, MLP", "vanilla 51.6 (train 99.7), RRR 96.1, "
     "clean ceiling 96.1"),
    ("Friedrich et al. 2023, decoy FMNIST, CNN", "not checked offline: the paper's table is not "
     "in this sandbox; no number quoted"),
]


def matrix(outcomes: list[pd.DataFrame], method: str, measure: str) -> np.ndarray:
    """(S, N) per-seed, per-image scores of ``method`` (rows with a score only)."""
    rows = [o[o["method"] == method].sort_values("image_id")[measure].dropna().to_numpy()
            for o in outcomes]
    return np.stack(rows)


def accuracy_table(outcomes: list[pd.DataFrame], summaries: list[dict[str, Any]]) -> pd.DataFrame:
    """Per method: mean and std over seeds of each measure (in %), train accuracy, wall time."""
    rows = []
    for method in METHODS:
        row: dict[str, Any] = {"method": method, "n_seeds": len(outcomes)}
        for measure in MEASURES:
            per_seed = matrix(outcomes, method, measure).mean(1) * 100
            row[f"{measure}_mean"], row[f"{measure}_std"] = per_seed.mean(), per_seed.std(ddof=1) \
                if len(per_seed) > 1 else float("nan")
        runs = [s[method] for s in summaries]
        row["train_acc"] = 100 * np.mean([r["train_acc"] for r in runs])
        row["wall_s"] = np.mean([r["seconds"] for r in runs])
        row["epochs"] = runs[0]["epochs"]
        rows.append(row)
    return pd.DataFrame(rows)


def comparisons(outcomes: list[pd.DataFrame], level: float, n_boot: int) -> list[dict[str, Any]]:
    """Paired differences (points) with seeds x images bootstrap intervals, per pair and measure."""
    out = []
    for candidate, reference in PAIRS:
        for measure in ("decoy_correct", "robust_correct"):
            d = paired_difference(matrix(outcomes, candidate, measure),
                                  matrix(outcomes, reference, measure), level, n_boot)
            out.append({"candidate": candidate, "reference": reference, "measure": measure,
                        "diff": 100 * d.diff, "low": 100 * d.low, "high": 100 * d.high,
                        "n_seeds": d.n_seeds, "n_images": d.n_images, "over": d.over,
                        "mcnemar_p": d.mcnemar_p})
    return out


def gap_closed(outcomes: list[pd.DataFrame], level: float, n_boot: int,
               arm: str = "mined") -> dict[str, Any]:
    """Share of the vanilla -> RRR decoy-test gap ``arm`` closes, per seed and pooled.

    The share means something only where RRR beats vanilla (its paired interval above 0): else
    there is no gap (vanilla does not rely on the swatch) and the done-when is not established.
    """
    acc = {m: matrix(outcomes, m, "decoy_correct").mean(1) for m in ("vanilla", "rrr", arm)}
    gap = acc["rrr"] - acc["vanilla"]
    per_seed = [float(c / g) if abs(g) > 1e-9 else float("nan")
                for c, g in zip(acc[arm] - acc["vanilla"], gap, strict=True)]
    pooled = float((acc[arm].mean() - acc["vanilla"].mean()) / gap.mean()) \
        if abs(gap.mean()) > 1e-9 else float("nan")
    rrr = paired_difference(matrix(outcomes, "rrr", "decoy_correct"),
                            matrix(outcomes, "vanilla", "decoy_correct"), level, n_boot)
    has_gap = rrr.low > 0
    return {"arm": arm, "per_seed": per_seed, "pooled": pooled, "target": DONE_WHEN,
            "gap_points": 100 * rrr.diff, "gap_interval": [100 * rrr.low, 100 * rrr.high],
            "gap_exists": bool(has_gap),
            "met": bool(has_gap and np.isfinite(pooled) and pooled >= DONE_WHEN)}


def mask_summary(mined: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per round of one refined arm (``mined``: per seed, its rounds): mean over seeds of the
    masks' pixel precision / recall (probe, training)."""
    rows = []
    for r in range(len(mined[0])):
        row: dict[str, Any] = {"round": r + 1}
        for where in ("probe_masks", "training_masks"):
            for key in ("precision", "recall", "images_masked_cued"):
                row[f"{where}_{key}"] = float(np.nanmean([s[r][where][key] for s in mined]))
        row["mining_seconds"] = float(np.mean([s[r]["mining_seconds"] for s in mined]))
        rows.append(row)
    return rows


def build_report(outcomes: list[pd.DataFrame], summaries: list[dict[str, Any]],
                 seeds: list[int], params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The markdown report and its metrics (JSON-able): ``gap_closed`` is the mined arm's share
    (issue 25's done-when), ``gap_closed_paper`` the paper arm's; ``masks`` per refined arm."""
    table = accuracy_table(outcomes, summaries)
    level, n_boot = params["level"], params["n_boot"]
    metrics = {"seeds": seeds, "accuracy": table.to_dict("records"),
               "comparisons": comparisons(outcomes, level, n_boot),
               "gap_closed": gap_closed(outcomes, level, n_boot, "mined"),
               "gap_closed_paper": gap_closed(outcomes, level, n_boot, "paper"),
               "masks": {arm: mask_summary([s[arm]["rounds"] for s in summaries])
                         for arm in REFINED_ARMS},
               "vanilla_curve": vanilla_curve(summaries), "protocol": params["protocol"],
               "attack": params["attack"], "published": dict(PUBLISHED)}
    return render(metrics), metrics


def vanilla_curve(summaries: list[dict[str, Any]]) -> list[float]:
    """Mean over seeds of the vanilla model's training accuracy per epoch (%)."""
    curves = np.array([s["vanilla"]["curve"] for s in summaries], dtype=float)
    return [float(v) for v in 100 * curves.mean(0)]
