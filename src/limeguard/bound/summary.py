"""Summary of the per-image bound table: means, medians, validity and correlations."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

SUMMARIZED = ("margin", "L_S", "L_R", "bound_255", "bound_R_only_255", "eps_empirical_255",
              "attribution_share_S", "mask_share_S")  # fmt: skip


def correlation(a: pd.Series, b: pd.Series, method: str) -> float:
    """Pearson or Spearman correlation over finite pairs; NaN with < 3 pairs or a constant."""
    ok = np.isfinite(a.to_numpy(float)) & np.isfinite(b.to_numpy(float))
    a, b = a[ok].astype(float), b[ok].astype(float)
    if len(a) < 3 or a.nunique() < 2 or b.nunique() < 2:
        return float("nan")
    if method == "spearman":
        a, b = a.rank(), b.rank()
    return float(np.corrcoef(a.to_numpy(), b.to_numpy())[0, 1])


def summarize_bound(table: pd.DataFrame, tolerance_255: float = 0.0) -> dict[str, Any]:
    """JSON-ready summary of :func:`attribution_bound`'s table.

    Means and medians are over correctly classified images (``n_correct``); the correlations
    of the bound (and of ``g / L_R`` and the attribution share) with the empirical distortion
    are over correctly classified images too (censored ones enter at ``max_eps``).
    ``bound_holds_share`` is the share of them whose estimated bound does not exceed the
    empirical distortion by more than ``tolerance_255``. NaN becomes None.
    """
    ok = table[~table["misclassified"]]
    out: dict[str, Any] = {
        "n_images": len(table),
        "n_correct": len(ok),
        "n_misclassified": int(table["misclassified"].sum()),
        "n_censored": int(ok["censored"].sum()),
        "n_bound_beyond_ball": int(ok["bound_beyond_ball"].sum()),
    }
    for col in SUMMARIZED:
        vals = ok[col].replace([np.inf, -np.inf], np.nan)
        out[f"mean_{col}"] = _num(vals.mean())
        out[f"median_{col}"] = _num(vals.median())
    emp = ok["eps_empirical_255"]
    holds = ok["bound_255"] <= emp + tolerance_255
    out["bound_holds_share"] = _num(holds.mean()) if len(ok) else None
    for name, col in (("bound", "bound_255"), ("bound_R_only", "bound_R_only_255"),
                      ("attribution_share_S", "attribution_share_S")):  # fmt: skip
        out[f"pearson_{name}_vs_empirical"] = _num(correlation(ok[col], emp, "pearson"))
        out[f"spearman_{name}_vs_empirical"] = _num(correlation(ok[col], emp, "spearman"))
    return out


def _num(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value
