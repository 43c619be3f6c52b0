"""Numbers the report quotes, extracted from the per-model tables (accuracies in [0, 1])."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from limeguard.reporting.inputs import ModelResults

HEADLINE_ATTACKS = ("fgsm", "pgd", "pgd_restarts", "cw", "autoattack", "square",
                    "worst_case", "worst_case_whitebox")  # fmt: skip
AUTOATTACK_VARIANTS = ("autoattack", "autoattack_fast")
BOUND_KEYS = ("mean_margin", "mean_L_S", "mean_L_R", "mean_bound_255", "mean_bound_R_only_255",
              "mean_eps_empirical_255", "mean_attribution_share_S", "mean_mask_share_S",
              "spearman_bound_vs_empirical", "pearson_bound_vs_empirical", "bound_holds_share",
              "n_correct")  # fmt: skip


@dataclass(frozen=True)
class Stat:
    """Mean and standard deviation over ``n`` seeds (std NaN with one seed)."""

    mean: float
    std: float
    n: int

    @staticmethod
    def of(values: Sequence[float]) -> Stat:
        """The statistic of finite ``values`` (NaN mean when none is finite)."""
        finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
        if not finite:
            return Stat(float("nan"), float("nan"), 0)
        std = float(np.std(finite, ddof=1)) if len(finite) > 1 else float("nan")
        return Stat(float(np.mean(finite)), std, len(finite))


def accuracy_at(summary: pd.DataFrame, attack: str, eps_255: float) -> float:
    """Accuracy of ``attack`` at ``eps_255`` (clean: at any ε), NaN when not measured."""
    rows = summary[summary["attack"] == attack]
    if attack != "clean":
        rows = rows[np.isclose(rows["eps_255"].astype(float), eps_255)]
    return float(rows["accuracy"].astype(float).mean()) if len(rows) else float("nan")


def autoattack_variant(summary: pd.DataFrame, eps_255: float) -> str | None:
    """Which AutoAttack label ran at ``eps_255`` (``autoattack`` preferred), or None."""
    for label in AUTOATTACK_VARIANTS:
        if math.isfinite(accuracy_at(summary, label, eps_255)):
            return label
    return None


def n_images(summary: pd.DataFrame) -> int:
    """Test images evaluated (the clean row's n, else the largest n)."""
    clean = summary.loc[summary["attack"] == "clean", "n"]
    values = clean if len(clean) else summary["n"]
    return int(values.max()) if len(values) else 0


def headline(run: ModelResults, eps_255: float) -> dict[str, float]:
    """Clean, each attack and worst case at ``eps_255``, CIFAR-10-C mean, spurious share."""
    out = {"clean": accuracy_at(run.summary, "clean", 0.0)}
    variant = autoattack_variant(run.summary, eps_255)
    for attack in HEADLINE_ATTACKS:
        label = variant if attack == "autoattack" and variant else attack
        out[attack] = accuracy_at(run.summary, label, eps_255)
    out["cifar10c_mean"] = corruption_mean(run.corruption)
    out["spurious_share"] = spurious_share(mining_long(run.mining))
    return out


def aggregate(runs: Sequence[ModelResults], eps_255: float) -> dict[str, Stat]:
    """:func:`headline` per seed, as mean ± std over the seeds."""
    rows = [headline(r, eps_255) for r in runs]
    return {key: Stat.of([row[key] for row in rows]) for key in rows[0]}


def mean_summary(runs: Sequence[ModelResults]) -> pd.DataFrame:
    """The summary tables of several seeds averaged (accuracy) per attack and ε."""
    frame = pd.concat([r.summary for r in runs], ignore_index=True)
    keys = ["attack", "eps_255"]
    table = frame.groupby(keys, sort=False).agg(
        eps_linf=("eps_linf", "first"), n=("n", "max"), accuracy=("accuracy", "mean")
    )
    return table.reset_index()


def corruption_mean(table: pd.DataFrame | None) -> float:
    """Mean CIFAR-10-C accuracy (the ``mean`` rows, else every row); NaN without a table."""
    if table is None or table.empty:
        return float("nan")
    rows = table[table["corruption"] == "mean"]
    rows = rows if len(rows) else table
    return float(rows["accuracy"].astype(float).mean())


def corruption_by_name(runs: Sequence[ModelResults]) -> pd.Series:
    """Accuracy per corruption averaged over severities (and seeds); ``mean`` included."""
    tables = [r.corruption for r in runs if r.corruption is not None]
    if not tables:
        return pd.Series(dtype=float)
    frame = pd.concat(tables, ignore_index=True)
    return frame.groupby("corruption", sort=False)["accuracy"].mean()


def corruption_by_severity(runs: Sequence[ModelResults]) -> pd.Series:
    """Mean accuracy over corruptions per severity (the ``mean`` rows, averaged over seeds)."""
    tables = [r.corruption for r in runs if r.corruption is not None]
    if not tables:
        return pd.Series(dtype=float)
    frame = pd.concat(tables, ignore_index=True)
    means = frame[frame["corruption"] == "mean"]
    if means.empty:
        means = frame
    return means.groupby("severity")["accuracy"].mean().sort_index()


def mining_long(mining: pd.DataFrame | Mapping[str, float] | None) -> pd.DataFrame:
    """Mining summary as ``criterion, class, share`` (class ``all`` overall); empty when None."""
    columns = ["criterion", "class", "share"]
    if mining is None:
        return pd.DataFrame(columns=columns)
    if isinstance(mining, Mapping):
        rows = [(str(k), "all", float(v)) for k, v in mining.items()]
        return pd.DataFrame(rows, columns=columns)
    if "scope" in mining.columns:
        shares = [c for c in mining.columns if c.startswith("share_")]
        wide = mining.assign(**{"class": [
            "all" if s == "all" else str(lbl)
            for s, lbl in zip(mining["scope"], mining.get("label", mining["scope"]), strict=True)
        ]})  # fmt: skip
        long = wide.melt(id_vars=["class"], value_vars=shares, var_name="criterion",
                         value_name="share")
        long["criterion"] = long["criterion"].str.removeprefix("share_")
        return long[columns]
    out = mining[columns].copy()
    out["class"] = out["class"].astype(str)
    return out


def spurious_share(long: pd.DataFrame) -> float:
    """Overall share of superpixels flagged spurious (NaN when not reported)."""
    rows = long[(long["criterion"] == "spurious") & (long["class"] == "all")]
    return float(rows["share"].astype(float).mean()) if len(rows) else float("nan")


def criterion_shares(long: pd.DataFrame) -> dict[str, float]:
    """Overall share flagged per criterion."""
    rows = long[long["class"] == "all"]
    means = rows.groupby("criterion", sort=False)["share"].mean()
    return {str(c): float(s) for c, s in means.items()}


def bound_numbers(run: ModelResults) -> dict[str, float]:
    """Means, correlations and validity of the bound (keys :data:`BOUND_KEYS`); NaN if absent.

    Computed from the per-image table over correctly classified images, then overridden by
    any value the given ``bound_summary`` holds (same key names as ``summarize_bound``).
    """
    out = {key: float("nan") for key in BOUND_KEYS}
    if run.bound is not None:
        out.update(_bound_from_table(run.bound))
    for key, value in (run.bound_summary or {}).items():
        if key in out and value is not None:
            out[key] = float(value)
    return out


def bound_columns(table: pd.DataFrame) -> tuple[pd.DataFrame, str, str]:
    """Correctly classified rows and the names of the bound and empirical columns (/255)."""
    ok = table[~table["misclassified"].astype(bool)] if "misclassified" in table else table
    bound = "bound_255" if "bound_255" in table else "bound"
    emp = "eps_empirical_255" if "eps_empirical_255" in table else "eps_empirical"
    return ok, bound, emp


def _bound_from_table(table: pd.DataFrame) -> dict[str, float]:
    ok, bound, emp = bound_columns(table)
    out: dict[str, float] = {"n_correct": float(len(ok))}
    sources = {"margin": "margin", "L_S": "L_S", "L_R": "L_R", "bound_255": bound,
               "eps_empirical_255": emp, "attribution_share_S": "attribution_share_S",
               "mask_share_S": "mask_share_S",
               "bound_R_only_255": "bound_R_only_255" if "bound_R_only_255" in ok
               else "bound_R_only"}  # fmt: skip
    for key, column in sources.items():
        if column in ok:
            values = ok[column].astype(float).replace([np.inf, -np.inf], np.nan)
            out[f"mean_{key}"] = float(values.mean())
    out["spearman_bound_vs_empirical"] = correlation(ok[bound], ok[emp], "spearman")
    out["pearson_bound_vs_empirical"] = correlation(ok[bound], ok[emp], "pearson")
    if len(ok):
        holds = ok[bound].astype(float) <= ok[emp].astype(float)
        out["bound_holds_share"] = float(holds.mean())
    return out


def correlation(a: pd.Series, b: pd.Series, method: str) -> float:
    """Pearson or Spearman correlation over finite pairs; NaN with < 3 pairs or a constant."""
    a, b = a.astype(float).reset_index(drop=True), b.astype(float).reset_index(drop=True)
    ok = np.isfinite(a.to_numpy()) & np.isfinite(b.to_numpy())
    a, b = a[ok], b[ok]
    if len(a) < 3 or a.nunique() < 2 or b.nunique() < 2:
        return float("nan")
    if method == "spearman":
        a, b = a.rank(), b.rank()
    return float(np.corrcoef(a.to_numpy(), b.to_numpy())[0, 1])


def finite(value: Any) -> bool:
    """True for a finite number."""
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
