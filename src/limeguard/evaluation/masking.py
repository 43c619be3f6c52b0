"""Gradient-masking checks (Athalye et al. 2018; AutoAttack's flags) as Great Expectations suites.

The summary of an evaluation is reshaped into small tables, each validated by a GX 1.x suite:
``by_eps`` (one row per ε, one accuracy column per attack), ``monotone`` (accuracy next to the
accuracy at the previous ε) and ``facts`` (one row of model facts). A violation is reported in
the returned dict (``success`` false), never raised.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from limeguard.evaluation.config import MaskingCheckConfig
from limeguard.evaluation.summary import WORST_CASE_WHITEBOX, accuracy_table
from limeguard.jsonable import to_jsonable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    """One check: an expectation (GX type and kwargs) on one of the tables."""

    name: str
    table: str
    expectation: str
    kwargs: dict[str, Any]
    description: str


def check_gradient_masking(
    summary: pd.DataFrame,
    facts: pd.DataFrame | None = None,
    cfg: MaskingCheckConfig | None = None,
) -> dict[str, Any]:
    """Run the gradient-masking checks on an evaluation summary (and model facts).

    Args:
        summary: the table of :func:`limeguard.evaluation.summarize`.
        facts: the one-row table of :func:`limeguard.evaluation.model_facts`; without it the
            checks on logits, determinism and the probe attack are skipped.
        cfg: roles and tolerances (default :class:`MaskingCheckConfig`).

    Returns:
        JSON-serializable dict: ``success`` (every check that ran passed), ``n_failed``,
        ``checks`` (per check: ``name``, ``success`` or None when skipped, ``message``,
        ``expectation``), ``skipped`` (names) and ``tables`` (the validated tables as records).
    """
    cfg = cfg or MaskingCheckConfig()
    tables = build_tables(summary, facts, cfg)
    checks, skipped = define_checks(tables, cfg)
    outcomes = _validate(checks, tables) if checks else {}
    reports = [_report(c, outcomes[c.name], tables[c.table]) for c in checks]
    reports += [
        {
            "name": n,
            "expectation": None,
            "success": None,
            "message": m,
            "n_rows": 0,
            "n_violations": None,
        }
        for n, m in skipped
    ]
    failed = [r["name"] for r in reports if r["success"] is False]
    for r in reports:
        if r["success"] is False:
            log.warning("gradient-masking check failed: %s", r["message"])
    return to_jsonable(
        {
            "success": not failed,
            "n_checks": len(checks),
            "n_failed": len(failed),
            "failed": failed,
            "checks": reports,
            "skipped": [n for n, _ in skipped],
            "tables": {k: v.to_dict(orient="records") for k, v in tables.items()},
        }
    )


def build_tables(
    summary: pd.DataFrame, facts: pd.DataFrame | None, cfg: MaskingCheckConfig
) -> dict[str, pd.DataFrame]:
    """The tables the checks validate: ``by_eps``, ``monotone`` and ``facts`` (see module doc)."""
    wide = accuracy_table(summary)
    aa = next((a for a in cfg.autoattack if a in wide.columns), None)
    roles = {
        "fgsm": cfg.fgsm,
        "pgd": cfg.pgd,
        "autoattack": aa,
        "square": cfg.square,
        WORST_CASE_WHITEBOX: WORST_CASE_WHITEBOX,
    }
    by_eps = pd.DataFrame({"eps_255": wide.index.to_numpy(dtype=float)})
    for role, label in roles.items():
        if label in wide.columns:
            by_eps[role] = wide[label].to_numpy(dtype=float)
            by_eps[f"{role}_plus_tol"] = by_eps[role] + cfg.tolerance
    fact_row = (
        facts.iloc[:1].reset_index(drop=True) if facts is not None else pd.DataFrame(index=[0])
    )
    large = summary[
        (summary["attack"] == cfg.pgd) & np.isclose(summary["eps_255"], cfg.large_eps_255)
    ]
    fact_row = fact_row.assign(
        pgd_accuracy_at_large_eps=float(large["accuracy"].iloc[0]) if len(large) else np.nan
    )
    return {"by_eps": by_eps, "monotone": _monotone_table(summary, cfg), "facts": fact_row}


def _monotone_table(summary: pd.DataFrame, cfg: MaskingCheckConfig) -> pd.DataFrame:
    """Per monotone attack and ε: accuracy and the accuracy one ε below (clean before the first)."""
    clean = summary.loc[summary["attack"] == "clean", "accuracy"]
    parts = []
    for attack in cfg.monotone_attacks:
        rows = summary[summary["attack"] == attack].sort_values("eps_255")
        if rows.empty:
            continue
        previous = rows["accuracy"].shift(1)
        previous.iloc[0] = clean.iloc[0] if len(clean) else np.nan
        parts.append(
            pd.DataFrame(
                {
                    "attack": attack,
                    "eps_255": rows["eps_255"].to_numpy(float),
                    "accuracy": rows["accuracy"].to_numpy(float),
                    "previous_accuracy": previous.to_numpy(float),
                }
            )
        )
    table = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["attack", "eps_255", "accuracy", "previous_accuracy"])
    )
    table["previous_plus_tol"] = table["previous_accuracy"].astype(float) + cfg.tolerance
    return table


def define_checks(
    tables: dict[str, pd.DataFrame], cfg: MaskingCheckConfig
) -> tuple[list[Check], list[tuple[str, str]]]:
    """The checks that the tables allow, and ``(name, reason)`` for those they do not."""
    pair = "expect_column_pair_values_a_to_be_greater_than_b"
    tol = f"(tolerance {cfg.tolerance:g})"
    candidates = [
        ("fgsm_ge_pgd", "by_eps", "fgsm", "pgd", f"FGSM accuracy >= PGD accuracy at each ε {tol}"),
        (
            "pgd_ge_autoattack",
            "by_eps",
            "pgd",
            "autoattack",
            f"PGD accuracy >= AutoAttack accuracy at each ε {tol}",
        ),
        (
            "square_ge_whitebox_worst_case",
            "by_eps",
            "square",
            WORST_CASE_WHITEBOX,
            f"black-box Square accuracy >= white-box worst-case accuracy at each ε {tol}",
        ),
        (
            "accuracy_non_increasing_in_eps",
            "monotone",
            "previous",
            "accuracy",
            f"accuracy of {', '.join(cfg.monotone_attacks)} does not rise with ε {tol}",
        ),
    ]
    checks, skipped = [], []
    for name, table, a, b, text in candidates:
        frame = tables[table]
        a_col = f"{a}_plus_tol"
        if {a_col, b} <= set(frame.columns) and frame[[a_col, b]].notna().all(axis=1).any():
            kwargs = {
                "column_A": a_col,
                "column_B": b,
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            }
            checks.append(Check(name, table, pair, kwargs, text))
        else:
            skipped.append((name, f"skipped: {text}: no ε where both were measured"))
    return checks + _fact_checks(tables["facts"], cfg, skipped), skipped


def _fact_checks(
    facts: pd.DataFrame, cfg: MaskingCheckConfig, skipped: list[tuple[str, str]]
) -> list[Check]:
    between = "expect_column_values_to_be_between"
    candidates = [
        (
            "pgd_falls_at_large_eps",
            "pgd_accuracy_at_large_eps",
            between,
            {"min_value": 0.0, "max_value": cfg.max_accuracy_at_large_eps},
            f"PGD accuracy at ε={cfg.large_eps_255:g}/255 <= {cfg.max_accuracy_at_large_eps:g}",
        ),
        (
            "probe_attack_succeeds",
            "probe_accuracy",
            between,
            {"min_value": 0.0, "max_value": cfg.max_accuracy_at_probe_eps},
            f"PGD accuracy at the probe radius <= {cfg.max_accuracy_at_probe_eps:g}",
        ),
        (
            "outputs_are_logits",
            "looks_like_probabilities",
            "expect_column_values_to_be_in_set",
            {"value_set": [False]},
            "model outputs are logits, not probabilities",
        ),
        (
            "forward_is_deterministic",
            "forward_max_abs_diff",
            between,
            {"min_value": 0.0, "max_value": cfg.determinism_atol},
            f"two forward passes agree within {cfg.determinism_atol:g}",
        ),
    ]
    checks = []
    for name, column, expectation, kwargs, text in candidates:
        if column in facts.columns and facts[column].notna().all():
            checks.append(Check(name, "facts", expectation, {"column": column, **kwargs}, text))
        else:
            skipped.append((name, f"skipped: {text}: '{column}' was not measured"))
    return checks


def _validate(checks: list[Check], tables: dict[str, pd.DataFrame]) -> dict[str, dict[str, Any]]:
    """Validate each table with a GX suite of its checks; ``{check name: GX result dict}``."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("masking_checks")
    outcomes: dict[str, dict[str, Any]] = {}
    for table in sorted({c.table for c in checks}):
        batch = source.add_dataframe_asset(table).add_batch_definition_whole_dataframe("all")
        suite = context.suites.add(gx.ExpectationSuite(name=f"masking_{table}"))
        for check in (c for c in checks if c.table == table):
            cls = _expectation_class(gx, check.expectation)
            suite.add_expectation(cls(**check.kwargs, meta={"check": check.name}))
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"masking_{table}", data=batch, suite=suite)
        )
        run = validation.run(
            batch_parameters={"dataframe": tables[table]}, result_format="COMPLETE"
        )
        for result in run.results:
            outcomes[result.expectation_config.meta["check"]] = {
                "success": bool(result.success),
                "result": dict(result.result),
                "exception": result.exception_info.get("exception_message")
                if result.exception_info.get("raised_exception")
                else None,
            }
    return outcomes


