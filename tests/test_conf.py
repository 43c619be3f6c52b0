"""Every shipped environment's parameters parse into the library's dataclasses."""

from __future__ import annotations

import pytest
from kedro.config import OmegaConfigLoader

from limeguard.hooks import check_parameters, parameter_schemas
from tests.conftest import PROJECT_ROOT

SPURIOUS_ENVS = {"spurious": ("border", "flat"), "spurious_object": ("object", "flat"),
                 "spurious_texture": ("border", "texture")}  # env -> (placement, content)
ENVS = ["base", "test", "paper", *SPURIOUS_ENVS]


def test_every_shipped_env_is_checked() -> None:
    shipped = {p.name for p in (PROJECT_ROOT / "conf").iterdir() if p.is_dir()} - {"local"}
    assert shipped == set(ENVS)


@pytest.mark.parametrize("env", ENVS)
def test_environment_parameters_are_valid(env: str) -> None:
    loader = OmegaConfigLoader(conf_source=str(PROJECT_ROOT / "conf"), base_env="base",
                               default_run_env="base", env=env, merge_strategy={"parameters": "soft"})
    params = loader["parameters"]
    check_parameters(params, parameter_schemas())
    assert params["runtime"]["device"] == {"test": "cpu", "paper": "cuda"}.get(env, "auto")
    spurious = params["data"]["spurious"]
    assert spurious["enabled"] is (env in SPURIOUS_ENVS)
    assert (spurious["placement"], spurious["content"]) == SPURIOUS_ENVS.get(env, ("border", "flat"))


@pytest.mark.parametrize("env", SPURIOUS_ENVS)
def test_spurious_env_writes_beside_the_default_run(env: str) -> None:
    """Its artifacts and checkpoints live under data/<env>, never over the DVC-tracked run."""
    loader = OmegaConfigLoader(conf_source=str(PROJECT_ROOT / "conf"), base_env="base",
                               default_run_env="base", env=env,
                               merge_strategy={"parameters": "soft"})
    params, catalog = loader["parameters"], loader["catalog"]
    assert params["rounds"]["checkpoint_root"].startswith(f"data/{env}/")
    assert all(v.startswith(f"data/{env}/") for v in params["baseline"]["checkpoint_dirs"].values())
    paths = [entry["filepath"] for entry in catalog.values()
             if isinstance(entry, dict) and "filepath" in entry]
    assert paths and all(p.startswith(f"data/{env}/") for p in paths)
