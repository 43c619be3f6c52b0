"""The search space: named ranges over fields of the refinement, training and mining configs.

A space maps dotted names to specs. The first part of a name is the root it tunes:
``refine`` (:class:`~limeguard.refinement.RefineConfig`, ``rounds.refine`` in conf), ``train``
(:class:`~limeguard.training.TrainConfig`, ``rounds.train``) or ``mining``
(:class:`~limeguard.explain.config.MiningConfig`, ``mine.mining``); the rest names a field,
e.g. ``refine.lambda_reg`` or ``mining.criteria.irrelevant_quantile``. In conf the space is nested
(``space: {refine: {lambda_reg: {type: float, low: 0.1, high: 100, log: true}}}``); a leaf is a
mapping with a ``type`` key; a leaf set to null is not searched (so an env can drop a base entry).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from limeguard.config import ConfigError, check_choice, check_real_range, from_params

TYPES = ("float", "int", "categorical")
SPEC_KEYS = {"type", "low", "high", "log", "step", "choices"}


def _roots() -> dict[str, tuple[type, tuple[str, ...]]]:
    """Root name -> (config dataclass, its path in Kedro's parameters). Imported lazily."""
    from limeguard.explain.config import MiningConfig
    from limeguard.refinement import RefineConfig
    from limeguard.training import TrainConfig

    return {"refine": (RefineConfig, ("rounds", "refine")),
            "train": (TrainConfig, ("rounds", "train")),
            "mining": (MiningConfig, ("mine", "mining"))}


@dataclass(frozen=True)
class ParamSpec:
    """One searched parameter.

    Attributes:
        name: dotted name (``refine.lambda_reg``); also the Optuna parameter name.
        type: ``float``, ``int`` or ``categorical``.
        low, high: inclusive bounds (float and int), ``low < high``.
        log: sample on a log scale (``low > 0``).
        step: discretisation step (float and int; not with ``log``).
        choices: the options of a categorical parameter.
    """

    name: str
    type: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()

    @property
    def root(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def field_path(self) -> tuple[str, ...]:
        return tuple(self.name.split(".")[1:])

    def suggest(self, trial: Any) -> Any:
        """The trial's value (``trial``: an ``optuna.Trial``)."""
        if self.type == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.type == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high),
                                     step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.name, float(self.low), float(self.high),
                                   step=self.step, log=self.log)

    def endpoints(self) -> tuple[Any, ...]:
        """Values checked against the config before any trial: the bounds or every choice."""
        return self.choices if self.type == "categorical" else (self.low, self.high)


