"""to_jsonable: the one converter to plain JSON types (NaN, inf, numpy, torch, nested)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from limeguard.jsonable import to_jsonable


def test_plain_values_pass_unchanged() -> None:
    value = {"a": 1, "b": 0.25, "c": "x", "d": None, "e": True, "f": [1, 2]}
    assert to_jsonable(value) == value
    assert type(to_jsonable(True)) is bool and type(to_jsonable(3)) is int


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, np.float32("nan"), np.float64("-inf")])
def test_non_finite_floats_become_none_by_default(bad: float) -> None:
    assert to_jsonable(bad) is None
    assert json.dumps(to_jsonable({"x": [bad]}), allow_nan=False) == '{"x": [null]}'


def test_non_finite_floats_kept_when_asked() -> None:
    out = to_jsonable({"x": math.nan, "y": np.float64("inf"), "z": [-math.inf]}, nan_as_none=False)
    assert math.isnan(out["x"]) and out["y"] == math.inf and out["z"] == [-math.inf]
    assert type(out["y"]) is float


def test_digits_rounds_finite_floats_only() -> None:
    out = to_jsonable({"a": 0.123456789, "b": np.float32(0.5), "c": 7, "d": math.nan}, digits=6)
    assert out == {"a": 0.123457, "b": 0.5, "c": 7, "d": None}
    assert to_jsonable(1e-7) == 1e-7  # no rounding unless asked


def test_numpy_scalars_and_one_element_arrays_unwrap() -> None:
    out = to_jsonable([np.int64(3), np.float32(0.5), np.bool_(True), np.str_("s"), np.array([4])])
    assert out == [3, 0.5, True, "s", 4]
    assert [type(v) for v in out] == [int, float, bool, str, int]


def test_tensors_unwrap_and_larger_arrays_become_text() -> None:
    assert to_jsonable(torch.tensor(2.5)) == 2.5 and type(to_jsonable(torch.tensor(2))) is int
    assert to_jsonable(torch.tensor(float("nan"))) is None
    assert to_jsonable(np.array([1, 2])) == str(np.array([1, 2]))
    assert to_jsonable(torch.tensor([1.0, 2.0])) == str(torch.tensor([1.0, 2.0]))


def test_nested_containers_keys_and_other_objects() -> None:
    value = {1: (np.int32(1), {"p": Path("a/b")}), ("k", 2): {np.float64(0.5)}}
    out = to_jsonable(value)
    assert out == {"1": [1, {"p": str(Path("a/b"))}], "('k', 2)": [0.5]}
    json.dumps(out, allow_nan=False)


def test_input_is_not_mutated() -> None:
    value = {"a": [np.float64("nan"), (1, 2)]}
    to_jsonable(value)
    assert isinstance(value["a"][1], tuple) and math.isnan(value["a"][0])
