"""Figures of the report as ``matplotlib.figure.Figure`` objects (no pyplot state).

The caller saves them (``fig.savefig(path)``) as ``<figure_dir>/<name>.png``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from limeguard.reporting import numbers
from limeguard.reporting.view import RunView, progress_rows


def _figure(width: float = 6.4, height: float = 4.0, cols: int = 1) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(1, cols)


def build_figures(view: RunView) -> dict[str, Any]:
    """Every figure the data allow, by name (see the section builders for the links)."""
    figures = {"robust_accuracy_vs_eps": robust_vs_eps(view)}
    optional = {"round_progress": round_progress, "bound_vs_distortion": bound_scatter,
                "training_curves": training_curves, "cifar10c_by_corruption": corruption_bars}
    for name, make in optional.items():
        fig = make(view)
        if fig is not None:
            figures[name] = fig
    return figures


def robust_vs_eps(view: RunView) -> Any:
    """PGD (solid) and worst-case (dashed) accuracy against ε (/255) per model."""
    fig, ax = _figure()
    for i, (name, runs) in enumerate(view.models.items()):
        s = numbers.mean_summary(runs)
        colour = f"C{i % 10}"
        for attack, style in (("pgd", "-"), ("worst_case", "--")):
            rows = s[s["attack"] == attack].sort_values("eps_255")
            if len(rows):
                ax.plot(rows["eps_255"], 100 * rows["accuracy"], style, marker=".",
                        color=colour, label=f"{name} {attack.replace('_', ' ')}")
    ax.set_xlabel("ε (pixel units, /255)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"Robust accuracy vs ε: {view.caption}", fontsize=9)
    ax.set_ylim(0, 100)
    ax.legend(fontsize=6, ncol=2)
    return fig


def round_progress(view: RunView) -> Any | None:
    """Accuracy at the headline ε and spurious share per round (None when no round ran)."""
    rows = progress_rows(view)
    if not rows:
        return None
    fig, ax = _figure()
    k = [r["round"] for r in rows]
    for key, label in (("clean", "clean"), ("pgd", "PGD"), ("autoattack", "AutoAttack"),
                       ("worst_case", "worst case")):
        ax.plot(k, [100 * r[key] for r in rows], marker="o", label=label)
    if view.has(view.cfg.control):
        value = view.stat(view.cfg.control, "autoattack").mean
        ax.axhline(100 * value, color="grey", ls=":", label="control AutoAttack")
    shares = [100 * r["spurious_share"] for r in rows]
    if np.isfinite(shares).any():
        twin = ax.twinx()
        twin.plot(k, shares, "k--", marker="s", label="spurious flagged")
        twin.set_ylabel("superpixels flagged spurious (%)")
        twin.set_ylim(0, 1.2 * float(np.nanmax(shares)) or 1.0)
        twin.legend(fontsize=7, loc="lower right")
    ax.set_xticks(k, ["adv"] + [str(i) for i in k[1:]])
    ax.set_xlabel("round (0 = adversarial baseline)")
    ax.set_ylabel(f"accuracy at ε={view.cfg.headline_eps_255:g}/255 (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, loc="lower left")
    return fig


def bound_scatter(view: RunView) -> Any | None:
    """Estimated bound against empirical minimal distortion (/255), one colour per model."""
    tables = {n: r[0].bound for n, r in view.models.items() if r[0].bound is not None}
    if not tables:
        return None
    fig, ax = _figure(5.0, 5.0)
    top = 0.0
    for i, (name, table) in enumerate(tables.items()):
        ok, bound, emp = numbers.bound_columns(table)
        x, y = ok[emp].astype(float).to_numpy(), ok[bound].astype(float).to_numpy()
        keep = np.isfinite(x) & np.isfinite(y)
        ax.scatter(x[keep], y[keep], s=8, alpha=0.6, color=f"C{i % 10}", label=name)
        if keep.any():
            top = max(top, float(x[keep].max()), float(y[keep].max()))
    ax.plot([0, top or 1], [0, top or 1], "k:", lw=1, label="bound = empirical")
    ax.set_xlabel("empirical minimal distortion ε (/255)")
    ax.set_ylabel("estimated bound (/255)")
    ax.set_title("Estimated attribution-aware bound vs empirical distortion", fontsize=9)
    ax.legend(fontsize=7)
    return fig


def training_curves(view: RunView) -> Any | None:
    """Training loss and accuracies per epoch for every model with a history."""
    histories = {n: r[0].history for n, r in view.models.items() if r[0].history is not None}
    if not histories:
        return None
    fig, (loss_ax, acc_ax) = _figure(10.0, 4.0, cols=2)
    for i, (name, h) in enumerate(histories.items()):
        colour = f"C{i % 10}"
        if "train_loss" in h:
            loss_ax.plot(h["epoch"], h["train_loss"], color=colour, label=name)
        for column, style in (("train_acc", "-"), ("val_clean_acc", "--"), ("val_pgd_acc", ":")):
            if column in h and h[column].notna().any():
                acc_ax.plot(h["epoch"], 100 * h[column].astype(float), style, color=colour,
                            label=f"{name} {column}")
    loss_ax.set(xlabel="epoch", ylabel="train loss", title="training loss")
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)",
               title="train (solid), val clean (dashed), val PGD (dotted)")
    loss_ax.legend(fontsize=7)
    acc_ax.legend(fontsize=5, ncol=2)
    return fig


def corruption_bars(view: RunView) -> Any | None:
    """CIFAR-10-C accuracy per corruption (mean over severities), bars per model."""
    series = {n: numbers.corruption_by_name(r) for n, r in view.models.items()}
    series = {n: s for n, s in series.items() if len(s)}
    if not series:
        return None
    names = list(dict.fromkeys(c for s in series.values() for c in s.index))
    fig, ax = _figure(10.0, 4.0)
    width = 0.8 / len(series)
    for i, (model, s) in enumerate(series.items()):
        values = [100 * s.get(c, np.nan) for c in names]
        ax.bar(np.arange(len(names)) + i * width, values, width, label=model)
    ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names, rotation=60, fontsize=7)
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"CIFAR-10-C accuracy per corruption ({view.caption})", fontsize=9)
    ax.legend(fontsize=7)
    return fig
