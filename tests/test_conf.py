"""Every shipped environment's parameters parse into the library's dataclasses."""

from __future__ import annotations

import pytest
from kedro.config import OmegaConfigLoader

from limeguard.hooks.parameters import check_parameters, parameter_schemas
from tests.conftest import PROJECT_ROOT

SPURIOUS_ENVS = {"spurious": ("border", "flat"), "spurious_object": ("object", "flat"),
                 "spurious_texture": ("border", "texture"),
                 "spurious_corners": ("corners", "flat")}  # env -> (placement, content)
ENVS = ["base", "test", "paper", "bench", *SPURIOUS_ENVS, "fashion_mnist", "image_folder_example",
        "decoy_fmnist", "decoy_fmnist_paper", "tune_paper"]
READS_THE_DEFAULT_RUN = {"tune_paper"}  # tunes on the default run's artifacts under data/


def test_every_shipped_env_is_checked() -> None:
    from limeguard.derived_env import derivation_files

    generated = {f.stem for f in derivation_files(PROJECT_ROOT / "conf")}  # e.g. paper_smoke
    assert generated == {"paper_smoke"}  # git-ignored; tests/test_derived_env.py checks it
    shipped = {p.name for p in (PROJECT_ROOT / "conf").iterdir() if p.is_dir()} - {"local"}
    assert shipped - generated == set(ENVS)


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


def _strings(node, key: str = ""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, f"{key}.{k}" if key else k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _strings(v, f"{key}[{i}]")
    elif isinstance(node, str):
        yield key, node


@pytest.mark.parametrize("env", [e for e in ENVS if e != "base" and e not in READS_THE_DEFAULT_RUN])
def test_every_other_env_writes_beside_the_default_run(env: str) -> None:
    """Its artifacts, checkpoints and tuning study live under data/<env>, never over the
    DVC-tracked run under data/; only the raw inputs (data/01_raw) are shared."""
    loader = OmegaConfigLoader(conf_source=str(PROJECT_ROOT / "conf"), base_env="base",
                               default_run_env="base", env=env,
                               merge_strategy={"parameters": "soft"})
    params, catalog = loader["parameters"], loader["catalog"]
    assert params["rounds"]["checkpoint_root"].startswith(f"data/{env}/")
    assert all(v.startswith(f"data/{env}/") for v in params["baseline"]["checkpoint_dirs"].values())
    assert params["tune"]["study"]["storage"] == f"sqlite:///data/{env}/07_model_output/tune/study.db"
    paths = [entry["filepath"] for entry in catalog.values()
             if isinstance(entry, dict) and "filepath" in entry]
    assert paths and all(p.startswith(f"data/{env}/") for p in paths)
    elsewhere = {key: value for key, value in _strings(params) if "data/" in value
                 and f"data/{env}/" not in value and not value.startswith("data/01_raw")}
    assert elsewhere == {}


def test_tune_paper_reads_the_default_run_and_keeps_its_study_apart() -> None:
    """Its inputs are the default run's (data_root as base); its study and reports are not."""
    def load(env: str) -> dict:  # read at once: the globals resolver is the last loader's
        loader = OmegaConfigLoader(conf_source=str(PROJECT_ROOT / "conf"), base_env="base",
                                   default_run_env="base", env=env,
                                   merge_strategy={"parameters": "soft"})
        return {kind: loader[kind] for kind in ("globals", "catalog", "parameters")}

    base, tuning = load("base"), load("tune_paper")
    assert tuning["globals"]["data_root"] == base["globals"]["data_root"] == "data"
    tune_outputs = [k for k in base["catalog"] if k.startswith("tune_")]
    assert tune_outputs and all(
        tuning["catalog"][k]["filepath"].startswith("data/08_reporting/tune_paper/")
        and base["catalog"][k]["filepath"].startswith("data/08_reporting/tune/") for k in tune_outputs)
    assert {k: v for k, v in tuning["catalog"].items() if not k.startswith("tune_")} == \
        {k: v for k, v in base["catalog"].items() if not k.startswith("tune_")}
    study, default = tuning["parameters"]["tune"]["study"], base["parameters"]["tune"]["study"]
    assert study["storage"] == "sqlite:///data/07_model_output/tune_paper/study.db" != default["storage"]
    assert tuning["parameters"]["tune"]["arm"] == "paper" and base["parameters"]["tune"]["arm"] is None
    assert {k: v for k, v in tuning["parameters"].items() if k != "tune"} == \
        {k: v for k, v in base["parameters"].items() if k != "tune"}


def test_dvc_repro_refuses_an_env_with_its_own_data_root(monkeypatch) -> None:
    """dvc.yaml's outputs are the default run's files under data/: under `dvc repro` (DVC_STAGE
    set) an env that writes elsewhere stops before its first node, naming the key."""
    from limeguard.config import ConfigError
    from limeguard.hooks.dvc import check_dvc_tracks_data_root

    check_dvc_tracks_data_root(str(PROJECT_ROOT), "paper")  # outside DVC: nothing to check
    monkeypatch.setenv("DVC_STAGE", "baseline")
    with pytest.raises(ConfigError, match=r"data_root: env 'paper' writes under data/paper/"):
        check_dvc_tracks_data_root(str(PROJECT_ROOT), "paper")
    check_dvc_tracks_data_root(str(PROJECT_ROOT), "base")
