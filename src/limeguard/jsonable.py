"""One converter from Python, numpy and torch values to plain JSON types.

The report's metrics, the masking checks, the data gate's report and the provenance record are
made JSON-safe by :func:`to_jsonable`. Two of its rules are options because the
artifacts legitimately differ there:

- ``digits``: the report's ``metrics.json`` rounds floats to 6 decimals, so that the last-bit
  noise of float arithmetic does not show in DVC's metric diffs; everything else keeps floats
  whole (a learning rate of ``1e-7`` in the provenance config must not become ``0.0``).
- ``nan_as_none``: the DVC metrics and the masking checks are strict JSON, so NaN and ±inf
  become ``None``; the provenance config and the data gate's report keep them, since there they
  are the value that was configured or observed (a configured ``.inf`` is not ``null``, which
  means "off" or "all" in this project's parameters, and an observed NaN is what a failed data
  check must show).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def to_jsonable(value: Any, *, digits: int | None = None, nan_as_none: bool = True) -> Any:
    """``value`` as plain JSON types, recursively.

    Rules: mappings -> dicts with ``str`` keys; lists, tuples and sets -> lists; numpy scalars,
    one-element arrays and tensors -> their Python number (``.item()``); ``None``, ``bool``,
    ``int``, ``float`` and ``str`` as they are; anything else (a ``Path``, a larger array) as
    its ``str``.

    Args:
        value: what to convert.
        digits: round every finite float to this many decimals (None: keep it whole).
        nan_as_none: NaN, inf and -inf as ``None`` (else kept as floats, which ``json``
            writes as ``NaN`` / ``Infinity``).

    Returns:
        A value that :func:`json.dumps` accepts.
    """
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, digits=digits, nan_as_none=nan_as_none)
                for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v, digits=digits, nan_as_none=nan_as_none) for v in value]
    value = _unwrap(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None if nan_as_none else value
        return value if digits is None else round(value, digits)
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def _unwrap(value: Any) -> Any:
    """A numpy scalar, one-element array or tensor as its Python scalar; else ``value``."""
    item = getattr(value, "item", None)
    if not callable(item):
        return value
    try:
        return item()
    except (ValueError, TypeError, RuntimeError):  # several elements: left to str()
        return value
