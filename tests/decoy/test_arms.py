"""A tiny decoy run end to end: vanilla learns the swatch (right on the training images, wrong on
the decoy test images); RRR with the true swatch masks and counterexamples learn the object; the
paper's arm mines the vanilla model with ``rounds.arms.paper``'s criteria and fine-tunes it."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from kedro.config import OmegaConfigLoader

from limeguard.arms import parse_arms
from limeguard.config import from_params
from limeguard.decoy.arms import train_arm
from limeguard.decoy.config import DecoyParams, RobustnessCheck
from limeguard.decoy.data import decoy_sets
from limeguard.decoy.evaluate import model_outcomes
from limeguard.decoy.mined import refine_mined
from limeguard.decoy.report import build_report
from limeguard.explain.config import MineParams
from limeguard.training.checkpoint import run_directory
from tests.conftest import PROJECT_ROOT

# an 8x8 swatch: the CNN picks up the 4x4 one's shade code only after far more steps than a test
# affords (measured: none at 120 steps of the CPU default; docs/results/decoy_fmnist)
TINY = {"data": {"train_images": 300, "test_images": 300, "probe_images": 20, "patch_size": 8},
        "model": {"arch": "decoy_cnn", "options": {"in_channels": 1, "mean": [0.1],
                                                   "std": [0.3]}},
        "train": {"optimizer": "adam", "lr": 0.003, "weight_decay": 0.0, "schedule": "constant",
                  "batch_size": 16, "epochs": 6, "val_steps": 0, "restore_best": False,
                  "co_guard": False, "channels_last": False, "val_max_images": 20},
        "rrr_lambda": 100.0, "attack": {"images": 50, "steps": 3}}
# the paper's arm: its refine terms as conf/decoy_fmnist states them, a tiny fine-tuning
PAPER = {"rounds": 1, "accumulate_masks": False,
         "train": {**TINY["train"], "method": "fgsm_rs", "epochs": 2,
                   "attack": {"eps_255": 25.5, "fgsm_alpha_ratio": 1.25}},
         "refine": {"use_masking": True, "use_regularization": True, "penalty": "rrr",
                    "lambda_reg": 1.0, "use_augmentation": True, "augment": "fgsm_rs",
                    "fill": "mean"}}


def paper_mine() -> MineParams:
    """The paper arm's mining as the run gets it: conf/base's ``mine`` with ``rounds.arms.paper``'s
    overrides (what ``params:arm_mine.paper`` holds)."""
    params = OmegaConfigLoader(conf_source=str(PROJECT_ROOT / "conf"), base_env="base",
                               default_run_env="base", env="base")["parameters"]
    arms = {a.name: a for a in parse_arms(params["mine"], params["rounds"])}
    return from_params(MineParams, arms["paper"].mine, "rounds.arms.paper.mine")


@pytest.fixture(scope="module")
def tiny(pools, tmp_path_factory):
    params = from_params(DecoyParams, {**TINY, "paper": PAPER, "checkpoint_root": str(
        tmp_path_factory.mktemp("ckpt"))}, "decoy")
    sets = decoy_sets(*pools, params.data)
    cpu = torch.device("cpu")
    models = {arm: train_arm(arm, sets, params, 0, cpu) for arm in ("vanilla", "rrr",
                                                                     "counterexamples")}
    keys = []
    with pytest.MonkeyPatch.context() as patch:  # the paper arm's checkpoint keys, recorded
        patch.setattr("limeguard.decoy.mined.run_directory",
                      lambda *key: keys.append(key) or run_directory(*key))
        models["paper"], rounds = refine_mined(models["vanilla"].model, sets, params, paper_mine(),
                                               0, cpu, "paper")
    outcomes = {arm: model_outcomes(r.model, sets, params.attack, cpu, 0)
                for arm, r in models.items()}
    return models, outcomes, rounds, keys


def test_vanilla_relies_on_the_swatch(tiny) -> None:
    models, outcomes, *_ = tiny
    train_acc = float(models["vanilla"].history["train_acc"].iloc[-1])
    assert train_acc > 0.5  # above the object's 30%: the swatch pays on the training images
    assert outcomes["vanilla"]["decoy_correct"].mean() < train_acc - 0.3


def test_rrr_with_true_masks_and_counterexamples_do_better(tiny) -> None:
    _, outcomes, *_ = tiny
    vanilla = outcomes["vanilla"]["decoy_correct"].mean()
    assert outcomes["rrr"]["decoy_correct"].mean() > vanilla + 0.2
    assert outcomes["counterexamples"]["decoy_correct"].mean() > vanilla + 0.2


def test_outcomes_attack_only_the_first_images(tiny) -> None:
    _, outcomes, *_ = tiny
    robust = outcomes["vanilla"]["robust_correct"]
    assert robust.notna().sum() == 50 and robust.isna().sum() == 250


def test_the_paper_arm_fine_tunes_vanilla_on_its_union_masks(tiny) -> None:
    """Its own mining (the union of the paper's criteria flags a share of every probe image; class
    masks, no search), fine-tuned from the vanilla model."""
    models, outcomes, rounds, _ = tiny
    paper = models["paper"]
    assert len(paper.history) == PAPER["train"]["epochs"]
    assert paper.history["train_loss"].notna().all()
    vanilla = models["vanilla"].model.state_dict().values()
    assert not all(torch.equal(a, b) for a, b in zip(paper.model.state_dict().values(), vanilla,
                                                     strict=True))
    (only,) = rounds
    assert only["round"] == 1 and only["transfer"]["mode"] == "class"
    assert only["transfer"]["images"] == 0  # class masks: nothing searched
    for where in ("probe_masks", "training_masks"):
        assert 0.0 < only[where]["pixel_share"] < 1.0 and 0.0 <= only[where]["recall"] <= 1.0
    assert only["mining_seconds"] > 0
    assert len(outcomes["paper"]) == len(outcomes["vanilla"])


def test_the_paper_arm_checkpoints_under_its_own_name(tiny) -> None:
    """A refined arm's checkpoint key is ``(root, <arm>, round, seed, train set, settings)``: the
    paper's is its own, ours (``mined``) keeps the key its checkpoints were written under."""
    *_, keys = tiny
    (key,) = keys
    assert key[1:4] == ("paper", 0, 0) and set(key[5]) == {"train", "refine", "start", "masks"}
    with pytest.raises(ValueError, match="arm: 'vanilla' is not refined"):
        refine_mined(tiny[0]["vanilla"].model, None, DecoyParams(), paper_mine(), 0,
                     torch.device("cpu"), "vanilla")


