"""What a study leaves behind: the trials table, the best parameters as a Kedro parameters file,
Optuna's figures and a summary."""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any

import numpy as np
import optuna
import pandas as pd
import yaml
from optuna.trial import TrialState

from limeguard.tuning.config import TuneConfig
from limeguard.tuning.space import conf_name, conf_overrides
from limeguard.tuning.storage import redact

log = logging.getLogger(__name__)


def real_trials(study: optuna.Study) -> list[Any]:
    """Every trial but the surplus ones (claimed by a worker after the total was reached)."""
    return [t for t in study.get_trials(deepcopy=False) if not t.user_attrs.get("surplus")]


def trials_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, pgd_acc, clean_acc, seconds, each parameter, defaults."""
    rows = []
    for t in real_trials(study):
        attrs = t.user_attrs
        rows.append({
            "number": t.number, "state": t.state.name,
            "pgd_acc": attrs.get("pgd_acc", math.nan), "clean_acc": attrs.get("clean_acc", math.nan),
            "objective": t.values[0] if t.values else math.nan,
            "seconds": t.duration.total_seconds() if t.duration else math.nan,
            "epochs_run": attrs.get("epochs_run", math.nan),
            "feasible": attrs.get("constraint", math.inf) <= 0,
            "defaults": bool(attrs.get("defaults", False)),
            "failure": attrs.get("failure", ""),
            **{f"param.{k}": v for k, v in t.params.items()},
            "datetime_start": t.datetime_start, "datetime_complete": t.datetime_complete,
        })  # fmt: skip
    return pd.DataFrame(rows)


def best_trial(study: optuna.Study, cfg: TuneConfig) -> Any | None:
    """The complete trial with the highest PGD accuracy among those whose clean accuracy reaches
    ``objective.min_clean_acc`` (ties: higher clean accuracy); in ``pareto`` mode this is a
    trial of the Pareto front. None when no trial completed."""
    done = [t for t in real_trials(study) if t.state == TrialState.COMPLETE]
    feasible = [t for t in done if t.user_attrs.get("clean_acc", 0) >= cfg.objective.min_clean_acc]
    if done and not feasible:
        log.warning("tune: no trial reached clean accuracy %.3f; best by PGD accuracy alone",
                    cfg.objective.min_clean_acc)
    pool = feasible or done
    if not pool:
        return None
    return max(pool, key=lambda t: (t.user_attrs["pgd_acc"], t.user_attrs["clean_acc"], -t.number))


def best_params_text(study: optuna.Study, cfg: TuneConfig, path: str) -> str:
    """A Kedro parameters YAML of the best trial's values (``rounds:`` / ``mine:`` keys) with a
    header saying where it comes from and how to use it (``path``: where it is written)."""
    best = best_trial(study, cfg)
    if best is None:
        return "# no trial of the study completed: nothing to tune with yet\n{}\n"
    defaults = next((t for t in real_trials(study) if t.user_attrs.get("defaults")
                     and t.state == TrialState.COMPLETE), None)
    ref = ("untuned defaults: not run" if defaults is None else
           f"untuned defaults (trial {defaults.number}): PGD {defaults.user_attrs['pgd_acc']:.4f}, "
           f"clean {defaults.user_attrs['clean_acc']:.4f}")
    params = ",".join(f"{conf_name(k, cfg.arm)}={v}" for k, v in best.params.items())
    header = [
        f"# Tuned by Optuna: study {study.study_name!r}, {len(real_trials(study))} trials, best "
        f"trial {best.number}",
        f"# validation PGD accuracy {best.user_attrs['pgd_acc']:.4f}, clean "
        f"{best.user_attrs['clean_acc']:.4f}; {ref}",
        *_use(path, cfg.arm),
        "# or on the command line:",
        f'#   kedro run --params "{params}"',
    ]
    body = yaml.safe_dump(conf_overrides(best.params, cfg.arm), sort_keys=False,
                          default_flow_style=False)
    return "\n".join(header) + "\n" + body


def _use(path: str, arm: str | None) -> list[str]:
    """How to use the best parameters file: as an env, or (an arm's) in the env that runs it."""
    if arm is None:
        return ["# Use it as a conf env of its own (soft-merged over conf/base):",
                f"#   mkdir -p conf/tuned && cp {path} conf/tuned/parameters_tuned.yml",
                "#   KEDRO_ENV=tuned kedro run --env tuned"]
    return [f"# Overrides of arm {arm!r} only (rounds.arms.{arm}; soft-merged: its others stay).",
            "# Drop it into the conf env of the run that benches the arm (conf/local/: the default run):",
            f"#   cp {path} conf/local/parameters_tuned_{arm}.yml"]


def figures(study: optuna.Study, cfg: TuneConfig) -> dict[str, Any]:
    """Matplotlib figures: optimisation history, parameter importances, and the Pareto front
    (``pareto``) or the per-epoch intermediate values (other modes). A figure that cannot be
    drawn yet (e.g. importances with fewer than two complete trials) says why instead."""
    from optuna.visualization import matplotlib as ovm

    pareto = cfg.objective.mode == "pareto"
    target = {"target": (lambda t: t.values[0]), "target_name": "validation PGD accuracy"}
    plots = {
        "history.png": lambda: ovm.plot_optimization_history(study, **target) if pareto
        else ovm.plot_optimization_history(study, target_name="validation PGD accuracy"),
        "importances.png": lambda: ovm.plot_param_importances(study, **target) if pareto
        else ovm.plot_param_importances(study, target_name="validation PGD accuracy"),
    }
    if pareto:
        plots["pareto_front.png"] = lambda: ovm.plot_pareto_front(
            study, target_names=["validation PGD accuracy", "validation clean accuracy"])
    else:
        plots["intermediate_values.png"] = lambda: ovm.plot_intermediate_values(study)
    return {name: _draw(name, make) for name, make in plots.items()}


def _draw(name: str, make: Any) -> Any:
    import matplotlib.pyplot as plt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ExperimentalWarning of the matplotlib backend
        try:
            axes = make()
            fig = (axes.flat[0] if hasattr(axes, "flat") else axes).figure
            fig.set_size_inches(7, 4.5)
            return fig
        except (ValueError, RuntimeError, ZeroDivisionError) as err:
            log.info("tune: figure %s not drawn: %s", name, err)
            fig, ax = plt.subplots(figsize=(7, 4.5))
            ax.axis("off")
            ax.text(0.5, 0.5, f"{name}: not available yet\n{err}", ha="center", va="center",
                    wrap=True)
            return fig


def summary(study: optuna.Study, cfg: TuneConfig) -> dict[str, Any]:
    """Counts per state, the best trial, the untuned-defaults trial and the time spent."""
    trials = real_trials(study)
    best = best_trial(study, cfg)
    defaults = next((t for t in trials if t.user_attrs.get("defaults")  # a retry copies it
                     and t.state == TrialState.COMPLETE), None) \
        or next((t for t in trials if t.user_attrs.get("defaults")), None)

    def brief(t: Any) -> dict[str, Any] | None:
        if t is None:
            return None
        return {"number": t.number, "state": t.state.name, "params": t.params,
                "pgd_acc": t.user_attrs.get("pgd_acc"), "clean_acc": t.user_attrs.get("clean_acc")}

    states = pd.Series([t.state.name for t in trials], dtype=object).value_counts()
    return {
        "study": study.study_name, "storage": redact(cfg.study.storage),
        "mode": cfg.objective.mode, "directions": cfg.objective.directions,
        "n_trials_target": cfg.study.n_trials, "n_trials": len(trials),
        "states": {k: int(v) for k, v in states.items()},
        "trial_seconds_total": round(sum(t.duration.total_seconds() for t in trials
                                         if t.duration is not None), 1),
        "best": brief(best), "defaults": brief(defaults),
        "best_vs_defaults": best_vs_defaults(best, defaults),
        "pareto_front": [t.number for t in study.best_trials] if cfg.objective.mode == "pareto"
        and any(t.state == TrialState.COMPLETE for t in trials) else None,
        "dashboard": f"optuna-dashboard {redact(cfg.study.storage)}",
    }


def best_vs_defaults(best: Any, defaults: Any, level: float = 0.95) -> dict[str, Any]:
    """The best trial against the untuned defaults on the same validation images: the paired
    difference of PGD (and clean) accuracy with its bootstrap interval and McNemar's test, and
    whether the tuned settings win beyond noise (the interval's lower end above 0)."""
    from limeguard.evaluation.paired import paired_difference
    from limeguard.tuning.objective import OUTCOMES

    if best is None or defaults is None:
        return {"compared": False, "why": "no best trial or no defaults trial"}
    if best.number == defaults.number:
        return {"compared": False, "why": "the defaults are the best trial"}
    a, b = best.user_attrs.get(OUTCOMES) or {}, defaults.user_attrs.get(OUTCOMES) or {}
    out: dict[str, Any] = {"compared": True, "best": best.number, "defaults": defaults.number}
    for measure in ("pgd", "clean"):
        if measure not in a or measure not in b or len(a[measure]) != len(b[measure]):
            out[measure] = None
            continue
        r = paired_difference(np.array(list(a[measure]), int), np.array(list(b[measure]), int),
                              level=level)
        out[measure] = {"diff_points": 100 * r.diff, "low_points": 100 * r.low,
                        "high_points": 100 * r.high, "n_images": r.n_images, "wins": r.wins,
                        "losses": r.losses, "mcnemar_p": r.mcnemar_p}
    pgd = out.get("pgd")
    out["verdict"] = ("not measured" if pgd is None else "the tuned settings beat the defaults "
                      "beyond noise" if pgd["low_points"] > 0 else "within noise of the defaults")
    return out
