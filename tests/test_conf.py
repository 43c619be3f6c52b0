"""Every shipped environment's parameters parse into the library's dataclasses."""

from __future__ import annotations

import pytest
from kedro.config import OmegaConfigLoader

from limeguard.hooks import check_parameters, parameter_schemas
from tests.conftest import PROJECT_ROOT


@pytest.mark.parametrize("env", ["base", "test", "paper", "spurious"])
def test_environment_parameters_are_valid(env: str) -> None:
    loader = OmegaConfigLoader(conf_source=str(PROJECT_ROOT / "conf"), base_env="base",
                               default_run_env="base", env=env, merge_strategy={"parameters": "soft"})
    params = loader["parameters"]
    check_parameters(params, parameter_schemas())
    assert params["runtime"]["device"] == {"base": "auto", "test": "cpu", "paper": "cuda",
                                           "spurious": "auto"}[env]
    assert params["data"]["spurious"]["enabled"] is (env == "spurious")


def test_spurious_env_writes_beside_the_default_run() -> None:
    """Its artifacts and checkpoints live under data/spurious, never over the DVC-tracked run."""
    loader = OmegaConfigLoader(conf_source=str(PROJECT_ROOT / "conf"), base_env="base",
                               default_run_env="base", env="spurious",
                               merge_strategy={"parameters": "soft"})
    params, catalog = loader["parameters"], loader["catalog"]
    assert params["rounds"]["checkpoint_root"].startswith("data/spurious/")
    assert all(v.startswith("data/spurious/") for v in params["baseline"]["checkpoint_dirs"].values())
    paths = [entry["filepath"] for entry in catalog.values()
             if isinstance(entry, dict) and "filepath" in entry]
    assert paths and all(p.startswith("data/spurious/") for p in paths)