def handmade() -> tuple[pd.DataFrame, dict, dict]:
    """Hand-made outcomes (10 images): vanilla 20%, rrr 80%, mined 70%, paper 50%; the refined
    arms' mask recovery (precision mined 1.0, paper 0.25); the report's parameters."""
    def table(method: str, right: int) -> pd.DataFrame:
        hits = [1.0] * right + [0.0] * (10 - right)
        return pd.DataFrame({"image_id": range(10), "decoy_correct": hits, "clean_correct": hits,
                             "robust_correct": hits, "method": method})
    outcomes = pd.concat([table("vanilla", 2), table("rrr", 8), table("mined", 7),
                          table("paper", 5), table("counterexamples", 5), table("clean", 9)])
    run = {"train_acc": 1.0, "epochs": 2, "seconds": 1.0, "curve": [0.5, 1.0]}
    summary = {m: dict(run) for m in ("vanilla", "rrr", "counterexamples", "clean")}
    for arm, precision in (("mined", 1.0), ("paper", 0.25)):
        summary[arm] = {**run, "rounds": [{"round": 1, "mining_seconds": 1.0, **{
            w: {"precision": precision, "recall": 0.5, "images_masked_cued": 1.0}
            for w in ("probe_masks", "training_masks")}}]}
    params = {"level": 0.95, "n_boot": 200, "protocol": "tiny",
              "attack": RobustnessCheck().__dict__}
    return outcomes, summary, params


def test_report_pairs_methods_and_scores_the_gap() -> None:
    """Hand-made outcomes: vanilla 20%, rrr 80%, mined 70% -> 5/6 of the gap closed."""
    outcomes, summary, params = handmade()
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
    assert "not run yet" not in text


def test_report_gives_the_paper_arm_a_row_pairs_a_gap_share_and_masks() -> None:
    outcomes, summary, params = handmade()
    text, metrics = build_report([outcomes, outcomes], [summary, summary], [0, 1], params)
    row = next(r for r in metrics["accuracy"] if r["method"] == "paper")
    assert row["decoy_correct_mean"] == pytest.approx(50.0)
    pairs = {(c["candidate"], c["reference"]): c for c in metrics["comparisons"]
             if c["measure"] == "decoy_correct"}
    for reference, diff in (("vanilla", 30.0), ("mined", -20.0), ("rrr", -30.0)):
        assert pairs["paper", reference]["diff"] == pytest.approx(diff)
    assert metrics["gap_closed"]["arm"] == "mined"  # issue 25's done-when: ours, under its key
    assert metrics["gap_closed_paper"]["pooled"] == pytest.approx(0.5)
    assert metrics["gap_closed_paper"]["per_seed"] == pytest.approx([0.5, 0.5])
    assert metrics["masks"]["paper"][0]["probe_masks_precision"] == pytest.approx(0.25)
    assert metrics["masks"]["mined"][0]["probe_masks_precision"] == pytest.approx(1.0)
    assert "| paper | 50.0 ± 0.0 |" in text and "| paper | mined | decoy_correct | -20.0 |" in text
    assert "- paper: pooled over seeds 0.50" in text and "| paper | 1 | 0.25 |" in text
