"""Every shipped environment's parameters parse into the library's dataclasses."""

from __future__ import annotations

import pytest
from kedro.config import OmegaConfigLoader

from limeguard.hooks import check_parameters, parameter_schemas
from tests.conftest import PROJECT_ROOT


@pytest.mark.parametrize("env", ["base", "test", "paper"])
def test_environment_parameters_are_valid(env: str) -> None:
    loader = OmegaConfigLoader(conf_source=str(PROJECT_ROOT / "conf"), base_env="base",
                               default_run_env="base", env=env, merge_strategy={"parameters": "soft"})
    params = loader["parameters"]
    check_parameters(params, parameter_schemas())
    assert params["runtime"]["device"] == {"base": "auto", "test": "cpu", "paper": "cuda"}[env]
