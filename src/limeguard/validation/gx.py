"""A thin layer over Great Expectations 1.x: run a list of expectations on a DataFrame.

Kept separate so that every gate (data splits, attack results) speaks GX the same way and reports
failures the same way: the expectation, its column, and a few offending rows.
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Sequence
from typing import Any

import pandas as pd

from limeguard.jsonable import to_jsonable

log = logging.getLogger(__name__)
_COUNTER = itertools.count()


def run_expectations(
    df: pd.DataFrame, expectations: Sequence[Any], suite_name: str,
    id_columns: Sequence[str] | None = None, max_examples: int = 5,
) -> dict[str, Any]:
    """Validate ``df`` against GX expectation objects; return a JSON-serialisable summary.

    Args:
        df: the table to check.
        expectations: ``gx.expectations.Expect...`` instances.
        suite_name: names the suite in the report.
        id_columns: columns identifying rows in failure examples (e.g. ``["split", "image_id"]``).
        max_examples: offending rows kept per failed expectation.

    Returns:
        ``{"suite", "success", "results": [{"expectation", "column", "kwargs", "success",
        "observed", "unexpected_count", "examples"}]}``.
    """
    import great_expectations as gx

    context = _context()
    uid = f"{suite_name}_{next(_COUNTER)}"
    batch_def = (
        context.data_sources.add_pandas(f"src_{uid}")
        .add_dataframe_asset(f"asset_{uid}")
        .add_batch_definition_whole_dataframe(f"batch_{uid}")
    )
    suite = context.suites.add(gx.ExpectationSuite(name=f"suite_{uid}"))
    for expectation in expectations:
        suite.add_expectation(expectation)
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"validation_{uid}", data=batch_def, suite=suite)
    )
    result_format: dict[str, Any] = {"result_format": "COMPLETE"}
    if id_columns:
        result_format["unexpected_index_column_names"] = list(id_columns)
    result = validation.run(batch_parameters={"dataframe": df}, result_format=result_format)
    rows = [_summarise(r, max_examples) for r in result.results]
    return {"suite": suite_name, "success": bool(result.success), "results": rows}


def failure_lines(report: dict[str, Any]) -> list[str]:
    """One readable line per failed expectation of a :func:`run_expectations` report."""
    lines = []
    for row in report["results"]:
        if row["success"]:
            continue
        where = f" on column '{row['column']}'" if row["column"] else ""
        seen = f"; observed {row['observed']}" if row["observed"] is not None else ""
        count = row["unexpected_count"]
        bad = f"; {count} offending rows, e.g. {row['examples']}" if count else ""
        lines.append(f"[{report['suite']}] {row['expectation']}{where} failed{seen}{bad}")
    return lines


@functools.cache
def _context():
    """One ephemeral GX context per process (creating one costs about a second)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _summarise(r: Any, max_examples: int) -> dict[str, Any]:
    plain = functools.partial(to_jsonable, nan_as_none=False)  # an observed NaN stays NaN
    config = r.expectation_config
    kwargs = {k: plain(v) for k, v in config.kwargs.items() if k not in ("batch_id",)}
    result = r.result or {}
    examples = result.get("unexpected_index_list") or result.get("partial_unexpected_list") or []
    return {
        "expectation": config.type,
        "column": kwargs.get("column") or kwargs.get("column_A"),
        "kwargs": kwargs,
        "success": bool(r.success),
        "observed": plain(result.get("observed_value")),
        "unexpected_count": int(result.get("unexpected_count") or 0),
        "examples": [plain(e) for e in examples[:max_examples]],
    }
