from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from limeguard.config import ConfigError, from_params, to_params
from limeguard.hooks.parameters import check_parameters, parameter_schemas


@dataclass(frozen=True)
class Inner:
    steps: int = 10
    eps_255: float = 8.0


@dataclass(frozen=True)
class Outer:
    name: str
    inner: Inner = field(default_factory=Inner)
    sizes: tuple[int, ...] = (1, 2)


def test_nested_and_tuples() -> None:
    cfg = from_params(Outer, {"name": "x", "inner": {"eps_255": 4}, "sizes": [3, 4]}, "top")
    assert cfg == Outer("x", Inner(10, 4.0), (3, 4))
    assert to_params(cfg) == {"name": "x", "inner": {"steps": 10, "eps_255": 4.0}, "sizes": [3, 4]}


def test_unknown_key_suggests_the_close_one() -> None:
    with pytest.raises(ConfigError, match=r"top.inner: unknown parameter 'stpes' \(did you mean 'steps'\?\)"):
        from_params(Outer, {"name": "x", "inner": {"stpes": 3}}, "top")


def test_a_key_of_a_section_given_outside_it_points_into_it() -> None:
    with pytest.raises(ConfigError, match=r"top: unknown parameter 'eps_255' \(did you mean 'inner.eps_255'\?\)"):
        from_params(Outer, {"name": "x", "eps_255": 4}, "top")
    with pytest.raises(ConfigError, match=r"top: unknown parameter 'inner_steps' \(did you mean 'inner.steps'\?\)"):
        from_params(Outer, {"name": "x", "inner_steps": 4}, "top")


def test_missing_and_mistyped() -> None:
    with pytest.raises(ConfigError, match="top.name: required parameter is missing"):
        from_params(Outer, {}, "top")
    with pytest.raises(ConfigError, match="top.inner.steps: expected int"):
        from_params(Outer, {"name": "x", "inner": {"steps": "ten"}}, "top")


def test_project_parameters_are_checked_everywhere() -> None:
    schemas = parameter_schemas()
    check_parameters({"runtime": {"device": "cpu"}, "data": {"split": {"train_size": 10}}}, schemas)
    with pytest.raises(ConfigError, match="data.splt: unknown parameter"):
        check_parameters({"data": {"splt": {}}}, schemas)
    with pytest.raises(ConfigError, match="trainig: unknown parameter"):
        check_parameters({"trainig": {}}, schemas)
    with pytest.raises(ConfigError, match="runtime.device: unknown device"):
        check_parameters({"runtime": {"device": "tpu"}}, schemas)
