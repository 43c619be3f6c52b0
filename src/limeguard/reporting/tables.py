"""Markdown tables of the report; NaN and missing values render as ``n/a``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from limeguard.reporting import numbers
from limeguard.reporting.numbers import Stat, finite
from limeguard.reporting.view import RunView

NA = "n/a"
ATTACK_TITLES = {"clean": "clean", "fgsm": "FGSM", "pgd": "PGD", "pgd_restarts": "PGD-restarts",
                 "cw": "CW", "autoattack": "AutoAttack", "square": "Square",
                 "worst_case": "worst case",
                 "worst_case_whitebox": "worst case (white-box)"}  # fmt: skip


def pct(value: Any, digits: int = 1) -> str:
    """A fraction in [0, 1] as a percentage, ``n/a`` when not finite."""
    return f"{100 * float(value):.{digits}f}" if finite(value) else NA


def num(value: Any, digits: int = 3) -> str:
    """A number with ``digits`` significant digits, ``n/a`` when not finite."""
    return f"{float(value):.{digits}g}" if finite(value) else NA


def pct_stat(stat: Stat) -> str:
    """``mean ± std`` in percent over seeds, or the mean alone with one seed."""
    if not finite(stat.mean):
        return NA
    if stat.n > 1 and finite(stat.std):
        return f"{100 * stat.mean:.1f} ± {100 * stat.std:.1f}"
    return pct(stat.mean)


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table; ``|`` in cells is escaped, None and NaN become ``n/a``."""

    def cell(value: Any) -> str:
        if value is None or (isinstance(value, float) and not np.isfinite(value)):
            return NA
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]  # fmt: skip
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def headline_table(view: RunView) -> str:
    """Per model: n, seeds, clean, every attack and worst case at the headline ε, C-mean."""
    keys = ["clean", *numbers.HEADLINE_ATTACKS, "cifar10c_mean"]
    titles = [ATTACK_TITLES.get(k, "CIFAR-10-C mean") for k in keys]
    headers = ["model", "n images", "seeds", *titles, "AutoAttack variant"]
    rows = []
    for name, runs in view.models.items():
        stats = view.stats[name]
        rows.append([name, view.n_images[name], len(runs), *(pct_stat(stats[k]) for k in keys),
                     view.variants[name] or NA])
    return md_table(headers, rows)


def split_eps(eps_values: Sequence[float]) -> tuple[list[float], list[float]]:
    """(the ε sweep in pixel units, the small-ε grid): the grid holds the non-integer /255 radii."""
    values = sorted({float(e) for e in eps_values if float(e) > 0})
    sweep = [e for e in values if abs(e - round(e)) < 1e-6]
    return sweep, [e for e in values if abs(e - round(e)) >= 1e-6]


def eps_tables(view: RunView) -> tuple[str, str]:
    """PGD and worst-case accuracy per ε and model: (sweep table, small-ε grid table)."""
    summaries = {n: numbers.mean_summary(runs) for n, runs in view.models.items()}
    every = pd.concat([s["eps_255"] for s in summaries.values()])
    sweep, small = split_eps(every.tolist())
    headers = [f"{n} {a}" for n in summaries for a in ("PGD", "worst")]

    def rows(grid: list[float], label) -> list[list[str]]:
        return [[label(e), *(pct(numbers.accuracy_at(s, a, e)) for s in summaries.values()
                              for a in ("pgd", "worst_case"))] for e in grid]  # fmt: skip

    sweep_md = md_table(["ε (/255)", *headers], rows(sweep, lambda e: f"{e:g}"))
    small_md = md_table(["ε (L∞, [0, 1] units)", *headers],
                        rows(small, lambda e: f"{e / 255:.3g}")) if small else ""
    return sweep_md, small_md


def progress_table(view: RunView) -> str:
    """Per round: clean, PGD, AutoAttack, worst case at the headline ε and the spurious share."""
    from limeguard.reporting.view import progress_rows

    headers = ["round", "model", "clean", "PGD", "AutoAttack", "worst case",
               "spurious superpixels flagged (%)"]  # fmt: skip
    rows = [[r["round"], r["model"], pct(r["clean"]), pct(r["pgd"]), pct(r["autoattack"]),
             pct(r["worst_case"]), pct(r["spurious_share"])] for r in progress_rows(view)]
    return md_table(headers, rows)


def criteria_table(view: RunView) -> str:
    """Overall share flagged per criterion and model (models with a mining summary only)."""
    shares = {n: numbers.criterion_shares(numbers.mining_long(runs[0].mining))
              for n, runs in view.models.items()}  # fmt: skip
    shares = {n: s for n, s in shares.items() if s}
    if not shares:
        return ""
    criteria = list(dict.fromkeys(c for s in shares.values() for c in s))
    rows = [[n, *(pct(s.get(c)) for c in criteria)] for n, s in shares.items()]
    return md_table(["model", *(f"{c} (%)" for c in criteria)], rows)