@dataclass(frozen=True)
class SearchSpace:
    """An ordered set of :class:`ParamSpec` (the order of the conf file)."""

    params: tuple[ParamSpec, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def roots(self) -> set[str]:
        return {p.root for p in self.params}

    def suggest(self, trial: Any) -> dict[str, Any]:
        """``{dotted name: value}`` for ``trial``."""
        return {p.name: p.suggest(trial) for p in self.params}

    def as_params(self) -> dict[str, Any]:
        """The space as plain dicts (the inverse of :func:`parse_space`)."""
        out: dict[str, Any] = {}
        for p in self.params:
            spec = {"type": p.type}
            if p.type == "categorical":
                spec["choices"] = list(p.choices)
            else:
                spec.update(low=p.low, high=p.high, log=p.log)
                if p.step is not None:
                    spec["step"] = p.step
            out[p.name] = spec
        return out


def parse_space(space: Mapping[str, Any] | None, where: str = "tune.space") -> SearchSpace:
    """Parse and check a nested (or dotted) space; every error names the parameter.

    Raises:
        ConfigError: unknown root or field (with the closest known name), an unknown spec key or
            type, an empty or inverted range, a non-positive log bound, no or repeated choices,
            a type that does not fit the field (a float range on an int field), an empty space.
    """
    leaves = list(_leaves(space or {}, (), where))
    if not leaves:
        raise ConfigError(f"{where}: the search space is empty; give at least one parameter, "
                          "e.g. refine: {lambda_reg: {type: float, low: 0.1, high: 100, log: true}}")
    specs = tuple(_spec(name, raw, f"{where}.{name}") for name, raw in leaves)
    return SearchSpace(specs)


def _leaves(node: Any, prefix: tuple[str, ...], where: str):
    if not isinstance(node, Mapping):
        raise ConfigError(f"{'.'.join((where, *prefix))}: expected a mapping, got {node!r}")
    for key, value in node.items():
        path = (*prefix, *str(key).split("."))
        if value is None:
            continue  # dropped by an env
        if isinstance(value, Mapping) and "type" in value:
            yield ".".join(path), value
        else:
            yield from _leaves(value, path, where)


def _spec(name: str, raw: Mapping[str, Any], where: str) -> ParamSpec:
    unknown = sorted(set(raw) - SPEC_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; a spec has {sorted(SPEC_KEYS)}")
    kind = raw["type"]
    check_choice(f"{where}.type", kind, TYPES)
    hint = _field_type(name, where)
    if kind == "categorical":
        return _categorical(name, raw, where)
    extra = sorted({"choices"} & set(raw))
    if extra:
        raise ConfigError(f"{where}: 'choices' is for type categorical, not {kind}")
    if kind == "float" and hint is int:
        raise ConfigError(f"{where}.type: {name} is an integer field; use type int")
    if hint not in (int, float):
        raise ConfigError(f"{where}.type: {name} is not numeric ({_type_name(hint)}); "
                          "use type categorical")
    return _numeric(name, kind, raw, where)


def _numeric(name: str, kind: str, raw: Mapping[str, Any], where: str) -> ParamSpec:
    for key in ("low", "high"):
        if key not in raw:
            raise ConfigError(f"{where}.{key}: required for type {kind}")
        value = raw[key]
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or (kind == "int" and float(value) != int(value)):
            raise ConfigError(f"{where}.{key}: expected a finite {kind}, got {value!r}")
    low, high = raw["low"], raw["high"]
    if low == high:
        raise ConfigError(f"{where}: empty range (low == high == {low}); widen it, or drop the "
                          "parameter from the space and set it in conf")
    if low > high:
        raise ConfigError(f"{where}: inverted range (low {low} > high {high})")
    log, step = bool(raw.get("log", False)), raw.get("step")
    if log and low <= 0:
        raise ConfigError(f"{where}.low: a log range needs low > 0, got {low}")
    if step is not None:
        if log:
            raise ConfigError(f"{where}.step: not allowed together with log: true")
        check_real_range(f"{where}.step", step, 0.0, high - low, low_open=True)  # (0, high - low]
    cast = int if kind == "int" else float
    return ParamSpec(name, kind, cast(low), cast(high), log,
                     None if step is None else cast(step))


def _categorical(name: str, raw: Mapping[str, Any], where: str) -> ParamSpec:
    extra = sorted({"low", "high", "log", "step"} & set(raw))
    if extra:
        raise ConfigError(f"{where}: {extra} are for numeric types, not categorical")
    choices = raw.get("choices")
    if not isinstance(choices, list | tuple) or not choices:
        raise ConfigError(f"{where}.choices: a non-empty list is required, got {choices!r}")
    if len(set(map(repr, choices))) != len(choices):
        raise ConfigError(f"{where}.choices: repeated values in {list(choices)}")
    bad = [c for c in choices if not (c is None or isinstance(c, str | int | float | bool))]
    if bad:
        raise ConfigError(f"{where}.choices: only null, bool, int, float and str, got {bad}")
    return ParamSpec(name, "categorical", choices=tuple(choices))


def _field_type(name: str, where: str) -> Any:
    """The type hint of the dataclass field ``name`` names; ConfigError if there is none."""
    roots = _roots()
    parts = name.split(".")
    if parts[0] not in roots:
        raise ConfigError(_unknown(where, parts[0], list(roots), "root"))
    if len(parts) < 2:
        raise ConfigError(f"{where}: name a field below {parts[0]!r}")
    cls: Any = roots[parts[0]][0]
    for i, part in enumerate(parts[1:], start=1):
        if not dataclasses.is_dataclass(cls):
            raise ConfigError(f"{where}: {'.'.join(parts[:i])} has no fields")
        hints = typing.get_type_hints(cls)
        fields = [f.name for f in dataclasses.fields(cls) if f.init]
        if part not in fields:
            raise ConfigError(_unknown(where, part, fields, f"parameter of {'.'.join(parts[:i])}"))
        cls = hints[part]
    if dataclasses.is_dataclass(cls):
        raise ConfigError(f"{where}: {name} is a section; name one of its fields")
    return _strip_optional(cls)


def _strip_optional(hint: Any) -> Any:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if len(args) == 1 and typing.get_origin(hint) is not None else hint


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", str(hint))


def _unknown(where: str, key: str, known: list[str], what: str) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"{where}: unknown {what} '{key}'{hint}; known: {', '.join(sorted(known))}"


# ---- applying values ------------------------------------------------------------------------


def apply_values(base: Mapping[str, Mapping[str, Any]], values: Mapping[str, Any]) -> dict:
    """``base`` (``{root: params dict}``) with the dotted ``values`` set; the input is not changed."""
    out = copy.deepcopy({k: dict(v or {}) for k, v in base.items()})
    for name, value in values.items():
        root, *path = name.split(".")
        node = out.setdefault(root, {})
        for part in path[:-1]:
            if node.get(part) is None:
                node[part] = {}
            if not isinstance(node[part], dict):
                raise ConfigError(f"tune.space.{name}: {part} is not a section in the base params")
            node[part] = dict(node[part])
            node = node[part]
        node[path[-1]] = value
    return out


def build_configs(params: Mapping[str, Mapping[str, Any]], where: Mapping[str, str]) -> dict:
    """``{root: frozen config}`` parsed from ``{root: params dict}`` (``where``: conf names)."""
    roots = _roots()
    return {root: from_params(roots[root][0], p, where[root]) for root, p in params.items()}


def check_space_against(space: SearchSpace, base: Mapping[str, Mapping[str, Any]],
                        where: Mapping[str, str]) -> None:
    """Each bound (and choice), set alone over the base params, gives a valid config.

    Raises:
        ConfigError: naming the space entry and the value the config rejects.
    """
    for p in space.params:
        for value in p.endpoints():
            try:
                build_configs({p.root: apply_values(base, {p.name: value})[p.root]},
                              {p.root: where[p.root]})
            except ConfigError as err:
                raise ConfigError(f"tune.space.{p.name}: the value {value!r} is not valid "
                                  f"there: {err}") from err


def conf_path(name: str, arm: str | None = None) -> tuple[str, ...]:
    """``refine.x`` -> ``(rounds, refine, x)``; for an arm, below ``rounds.arms.<arm>`` (its
    overrides: ``rounds.arms.<arm>.rounds.refine.x``, ``rounds.arms.<arm>.mine.mining.x``)."""
    root, *path = name.split(".")
    return (*(("rounds", "arms", arm) if arm else ()), *_roots()[root][1], *path)


def conf_overrides(values: Mapping[str, Any], arm: str | None = None) -> dict[str, Any]:
    """Dotted values as nested Kedro parameters: ``refine.x`` -> ``{rounds: {refine: {x: ..}}}``
    (:func:`conf_path`)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        *parents, leaf = conf_path(name, arm)
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def conf_name(name: str, arm: str | None = None) -> str:
    """``refine.lambda_reg`` -> ``rounds.refine.lambda_reg`` (for ``kedro run --params``)."""
    return ".".join(conf_path(name, arm))
