"""Parameters from ``conf/`` turned into frozen dataclasses.

Every library entry point takes a frozen dataclass; nodes build it from their parameters dict with
:func:`from_params`, which fails at once on an unknown or missing key and names it.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")

SEED_MAX = 2**32 - 1  # numpy's RandomState and torch's manual_seed both accept 0 .. 2**32 - 1


class ConfigError(ValueError):
    """A parameter is unknown, missing or has an invalid value; the message names it."""


def from_params(cls: type[T], params: Mapping[str, Any] | None, where: str) -> T:
    """Build the frozen dataclass ``cls`` from ``params``.

    Args:
        cls: a dataclass; nested dataclass fields are built recursively.
        params: the parameters mapping (e.g. ``params:train`` from Kedro).
        where: dotted name of ``params`` in the configuration, used in error messages.

    Raises:
        ConfigError: on an unknown key (with the closest known key), a missing required key,
            or a value the dataclass's ``__post_init__`` rejects.
    """
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ConfigError(f"{where}: expected a mapping of parameters, got {type(params).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(params) - set(fields))
    if unknown:
        sections = {n: hints[n] for n in fields if dataclasses.is_dataclass(hints[n])}
        raise ConfigError(_unknown_key_message(where, unknown, list(fields), sections))
    kwargs = {}
    for name, field in fields.items():
        if name in params:
            kwargs[name] = _convert(hints[name], params[name], f"{where}.{name}")
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{where}.{name}: required parameter is missing")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(_located(str(err), where, fields)) from err


def check_choice(name: str, value: object, options: tuple[str, ...]) -> None:
    """``ConfigError`` naming ``name`` unless ``value`` is one of ``options``."""
    if value not in options:
        raise ConfigError(f"{name}: unknown value {value!r}; use one of {', '.join(options)}")


def check_int_range(name: str, value: object, low: int, high: int | None = None) -> None:
    """``ConfigError`` naming ``name`` unless ``value`` is an integer (not a bool) in [low, high]."""
    ok = isinstance(value, int) and not isinstance(value, bool)
    if not (ok and low <= value and (high is None or value <= high)):
        wanted = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ConfigError(f"{name}: must be an integer {wanted}, got {value!r}")


def check_seed(name: str, value: object) -> None:
    """A seed numpy and torch both accept: an integer in [0, 2**32 - 1]."""
    check_int_range(name, value, 0, SEED_MAX)


def check_real_range(
    name: str, value: object, low: float, high: float = math.inf, *,
    low_open: bool = False, high_open: bool = False,
) -> None:
    """``ConfigError`` naming ``name`` unless ``value`` is a finite real number (not a bool) in the
    interval from ``low`` to ``high`` (each end closed unless ``*_open``)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > low if low_open else value >= low)
    ok = ok and (value < high if high_open or math.isinf(high) else value <= high)
    if not ok:
        if math.isinf(high):
            wanted = f"a finite number {'>' if low_open else '>='} {low:g}"
        else:
            wanted = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ConfigError(f"{name}: must be {wanted}, got {value!r}")


def check_fraction(name: str, value: object, *, low_open: bool = False) -> None:
    """A share or quantile: a number in [0, 1] (``(0, 1]`` with ``low_open``)."""
    check_real_range(name, value, 0.0, 1.0, low_open=low_open)


def check_positive(name: str, value: object) -> None:
    """A finite number > 0."""
    check_real_range(name, value, 0.0, low_open=True)


def check_non_negative(name: str, value: object) -> None:
    """A finite number >= 0."""
    check_real_range(name, value, 0.0)


def to_params(obj: Any) -> Any:
    """The inverse of :func:`from_params`: a dataclass as plain dicts and lists."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_params(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple | list):
        return [to_params(v) for v in obj]
    return obj


def _convert(hint: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return from_params(hint, value, where)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        if len(options) == 1:
            return _convert(options[0], value, where)
        return value
    if origin is tuple and isinstance(value, list | tuple):
        args = typing.get_args(hint)
        item = args[0] if args else Any
        return tuple(_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and not isinstance(value, hint):
        raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value


def _located(message: str, where: str, fields: Mapping[str, Any]) -> str:
    """Prefix a validation message with where the parameters live, once."""
    if message.startswith(where):
        return message
    head = re.split(r"[.\[ ]", message.split(":", 1)[0], maxsplit=1)[0]  # "steps", "milestones[0]"
    if head in fields:
        return f"{where}.{message}"
    return f"{where}: {message}"


def _unknown_key_message(where: str, unknown: list[str], known: list[str],
                         sections: Mapping[str, Any]) -> str:
    import difflib

    parts = []
    for key in unknown:
        close = _in_section(key, sections) or difflib.get_close_matches(key, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        parts.append(f"'{key}'{hint}")
    return f"{where}: unknown parameter {', '.join(parts)}; known: {', '.join(sorted(known))}"


def _in_section(key: str, sections: Mapping[str, Any]) -> list[str]:
    """``['attack.steps']`` for ``steps`` or ``attack_steps`` when the nested dataclass field
    ``attack`` has a field ``steps`` (a key that moved into a section); else ``[]``."""
    for section, cls in sections.items():
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        for name in (key, key.removeprefix(f"{section}_")):
            if name in names:
                return [f"{section}.{name}"]
    return []