def corruption_tables(view: RunView) -> tuple[str, str]:
    """(corruption x model, mean over severities; severity x model, mean over corruptions)."""
    by_name = {n: numbers.corruption_by_name(r) for n, r in view.models.items()}
    by_name = {n: s for n, s in by_name.items() if len(s)}
    if not by_name:
        return "", ""
    names = list(dict.fromkeys(c for s in by_name.values() for c in s.index if c != "mean"))
    rows = [[c, *(pct(s.get(c, np.nan)) for s in by_name.values())] for c in names]
    rows.append(["**mean**", *(pct(s.get("mean", s.mean())) for s in by_name.values())])
    per_name = md_table(["corruption", *by_name], rows)
    by_sev = {n: numbers.corruption_by_severity(view.models[n]) for n in by_name}
    severities = sorted({int(v) for s in by_sev.values() for v in s.index})
    sev_rows = [[f"severity {v}", *(pct(s.get(v, np.nan)) for s in by_sev.values())]
                for v in severities]  # fmt: skip
    return per_name, md_table(["mean over corruptions", *by_sev], sev_rows)


def bound_table(view: RunView) -> str:
    """Per model with a bound: means (pixel units /255), correlations and validity."""
    headers = ["model", "n correct", "margin", "L_S", "L_R", "bound (/255)",
               "g / L_R (/255)", "empirical ε (/255)", "bound ≤ empirical (%)",
               "attribution share on S (%)", "Spearman", "Pearson"]  # fmt: skip
    rows = []
    for name, b in view.bounds.items():
        if not any(finite(v) for v in b.values()):
            continue
        rows.append([name, num(b["n_correct"], 4), num(b["mean_margin"]), num(b["mean_L_S"]),
                     num(b["mean_L_R"]), num(b["mean_bound_255"]),
                     num(b["mean_bound_R_only_255"]), num(b["mean_eps_empirical_255"]),
                     pct(b["bound_holds_share"]), pct(b["mean_attribution_share_S"]),
                     num(b["spearman_bound_vs_empirical"], 2),
                     num(b["pearson_bound_vs_empirical"], 2)])
    return md_table(headers, rows) if rows else ""


def masking_entries(view: RunView) -> list[tuple[str, Any]]:
    """(label, masking dict or None) per model and seed; the seed is named with several seeds."""
    out = []
    for name, runs in view.models.items():
        for i, run in enumerate(runs):
            seed = run.seed if run.seed is not None else i
            out.append((name if len(runs) == 1 else f"{name} (seed {seed})", run.masking))
    return out


def masking_summary_table(view: RunView) -> str:
    """Per model: checks run, failed, skipped and PASS / **FAIL** / not run."""
    rows = []
    for label, masking in masking_entries(view):
        if masking is None:
            rows.append([label, NA, NA, NA, "not run"])
            continue
        failed = int(masking.get("n_failed", len(masking.get("failed", []))))
        result = "**FAIL**" if failed or masking.get("success") is False else "PASS"
        rows.append([label, masking.get("n_checks", NA), failed,
                     len(masking.get("skipped", [])), result])
    return md_table(["model", "checks run", "failed", "skipped", "result"], rows)


def masking_matrix(view: RunView) -> str:
    """Check x model: pass, **FAIL** or skipped."""
    entries = [(label, m) for label, m in masking_entries(view) if m is not None]
    names = list(dict.fromkeys(c["name"] for _, m in entries for c in m.get("checks", [])))
    if not names:
        return ""
    word = {True: "pass", False: "**FAIL**", None: "skipped"}
    rows = []
    for check in names:
        cells = []
        for _, masking in entries:
            found = [c for c in masking.get("checks", []) if c["name"] == check]
            cells.append(word[found[0].get("success")] if found else NA)
        rows.append([f"`{check}`", *cells])
    return md_table(["check", *(label for label, _ in entries)], rows)


def masking_violations(view: RunView) -> list[str]:
    """One line per failed check: the model, the check and its message."""
    lines = []
    for label, masking in masking_entries(view):
        if masking is None:
            continue
        checks = {c["name"]: c for c in masking.get("checks", [])}
        failed = list(masking.get("failed", [])) or [n for n, c in checks.items()
                                                        if c.get("success") is False]
        for name in failed:
            message = checks.get(name, {}).get("message") or "violated (no message)"
            lines.append(f"**{label}**: `{name}`: {message}")
    return lines


def paired_table(rows: Sequence[Any]) -> str:
    """One row per :class:`limeguard.reporting.paired.Comparison`."""
    body = []
    for c in rows:
        r = c.result
        record = "" if r.wins is None else f"{r.wins} / {r.losses}"
        p = "" if r.mcnemar_p is None else f"{r.mcnemar_p:.3g}"
        body.append([f"{c.candidate} - {c.reference}", c.measure, f"{c.diff:+.1f}",
                     f"[{c.low:+.1f}, {c.high:+.1f}]", f"{r.n_seeds} x {r.n_images}", record, p])
    return md_table(["comparison", "measure", "difference", "interval", "seeds x images",
                     "wins / losses", "McNemar p"], body)
