"""A tiny decoy run end to end: vanilla learns the swatch (right on the training images, wrong on
the decoy test images); RRR with the true swatch masks and counterexamples learn the object."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from limeguard.config import from_params
from limeguard.decoy.arms import train_arm
from limeguard.decoy.config import DecoyParams, RobustnessCheck
from limeguard.decoy.data import decoy_sets
from limeguard.decoy.evaluate import model_outcomes
from limeguard.decoy.report import build_report

# an 8x8 swatch: the CNN picks up the 4x4 one's shade code only after far more steps than a test
# affords (measured: none at 120 steps of the CPU default; docs/results/decoy_fmnist)
TINY = {"data": {"train_images": 300, "test_images": 300, "probe_images": 20, "patch_size": 8},
        "model": {"arch": "decoy_cnn", "options": {"in_channels": 1, "mean": [0.1],
                                                   "std": [0.3]}},
        "train": {"optimizer": "adam", "lr": 0.003, "weight_decay": 0.0, "schedule": "constant",
                  "batch_size": 16, "epochs": 6, "val_steps": 0, "restore_best": False,
                  "co_guard": False, "channels_last": False, "val_max_images": 20},
        "rrr_lambda": 100.0, "attack": {"images": 50, "steps": 3}}


@pytest.fixture(scope="module")
def tiny(pools, tmp_path_factory):
    params = from_params(DecoyParams, {**TINY, "checkpoint_root": str(
        tmp_path_factory.mktemp("ckpt"))}, "decoy")
    sets = decoy_sets(*pools, params.data)
    cpu = torch.device("cpu")
    models = {arm: train_arm(arm, sets, params, 0, cpu) for arm in ("vanilla", "rrr",
                                                                     "counterexamples")}
    outcomes = {arm: model_outcomes(r.model, sets, params.attack, cpu, 0)
                for arm, r in models.items()}
    return models, outcomes


def test_vanilla_relies_on_the_swatch(tiny) -> None:
    models, outcomes = tiny
    train_acc = float(models["vanilla"].history["train_acc"].iloc[-1])
    assert train_acc > 0.5  # above the object's 30%: the swatch pays on the training images
    assert outcomes["vanilla"]["decoy_correct"].mean() < train_acc - 0.3


def test_rrr_with_true_masks_and_counterexamples_do_better(tiny) -> None:
    _, outcomes = tiny
    vanilla = outcomes["vanilla"]["decoy_correct"].mean()
    assert outcomes["rrr"]["decoy_correct"].mean() > vanilla + 0.2
    assert outcomes["counterexamples"]["decoy_correct"].mean() > vanilla + 0.2


def test_outcomes_attack_only_the_first_images(tiny) -> None:
    _, outcomes = tiny
    robust = outcomes["vanilla"]["robust_correct"]
    assert robust.notna().sum() == 50 and robust.isna().sum() == 250


def test_report_pairs_methods_and_scores_the_gap() -> None:
    """Hand-made outcomes: vanilla 20%, rrr 80%, mined 68% -> 0.8 of the gap closed."""
    ids = range(10)
    def table(method: str, right: int) -> pd.DataFrame:
        hits = [1.0] * right + [0.0] * (10 - right)
        return pd.DataFrame({"image_id": ids, "decoy_correct": hits, "clean_correct": hits,
                             "robust_correct": hits, "method": method})
    outcomes = pd.concat([table("vanilla", 2), table("rrr", 8), table("mined", 7),
                          table("counterexamples", 5), table("clean", 9)])
    run = {"train_acc": 1.0, "epochs": 2, "seconds": 1.0, "curve": [0.5, 1.0]}
    summary = {m: dict(run) for m in ("vanilla", "rrr", "counterexamples", "clean")}
    summary["mined"] = {**run, "rounds": [{"mining_seconds": 1.0, **{
        w: {"precision": 1.0, "recall": 0.5, "images_masked_cued": 1.0}
        for w in ("probe_masks", "training_masks")}}]}
    params = {"level": 0.95, "n_boot": 200, "protocol": "tiny",
              "attack": RobustnessCheck().__dict__}
    text, metrics = build_report([outcomes, outcomes], [summary, summary], [0, 1], params)
    assert metrics["gap_closed"]["pooled"] == pytest.approx(5 / 6)
    assert metrics["gap_closed"]["met"] and metrics["gap_closed"]["gap_exists"]
    flat = [o.assign(decoy_correct=0.5) for o in (outcomes, outcomes)]
    _, none = build_report(flat, [summary, summary], [0, 1], params)
    assert not none["gap_closed"]["gap_exists"] and not none["gap_closed"]["met"]
    pair = next(c for c in metrics["comparisons"] if (c["candidate"], c["reference"],
                                                       c["measure"]) == ("rrr", "vanilla",
                                                                         "decoy_correct"))
    assert pair["diff"] == pytest.approx(60.0) and pair["low"] <= 60.0 <= pair["high"]
    assert "paper_lime" in text and "not run yet" in text
