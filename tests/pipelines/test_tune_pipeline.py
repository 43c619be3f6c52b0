"""`kedro run --pipelines tune --env test` in a project copy: outputs, and a resumed second run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.kedro_project import kedro


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory, tiny_run: dict) -> Path:
    """A copy of the ``tiny_run`` fixture's finished project (its data, baseline and mining
    outputs are what `tune` reads), then `kedro run --pipelines tune`."""
    project = tmp_path_factory.mktemp("tune") / "project"
    shutil.copytree(tiny_run["project"], project)
    run = kedro(project, "run", "--env", "test", "--pipelines", "tune")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return project


@pytest.mark.slow
def test_outputs(tuned: Path) -> None:
    out = tuned / "data/test/08_reporting/tune"
    best = yaml.safe_load((out / "best_params.yml").read_text())
    assert set(best) == {"rounds", "mine"}  # the test space tunes mining too (re-mined per trial)
    assert {"lambda_reg", "mask_fraction", "fill"} <= set(best["rounds"]["refine"])
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 3 and set(trials["state"]) <= {"COMPLETE", "PRUNED", "FAIL"}
    assert trials["defaults"].tolist() == [True, False, False]
    for name in ("history.png", "importances.png", "intermediate_values.png"):
        assert (out / "figures" / name).stat().st_size > 1000, name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_trials"] == 3 and summary["storage"].startswith("sqlite:///data/test/07_model_output/tune/")
    assert (tuned / "data/test/07_model_output/tune/study.db").is_file()


@pytest.mark.slow
def test_best_params_load_as_a_conf_env(tuned: Path) -> None:
    """The written file is a parameters file: as an env of its own it overrides single keys of
    conf/base and passes the project's parameter check."""
    from kedro.config import OmegaConfigLoader

    from limeguard.hooks.parameters import check_parameters, parameter_schemas

    text = (tuned / "data/test/08_reporting/tune/best_params.yml").read_text()
    (tuned / "conf" / "tuned").mkdir(exist_ok=True)
    (tuned / "conf" / "tuned" / "parameters_tuned.yml").write_text(text)
    loader = OmegaConfigLoader(conf_source=str(tuned / "conf"), base_env="base", default_run_env="local",
                               env="tuned", merge_strategy={"parameters": "soft"})
    params = loader["parameters"]
    check_parameters(params, parameter_schemas())
    best = yaml.safe_load(text)
    assert params["rounds"]["refine"]["lambda_reg"] == best["rounds"]["refine"]["lambda_reg"]
    assert params["rounds"]["count"] == 3 and params["rounds"]["refine"]["augment"] == "fgsm_rs"


@pytest.mark.slow
def test_rerun_with_a_larger_total_continues(tuned: Path) -> None:
    run = kedro(tuned, "run", "--env", "test", "--pipelines", "tune", "--params", "tune.study.n_trials=4")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    trials = pd.read_csv(tuned / "data/test/08_reporting/tune/trials.csv")
    assert trials["number"].tolist() == [0, 1, 2, 3]
    summary = json.loads((tuned / "data/test/08_reporting/tune/summary.json").read_text())
    assert summary["this_worker"]["ran"] == [3]