def _expectation_class(gx: Any, snake: str) -> type:
    """``expect_column_values_to_be_between`` -> ``ExpectColumnValuesToBeBetween`` of GX."""
    return getattr(gx.expectations, "".join(part.title() for part in snake.split("_")))


def _report(check: Check, outcome: dict[str, Any], table: pd.DataFrame) -> dict[str, Any]:
    """A check's outcome with a short human message naming the offending rows or values."""
    success = outcome["success"]
    message = f"{'ok' if success else 'VIOLATED'}: {check.description}"
    if outcome["exception"]:
        message += f" (GX error: {outcome['exception']})"
    elif check.table == "facts":
        column = check.kwargs["column"]
        observed = table[column].iloc[0]
        shown = observed if isinstance(observed, bool | np.bool_) else f"{observed:.4g}"
        message += f"; observed {column} = {shown}"
    elif not success:
        rows = table.loc[outcome["result"].get("unexpected_index_list", [])]
        message += "; at " + "; ".join(_row_text(check, row) for _, row in rows.iterrows())
    result = outcome["result"]
    return {
        "name": check.name,
        "expectation": check.expectation,
        "success": success,
        "message": message,
        "n_rows": result.get("element_count"),
        "n_violations": result.get("unexpected_count"),
    }


def _row_text(check: Check, row: pd.Series) -> str:
    if check.table == "monotone":
        return (
            f"{row['attack']} ε={row['eps_255']:g}/255: {row['accuracy']:.3f} > "
            f"{row['previous_accuracy']:.3f} one ε below"
        )
    a, b = check.kwargs["column_A"].removesuffix("_plus_tol"), check.kwargs["column_B"]
    return f"ε={row['eps_255']:g}/255: {a} {row[a]:.3f} < {b} {row[b]:.3f}"
