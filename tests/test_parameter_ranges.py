"""Every numeric key of conf/base has a checked range: an invalid value stops the run before its
first node, in the parameter check (``limeguard.hooks.parameters.check_parameters``), naming the key."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from kedro.config import OmegaConfigLoader

from limeguard.config import SEED_MAX, ConfigError
from limeguard.hooks.parameters import check_parameters, parameter_schemas
from tests.conftest import PROJECT_ROOT
from tests.kedro_project import files_under, kedro, make_project_copy

KeyPath = tuple[str | int, ...]


def base_parameters() -> dict[str, Any]:
    loader = OmegaConfigLoader(conf_source=str(PROJECT_ROOT / "conf"), base_env="base",
                               default_run_env="base", env="base",
                               merge_strategy={"parameters": "soft"})
    return loader["parameters"]


def numeric_keys(node: Any, prefix: KeyPath = ()) -> list[KeyPath]:
    """The path of every int or float leaf (list items included) of a parameters tree."""
    if isinstance(node, dict):
        return [p for key, value in node.items() for p in numeric_keys(value, (*prefix, key))]
    if isinstance(node, list):
        return [p for i, value in enumerate(node) for p in numeric_keys(value, (*prefix, i))]
    return [prefix] if isinstance(node, int | float) and not isinstance(node, bool) else []


def dotted(path: KeyPath) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def with_value(params: dict[str, Any], path: KeyPath, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(params)
    node = changed
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return changed


def names_key(message: str, path: KeyPath) -> bool:
    """The message names the key: in full, as its parent (a list, a tuning range), or as a
    section followed by the key's own name (``tune.objective.eps_255 and alpha_255: ...``)."""
    for n in range(len(path), 1, -1):
        prefix = dotted(path[:n])
        if prefix in message:
            rest = message.split(prefix, 1)[1]
            return n >= len(path) - 1 or re.search(rf"\b{path[-1]}\b", rest) is not None
    return False


BASE = base_parameters()
NUMERIC = sorted(numeric_keys(BASE), key=dotted)  # one order in every process (xdist workers)
SEEDS = [p for p in NUMERIC if p[-1] == "seed" or (isinstance(p[-1], int) and
                                                   str(p[-2]).endswith("seeds"))]


def test_the_sweep_covers_the_numeric_keys_of_every_section() -> None:
    assert len(NUMERIC) > 100
    assert {p[0] for p in NUMERIC} >= {"runtime", "data", "baseline", "mine", "rounds",
                                        "evaluate", "corruptions", "report", "tune"}
    assert len(SEEDS) >= 8


def test_base_parameters_pass() -> None:
    check_parameters(BASE, parameter_schemas())


@pytest.mark.parametrize("path", NUMERIC, ids=dotted)
def test_minus_one_is_refused_naming_the_key(path: KeyPath) -> None:
    with pytest.raises(ConfigError) as err:
        check_parameters(with_value(BASE, path, -1), parameter_schemas())
    assert names_key(str(err.value), path), str(err.value)


@pytest.mark.parametrize("path", SEEDS, ids=dotted)
def test_a_seed_numpy_and_torch_cannot_take_is_refused(path: KeyPath) -> None:
    check_parameters(with_value(BASE, path, SEED_MAX), parameter_schemas())
    with pytest.raises(ConfigError) as err:
        check_parameters(with_value(BASE, path, SEED_MAX + 1), parameter_schemas())
    assert names_key(str(err.value), path), str(err.value)


@pytest.mark.parametrize(("key", "value"), [
    ("evaluate.max_images", 0),            # "No objects to concatenate" after 8 nodes before
    ("evaluate.bound_images", 0),
    ("mine.mining.lime.ridge_alpha", 0.0),
    ("mine.mining.segmentation.compactness", 0.0),
    ("mine.stability_top_k", 51),          # more than the 50 superpixels asked for
    ("mine.stability_seeds", [3, 3]),      # pairwise comparison needs two different seeds
    ("mine.figure_images", 0),
    ("report.min_correlation", 1.5),
])
def test_other_invalid_values_are_refused_naming_the_key(key: str, value: Any) -> None:
    path = tuple(key.split("."))
    with pytest.raises(ConfigError) as err:
        check_parameters(with_value(BASE, path, value), parameter_schemas())
    assert names_key(str(err.value), path), str(err.value)


@pytest.mark.slow
@pytest.mark.parametrize("override", ["data.split.seed=-1", "evaluate.max_images=0"])
def test_a_run_with_an_invalid_value_stops_before_its_first_node(
    tmp_path: Path, override: str
) -> None:
    project = make_project_copy(tmp_path / "project")
    done = kedro(project, "run", "--env", "test", "--params", override, timeout=300)
    key = override.split("=")[0]
    assert done.returncode != 0
    assert f"{key}:" in done.stdout + done.stderr
    assert "Running node" not in done.stdout + done.stderr
    assert files_under(project / "data") == []
