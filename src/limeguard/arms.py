"""Arms: variants of the method that run the rounds from the same adversarial baseline.

An arm is a name and overrides of the ``mine`` and ``rounds`` parameter trees
(``rounds.arms.<name>: {mine: {...}, rounds: {...}}``). Its trees are the run's trees with the
overrides merged in, parsed by the same dataclasses, so a misspelt override fails naming its key.
An arm may change what it flags (``mine``) and how it refines (``rounds.refine``,
``rounds.accumulate_masks``), not the recipe or the selection rule: every arm is compared with one
matched control, which continues the baseline with the rounds' recipe and selection.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from limeguard.config import ConfigError, from_params

SECTIONS = ("mine", "rounds")
# keys an arm may not override: they shape the DAG or the control all arms share
FIXED_ROUNDS_KEYS = ("count", "arms", "train", "selection", "checkpoint_root")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
RESERVED = re.compile(r"^(standard|adversarial|control|round_\d+|seed_\d+)$")


@dataclass(frozen=True)
class Arm:
    """One arm: its name and its merged ``mine`` and ``rounds`` trees (plain dicts, as Kedro's
    parameters are). ``own_mining``: whether it mines the baseline itself (it overrides ``mine``)
    or takes the run's mining of the baseline."""

    name: str
    mine: dict[str, Any]
    rounds: dict[str, Any]
    own_mining: bool


def arm_overrides(rounds: Mapping[str, Any] | None) -> dict[str, Any]:
    """``rounds.arms`` without the arms switched off (``<arm>: null``, the way an env drops an
    arm of base), unchecked; the default arm when ``rounds.arms`` is absent or empty."""
    from limeguard.refinement.rounds import DEFAULT_ARMS  # torch: not at the hooks' import

    arms = (rounds or {}).get("arms")
    if not isinstance(arms, Mapping) or not arms:
        return dict(DEFAULT_ARMS)
    return {name: override for name, override in arms.items() if override is not None}


def mines_baseline(override: Any) -> bool:
    """Whether an arm's override changes ``mine``: the arm then mines the AT baseline itself."""
    return isinstance(override, Mapping) and bool(override.get("mine"))


def merge_tree(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` merged in, mapping into mapping; other values replace."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_tree(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_arms(mine: Mapping[str, Any] | None, rounds: Mapping[str, Any] | None) -> list[Arm]:
    """Every arm of ``rounds.arms``, in the order given, each tree checked by its dataclass.

    Raises:
        ConfigError: naming the key: a bad arm name, an override section other than ``mine`` and
            ``rounds``, an override of a fixed ``rounds`` key, or any key the dataclasses refuse.
    """
    from limeguard.explain.config import MineParams
    from limeguard.refinement.rounds import RoundsParams

    overrides = arm_overrides(rounds)
    if not overrides:
        raise ConfigError("rounds.arms: every arm is switched off (null); keep at least one")
    arms = []
    for name, override in overrides.items():
        where = f"rounds.arms.{name}"
        _check_override(name, override, where)
        merged_mine = merge_tree(mine or {}, override.get("mine") or {})
        merged_rounds = merge_tree(_checkpoint_root(rounds or {}, name),
                                   override.get("rounds") or {})
        from_params(MineParams, merged_mine, f"{where}.mine")
        from_params(RoundsParams, merged_rounds, f"{where}.rounds")
        arms.append(Arm(name, merged_mine, merged_rounds, own_mining=mines_baseline(override)))
    return arms


def find_arm(name: str, mine: Mapping[str, Any] | None, rounds: Mapping[str, Any] | None,
             where: str) -> Arm:
    """The arm ``name`` of :func:`parse_arms` (``where``: the key that names it).

    Raises:
        ConfigError: naming ``where`` and the known arms when there is no such arm.
    """
    arms = {arm.name: arm for arm in parse_arms(mine, rounds)}
    if name not in arms:
        raise ConfigError(f"{where}: unknown arm {name!r}; the arms of rounds.arms are "
                          f"{', '.join(arms)}")
    return arms[name]


def _checkpoint_root(rounds: Mapping[str, Any], name: str) -> dict[str, Any]:
    """``rounds`` with each arm's checkpoints in a folder of its own."""
    root = rounds.get("checkpoint_root", "data/06_models/checkpoints/rounds")
    return {**rounds, "checkpoint_root": f"{root}/{name}"}


def _check_override(name: Any, override: Any, where: str) -> None:
    if not isinstance(name, str) or not NAME.match(name) or RESERVED.match(name):
        raise ConfigError(f"{where}: an arm's name is lowercase letters, digits and _, starting "
                          "with a letter, and not a model's name (standard, adversarial, "
                          f"control, round_<k>, seed_<k>); got {name!r}")
    if not isinstance(override, Mapping):
        raise ConfigError(f"{where}: expected a mapping with keys {SECTIONS}, got {override!r}")
    for key in override:
        if key not in SECTIONS:
            raise ConfigError(f"{where}.{key}: unknown section; an arm overrides "
                              f"{' and '.join(SECTIONS)}")
    for section in SECTIONS:
        if not isinstance(override.get(section) or {}, Mapping):
            raise ConfigError(f"{where}.{section}: expected a mapping of overrides, got "
                              f"{override[section]!r}")
    fixed = [k for k in (override.get("rounds") or {}) if k in FIXED_ROUNDS_KEYS]
    if fixed:
        raise ConfigError(f"{where}.rounds.{fixed[0]}: an arm cannot override it; every arm "
                          "shares the DAG's rounds and the matched control's recipe and "
                          "selection (set it under rounds, for every arm)")
