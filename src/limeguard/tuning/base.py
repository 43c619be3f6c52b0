"""What a trial starts from: the run's ``rounds`` and ``mine`` trees, or those of the arm tuned
(``tune.arm``), merged by :func:`limeguard.arms.parse_arms` as its rounds run with them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from limeguard.arms import find_arm


def start_trees(arm: str | None, mine: Mapping[str, Any] | None,
                rounds: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(mine, rounds)``: the run's when ``arm`` is None, else the arm's merged trees.

    Raises:
        ConfigError: naming ``tune.arm`` and the known arms when ``arm`` is not one of them.
    """
    if arm is None:
        return dict(mine or {}), dict(rounds or {})
    found = find_arm(arm, mine, rounds, "tune.arm")
    return found.mine, found.rounds


def base_params(rounds: Mapping[str, Any], mine: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The params a trial starts from: ``rounds.refine``, ``rounds.train``, ``mine.mining``."""
    return {"refine": dict(rounds.get("refine") or {}), "train": dict(rounds.get("train") or {}),
            "mining": dict(mine.get("mining") or {})}
