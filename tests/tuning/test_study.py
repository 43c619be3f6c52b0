"""A tiny study through the library on the toy setup: resume, failures, workers, outputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from limeguard.config import ConfigError
from limeguard.training import NonFiniteLossError
from limeguard.tuning import StorageError, open_storage, outputs, prepare_study, tune_refinement
from limeguard.tuning import objective as objective_module
from tests.conftest import PROJECT_ROOT
from tests.tuning.toy import BASE, FAST_HEARTBEAT, toy_config, toy_data


def _load(url: str, name: str = "toy") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=open_storage(url))


def test_resume_continues_to_the_new_total(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/study.db"
    first = tune_refinement(toy_data(), toy_config(url, 2), BASE)
    assert first.ran == (0, 1) and first.counted == 2
    started = {t.number: t.datetime_start for t in _load(url).trials}
    again = tune_refinement(toy_data(), toy_config(url, 2), BASE)  # already there: nothing runs
    assert again.ran == ()
    more = tune_refinement(toy_data(), toy_config(url, 3), BASE)
    assert more.ran == (2,)
    trials = _load(url).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3
    assert {t.number: t.datetime_start for t in trials[:2]} == started  # never re-run
    assert trials[0].user_attrs["defaults"] and trials[0].params["refine.lambda_reg"] == 1.0
    assert trials[0].params["train.epochs"] == 2 and trials[0].params["refine.fill"] == "blur"
    assert all(t.intermediate_values for t in trials)  # per-epoch reports (pruning)
    for t in trials:  # the trial's value and accuracies are those of its best epoch
        best = t.user_attrs[f"epoch_{t.user_attrs['best_epoch']}"]
        assert t.value == t.user_attrs["pgd_acc"] == best["pgd_acc"] == t.intermediate_values[
            t.user_attrs["best_epoch"]]
        assert t.user_attrs["clean_acc"] == best["clean_acc"]


def test_a_nan_loss_fails_the_trial_and_the_study_goes_on(tmp_path: Path, monkeypatch) -> None:
    real, calls = objective_module.refine_model, []

    def second_call_diverges(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise NonFiniteLossError(0, 1, float("nan"), None)
        return real(*args, **kwargs)

    monkeypatch.setattr(objective_module, "refine_model", second_call_diverges)
    url = f"sqlite:///{tmp_path}/study.db"
    result = tune_refinement(toy_data(), toy_config(url, 3), BASE)
    trials = _load(url).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.FAIL, TrialState.COMPLETE]
    assert "training loss is nan" in trials[1].user_attrs["failure"]
    assert result.counted == 3  # the failure counts: a rerun does not retry it
    assert tune_refinement(toy_data(), toy_config(url, 3), BASE).ran == ()
    table = outputs.trials_table(_load(url))
    assert list(table["state"]) == ["COMPLETE", "FAIL", "COMPLETE"]


def test_an_interrupted_trial_is_run_again(tmp_path: Path, monkeypatch) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    url = f"sqlite:///{tmp_path}/study.db"
    monkeypatch.setattr(objective_module, "refine_model", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tune_refinement(toy_data(), toy_config(url, 2), BASE)
    monkeypatch.undo()
    assert [t.state for t in _load(url).trials] == [TrialState.FAIL]
    assert tune_refinement(toy_data(), toy_config(url, 2), BASE).ran == (1, 2)
    states = [t.state for t in _load(url).trials]
    assert states == [TrialState.FAIL, TrialState.COMPLETE, TrialState.COMPLETE]


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")
def test_a_trial_running_elsewhere_counts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/study.db"
    study, _ = prepare_study(toy_config(url, 1), BASE)
    study.ask()  # another worker's trial, still running
    assert tune_refinement(toy_data(), toy_config(url, 1), BASE).ran == ()
    assert tune_refinement(toy_data(), toy_config(url, 2), BASE).ran == (1,)


def test_pareto_mode_and_outputs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/study.db"
    cfg = toy_config(url, 3, objective={"mode": "pareto", "val_images": 16, "steps": 2})
    tune_refinement(toy_data(), cfg, BASE)
    study = _load(url)
    assert all(len(t.values) == 2 for t in study.trials)
    figures = outputs.figures(study, cfg)
    assert set(figures) == {"history.png", "importances.png", "pareto_front.png"}
    text = outputs.best_params_text(study, cfg, "data/08_reporting/tune/best_params.yml")
    params = yaml.safe_load(text)
    assert set(params) == {"rounds"} and set(params["rounds"]) == {"refine", "train"}
    assert "kedro run --params" in text and "rounds.refine.lambda_reg=" in text
    best = outputs.best_trial(study, cfg)
    assert best.number in {t.number for t in study.best_trials}
    summary = outputs.summary(study, cfg)
    assert summary["n_trials"] == 3 and summary["defaults"]["number"] == 0


def test_bad_storage_and_changed_setup_fail_before_any_trial(tmp_path: Path) -> None:
    hidden = r"cannot open postgresql(\+psycopg2)?://limeguard:\*\*\*@127.0.0.1:1/x: .*refused"
    with pytest.raises(StorageError, match=hidden):
        prepare_study(toy_config("postgresql://limeguard:secret@127.0.0.1:1/x", 2), BASE)
    with pytest.raises(StorageError, match="cannot open"):
        prepare_study(toy_config("nosuchdb://x", 2), BASE)
    url = f"sqlite:///{tmp_path}/study.db"
    tune_refinement(toy_data(), toy_config(url, 1), BASE)
    changed = toy_config(url, 2, objective={"mode": "constrained", "val_images": 8, "steps": 2})
    with pytest.raises(ConfigError, match=r"created with another objective.*tune.study.name"):
        prepare_study(changed, BASE)
    assert len(_load(url).trials) == 1


def _workers(url: str, n_trials: int, results: Path) -> list[list[int]]:
    """Two worker subprocesses on ``url``; the trial numbers each one ran."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(
        [sys.executable, "-c", f"from tests.tuning.toy import run_worker; "
                               f"run_worker({url!r}, {n_trials}, {str(results / str(k))!r})"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for k in range(2)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    for p, out in zip(procs, outs, strict=True):
        assert p.returncode == 0, out[-3000:]
    return [json.loads((results / str(k)).read_text()) for k in range(2)]


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_two_workers_share_one_storage(tmp_path: Path, kind: str) -> None:
    url = f"sqlite:///{tmp_path}/study.db" if kind == "sqlite" else f"journal:///{tmp_path}/study.log"
    ran = _workers(url, 5, tmp_path)
    study = _load(url)
    real = outputs.real_trials(study)
    assert [t.state for t in real] == [TrialState.COMPLETE] * 5
    assert all(ran) and not set(ran[0]) & set(ran[1])  # both ran trials, none twice
    assert sorted(ran[0] + ran[1]) == [t.number for t in real]
    params = [tuple(sorted(t.params.items())) for t in real]
    assert len(set(params)) == 5  # per-trial seeds: the workers do not repeat each other


def test_postgresql(tmp_path: Path) -> None:
    url = os.environ.get("LIMEGUARD_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("no PostgreSQL server: set LIMEGUARD_TEST_POSTGRES_URL=postgresql://user:pw@127.0.0.1/db "
                    "(.ci/run starts Debian's postgresql and sets it)")
    storage = open_storage(url)  # postgresql:// -> postgresql+psycopg2:// with psycopg2 only
    if "toy" in optuna.get_all_study_names(storage):
        optuna.delete_study(study_name="toy", storage=storage)
    _workers(url, 4, tmp_path)
    study = _load(url)
    assert [t.state for t in outputs.real_trials(study)] == [TrialState.COMPLETE] * 4
    optuna.delete_study(study_name="toy", storage=storage)


def _storage_url(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/study.db"
    url = os.environ.get("LIMEGUARD_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("no PostgreSQL server: set LIMEGUARD_TEST_POSTGRES_URL (see test_postgresql)")
    storage = open_storage(url)
    if "toy" in optuna.get_all_study_names(storage):
        optuna.delete_study(study_name="toy", storage=storage)
    return url


def _kill_mid_trial(url: str, n_trials: int, started: Path) -> None:
    """A worker subprocess whose trial hangs in training: once it is there, wait past the grace
    period (its heartbeat keeps the trial alive), then SIGKILL it."""
    code = (f"from tests.tuning.toy import run_hung_worker; "
            f"run_hung_worker({url!r}, {n_trials}, {str(started)!r})")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=PROJECT_ROOT,
                            env={**os.environ, "OMP_NUM_THREADS": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not started.exists():
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        assert time.monotonic() < deadline, "the worker never reached training"
        time.sleep(0.1)
    time.sleep(FAST_HEARTBEAT["grace_s"] + 1.5)
    live = prepare_study(toy_config(url, n_trials, study=FAST_HEARTBEAT), BASE, load_only=True)[0]
    optuna.storages.fail_stale_trials(live)  # what every worker does: a live trial is not stale
    assert [t.state for t in live.trials] == [TrialState.RUNNING]
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.filterwarnings("ignore:Heartbeat of storage", "ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_killed_workers_trial_fails_and_is_retried(tmp_path: Path, kind: str) -> None:
    url = _storage_url(kind, tmp_path)
    cfg = toy_config(url, 2, study=FAST_HEARTBEAT)
    _kill_mid_trial(url, 2, tmp_path / "started")
    assert [t.state for t in _load(url).trials] == [TrialState.RUNNING]  # nothing ended it
    time.sleep(FAST_HEARTBEAT["grace_s"] + 1.5)  # its heartbeat is now stale
    result = tune_refinement(toy_data(), cfg, BASE)
    trials = _load(url).trials
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.COMPLETE, TrialState.COMPLETE]
    retry = trials[1]
    assert retry.system_attrs["failed_trial"] == 0 and retry.params == trials[0].params
    assert retry.user_attrs["defaults"] and "failed_trial" not in trials[2].system_attrs
    assert result.ran == (1, 2) and result.counted == 2
    assert outputs.summary(_load(url), cfg)["defaults"]["number"] == 1
    if kind == "postgresql":
        optuna.delete_study(study_name="toy", storage=open_storage(url))


def test_trials_keep_per_image_outcomes_and_the_best_is_compared_paired(tmp_path: Path) -> None:
    """Each trial stores its kept epoch's per-image validation outcomes; the summary compares the
    best trial with the defaults on the same images (paired interval, McNemar), by hand count."""
    import numpy as np

    url = f"sqlite:///{tmp_path}/study.db"
    tune_refinement(toy_data(), toy_config(url, 3), BASE)
    trials = _load(url).trials
    for t in trials:
        kept = t.user_attrs[objective_module.OUTCOMES]
        assert set(kept) == {"clean", "pgd"} and set(kept["pgd"]) <= {"0", "1"}
        assert kept["pgd"].count("1") / len(kept["pgd"]) == pytest.approx(t.user_attrs["pgd_acc"])
        assert kept["clean"].count("1") / len(kept["clean"]) == pytest.approx(
            t.user_attrs["clean_acc"])
    best = max(trials[1:], key=lambda t: t.value)
    fake_defaults = trials[0]
    compared = outputs.best_vs_defaults(best, fake_defaults)
    a = np.array(list(best.user_attrs["val_outcomes"]["pgd"]), int)
    b = np.array(list(fake_defaults.user_attrs["val_outcomes"]["pgd"]), int)
    assert compared["pgd"]["diff_points"] == pytest.approx(100 * (a - b).mean())
    assert (compared["pgd"]["wins"], compared["pgd"]["losses"]) == (
        int(((a == 1) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum()))
    low, high = compared["pgd"]["low_points"], compared["pgd"]["high_points"]
    assert low <= compared["pgd"]["diff_points"] <= high
    assert compared["verdict"] == ("the tuned settings beat the defaults beyond noise" if low > 0
                                   else "within noise of the defaults")
    assert outputs.best_vs_defaults(best, best) == {"compared": False,
                                                    "why": "the defaults are the best trial"}
