"""Robust accuracy per attack and radius, and the per-image worst case, from the results table."""

from __future__ import annotations

import pandas as pd

WORST_CASE = "worst_case"
WORST_CASE_WHITEBOX = "worst_case_whitebox"
SUMMARY_COLUMNS = ("attack", "eps_255", "eps_linf", "n", "n_correct", "accuracy")


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per attack x ε, plus the per-image worst case per ε.

    Args:
        results: the table of :func:`limeguard.evaluation.evaluate_model`.

    Returns:
        Columns :data:`SUMMARY_COLUMNS`; ``accuracy`` in [0, 1]. Clean accuracy is the row
        ``attack='clean'``, ``eps_255=0``. Per ε > 0, ``worst_case`` counts an image robust only
        if it is classified correctly under every attack run at that ε (and clean), over the
        images every one of those attacks ran on; ``worst_case_whitebox`` does the same over the
        white-box attacks only.
    """
    per_attack = _accuracy(results, ["attack", "eps_255"])
    clean = results[results["attack"] == "clean"].set_index("image_id")["correct"]
    attacked = results[results["attack"] != "clean"]
    worst = [_worst_case(attacked, clean, WORST_CASE)]
    whitebox = attacked[~attacked["blackbox"].astype(bool)]
    if len(whitebox):
        worst.append(_worst_case(whitebox, clean, WORST_CASE_WHITEBOX))
    return pd.concat([per_attack, *worst], ignore_index=True)[list(SUMMARY_COLUMNS)]


def common_images(results: pd.DataFrame) -> pd.DataFrame:
    """The rows of the images that every attack (and radius) of ``results`` ran on: comparisons
    between attacks are then made on the same images."""
    jobs = results[["attack", "eps_255"]].drop_duplicates()
    per_image = results.groupby("image_id")[["attack", "eps_255"]].apply(
        lambda rows: len(rows.drop_duplicates()))
    everywhere = per_image.index[per_image == len(jobs)]
    return results[results["image_id"].isin(everywhere)]


def _worst_case(rows: pd.DataFrame, clean: pd.Series, name: str) -> pd.DataFrame:
    rows = rows[rows.groupby("eps_255")["attack"].transform("nunique")
                == rows.groupby(["eps_255", "image_id"])["attack"].transform("nunique")]
    robust = rows.groupby(["eps_255", "image_id"], sort=True)["correct"].all().reset_index()
    robust["correct"] &= robust["image_id"].map(clean).fillna(False).astype(bool)
    robust["attack"] = name
    return _accuracy(robust, ["attack", "eps_255"])


def _accuracy(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    table = rows.groupby(keys, sort=False).agg(n=("correct", "size"), n_correct=("correct", "sum"))
    table = table.reset_index()
    table["n_correct"] = table["n_correct"].astype(int)
    table["accuracy"] = table["n_correct"] / table["n"]
    table["eps_linf"] = table["eps_255"] / 255
    return table


def accuracy_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as a wide table: one row per ε (ascending), one accuracy column per attack."""
    attacked = summary[summary["attack"] != "clean"]
    return attacked.pivot(index="eps_255", columns="attack", values="accuracy").sort_index()
