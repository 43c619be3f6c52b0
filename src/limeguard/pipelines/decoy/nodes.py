"""Nodes of the ``decoy`` pipeline: decoy Fashion-MNIST, six arms per seed, one report."""

from __future__ import annotations

from typing import Any

import pandas as pd
from torch import nn

from limeguard.config import from_params
from limeguard.decoy.arms import train_arm
from limeguard.decoy.config import METHODS, REFINED_ARMS, DecoyParams
from limeguard.decoy.data import DecoySets, decoy_sets
from limeguard.decoy.evaluate import model_outcomes
from limeguard.decoy.mined import refine_mined
from limeguard.decoy.report import build_report
from limeguard.explain.config import MineParams
from limeguard.images.imageset import ImageSet
from limeguard.runtime import RuntimeConfig, resolve_device


def make_decoy_sets(train_pool: ImageSet, test_pool: ImageSet, decoy: dict[str, Any]) -> DecoySets:
    """The decoy training, probe and test images and their clean originals."""
    return decoy_sets(train_pool, test_pool, from_params(DecoyParams, decoy, "decoy").data)


def _train(arm: str, sets: DecoySets, decoy: dict[str, Any],
           runtime: dict[str, Any]) -> tuple[nn.Module, pd.DataFrame]:
    run = from_params(RuntimeConfig, runtime, "runtime")
    result = train_arm(arm, sets, from_params(DecoyParams, decoy, "decoy"), run.seed,
                       resolve_device(run.device))
    return result.model.cpu(), result.history


def train_vanilla(sets: DecoySets, decoy: dict[str, Any],
                  runtime: dict[str, Any]) -> tuple[nn.Module, pd.DataFrame]:
    """Plain cross-entropy on the decoy training images."""
    return _train("vanilla", sets, decoy, runtime)


def train_rrr(sets: DecoySets, decoy: dict[str, Any],
              runtime: dict[str, Any]) -> tuple[nn.Module, pd.DataFrame]:
    """Right for the right reasons with the ground-truth swatch masks."""
    return _train("rrr", sets, decoy, runtime)


def train_counterexamples(sets: DecoySets, decoy: dict[str, Any],
                          runtime: dict[str, Any]) -> tuple[nn.Module, pd.DataFrame]:
    """Each training image twice: as it is, and with another class's swatch shade."""
    return _train("counterexamples", sets, decoy, runtime)


def train_clean(sets: DecoySets, decoy: dict[str, Any],
                runtime: dict[str, Any]) -> tuple[nn.Module, pd.DataFrame]:
    """The same CNN on the clean training images (the ceiling)."""
    return _train("clean", sets, decoy, runtime)


def _refine(arm: str, vanilla: nn.Module, sets: DecoySets, decoy: dict[str, Any],
            mine: dict[str, Any], runtime: dict[str, Any],
            ) -> tuple[nn.Module, pd.DataFrame, list[dict[str, Any]]]:
    run = from_params(RuntimeConfig, runtime, "runtime")
    result, rounds = refine_mined(vanilla, sets, from_params(DecoyParams, decoy, "decoy"),
                                  from_params(MineParams, mine, "mine"), run.seed,
                                  resolve_device(run.device), arm)
    return result.model.cpu(), result.history, rounds


def refine_vanilla(vanilla: nn.Module, sets: DecoySets, decoy: dict[str, Any], mine: dict[str, Any],
                   runtime: dict[str, Any]) -> tuple[nn.Module, pd.DataFrame, list[dict[str, Any]]]:
    """Our arm: mine the vanilla model, transfer its masks, refine (no annotations)."""
    return _refine("mined", vanilla, sets, decoy, mine, runtime)


def refine_paper(vanilla: nn.Module, sets: DecoySets, decoy: dict[str, Any], mine: dict[str, Any],
                 runtime: dict[str, Any]) -> tuple[nn.Module, pd.DataFrame, list[dict[str, Any]]]:
    """The paper's arm: mine the vanilla model with ``mine`` (``params:arm_mine.paper``: the
    union of its LIME criteria, class masks), refine with ``decoy.paper``'s terms."""
    return _refine("paper", vanilla, sets, decoy, mine, runtime)


def evaluate_arms(sets: DecoySets, decoy: dict[str, Any], runtime: dict[str, Any],
                  **models: nn.Module) -> pd.DataFrame:
    """Per method and test image: right on the decoy image, the clean one, under PGD."""
    run = from_params(RuntimeConfig, runtime, "runtime")
    check = from_params(DecoyParams, decoy, "decoy").attack
    device = resolve_device(run.device)
    return pd.concat([model_outcomes(models[m], sets, check, device, run.seed).assign(method=m)
                      for m in METHODS], ignore_index=True)


def summarise_seed(**runs: Any) -> dict[str, Any]:
    """Per method (``runs``: ``<method>_history`` and ``<method>_timings``, the wall times the
    history's dataset keeps apart): final train accuracy, epochs, wall seconds, training curve;
    the arms refined from vanilla add their rounds (``<arm>_rounds``, and their mining time)."""
    out: dict[str, Any] = {}
    for method in METHODS:
        history, timings = runs[f"{method}_history"], runs[f"{method}_timings"]
        out[method] = {"train_acc": float(history["train_acc"].iloc[-1]), "epochs": len(history),
                       "seconds": float(sum(row.get("seconds") or 0.0 for row in timings)),
                       "curve": [float(v) for v in history["train_acc"]]}
    for arm in REFINED_ARMS:
        rounds = runs[f"{arm}_rounds"]
        out[arm]["seconds"] += sum(r["mining_seconds"] for r in rounds)
        out[arm]["rounds"] = rounds
    return out


def report_decoy(decoy: dict[str, Any], **tables: Any) -> tuple[str, dict[str, Any]]:
    """The report over seeds (``tables``: ``<seed>__outcomes`` and ``<seed>__summary``)."""
    seeds = sorted({k.split("__")[0] for k in tables}, key=lambda s: int(s.split("_")[-1]))
    return build_report([tables[f"{s}__outcomes"] for s in seeds],
                        [tables[f"{s}__summary"] for s in seeds],
                        [int(s.split("_")[-1]) for s in seeds], decoy)
