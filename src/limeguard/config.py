"""Parameters from ``conf/`` turned into frozen dataclasses.

Every library entry point takes a frozen dataclass; nodes build it from their parameters dict with
:func:`from_params`, which fails at once on an unknown or missing key and names it.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


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
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise ConfigError(_unknown_key_message(where, unknown, list(fields)))
    hints = typing.get_type_hints(cls)
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
    if message.split(":", 1)[0] in fields:
        return f"{where}.{message}"
    return f"{where}: {message}"


def _unknown_key_message(where: str, unknown: list[str], known: list[str]) -> str:
    import difflib

    parts = []
    for key in unknown:
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        parts.append(f"'{key}'{hint}")
    return f"{where}: unknown parameter {', '.join(parts)}; known: {', '.join(sorted(known))}"
