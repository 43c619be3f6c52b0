"""evaluate_model: one row per image x attack x ε, consistent rows, reproducible."""

from __future__ import annotations

import copy

import pytest
import torch

from limeguard.evaluation import AttackSpec, EvalConfig, evaluate_model, summarize
from limeguard.evaluation.runner import COLUMNS
from tests.attacks.tiny import synthetic_images

CFG = EvalConfig(
    attacks=(
        AttackSpec("fgsm", sweep=True),
        AttackSpec("pgd", options={"steps": 5}, sweep=True),
        AttackSpec("autoattack_fast", options={"n_iter": 5, "n_target_classes": 2}),
        AttackSpec("square", options={"n_queries": 20}),
    ),
    eps_255=(4.0, 16.0),
    small_eps_linf=(0.01,),
    headline_eps_255=8.0,
    batch_size=8,
)


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    x, y = synthetic_images(20, seed=5)  # 3 batches, the last one partial
    y[:3] = (y[:3] + 1) % 10  # three images the model gets wrong
    return x, y, [f"im{i:02d}" for i in range(20)]


@pytest.fixture(scope="module")
def results(tiny_model, data):
    x, y, ids = data
    return evaluate_model(tiny_model, x, y, ids, CFG, progress=False)


def test_one_row_per_image_attack_and_eps(results):
    assert tuple(results.columns) == COLUMNS
    sweep = [2.55, 4.0, 8.0, 16.0]
    expected = (
        {("clean", 0.0)}
        | {(a, e) for a in ("fgsm", "pgd") for e in sweep}
        | {("autoattack_fast", 8.0), ("square", 8.0)}
    )
    assert set(map(tuple, results[["attack", "eps_255"]].drop_duplicates().values)) == expected
    assert results.groupby(["attack", "eps_255"]).size().eq(20).all()
    assert not results.duplicated(["image_id", "attack", "eps_255"]).any()
    assert results.loc[results["attack"] == "square", "blackbox"].all()
    assert not results.loc[results["attack"] != "square", "blackbox"].any()
    assert list(results["attack"].drop_duplicates()) == [
        "clean",
        "fgsm",
        "pgd",
        "autoattack_fast",
        "square",
    ]


def test_misclassified_images_are_not_attacked_and_stay_wrong(results):
    clean = results[results["attack"] == "clean"].set_index("image_id")
    wrong = clean.index[~clean["correct"]]
    assert {"im00", "im01", "im02"} <= set(wrong)
    attacked = results[results["attack"] != "clean"]
    skipped = attacked[attacked["image_id"].isin(wrong)]
    assert not skipped["attacked"].any() and not skipped["correct"].any()
    assert (skipped["pred"].to_numpy() == clean.loc[skipped["image_id"], "pred"].to_numpy()).all()
    assert attacked[~attacked["image_id"].isin(wrong)]["attacked"].all()


def test_correct_matches_pred_and_label(results):
    assert (results["correct"] == (results["pred"] == results["label"])).all()
    assert (results["eps_linf"] * 255 - results["eps_255"]).abs().max() < 1e-9


def test_reproducible_and_mode_restored(tiny_model, data, results):
    model = copy.deepcopy(tiny_model).train()
    x, y, ids = data
    torch.manual_seed(123)  # the global RNG state does not matter
    again = evaluate_model(model, x, y, ids, CFG, progress=False)
    assert model.training
    assert again.equals(results)


def test_batch_size_does_not_change_seedless_results(tiny_model, data, results):
    x, y, ids = data
    cfg = EvalConfig(
        attacks=(AttackSpec("fgsm", sweep=True),),
        eps_255=(4.0, 16.0),
        small_eps_linf=(0.01,),
        batch_size=20,
    )
    one_batch = evaluate_model(tiny_model, x, y, ids, cfg, progress=False)
    fgsm = results[results["attack"].isin(["clean", "fgsm"])].reset_index(drop=True)
    assert one_batch.equals(fgsm)


def test_length_mismatch_is_an_error(tiny_model, data):
    x, y, ids = data
    with pytest.raises(ValueError, match="differ in length"):
        evaluate_model(tiny_model, x, y[:5], ids, CFG, progress=False)
    with pytest.raises(ValueError, match="unique"):
        evaluate_model(tiny_model, x, y, ["a"] * len(x), CFG, progress=False)


def test_summary_of_a_real_run(results):
    summary = summarize(results)
    clean = summary[summary["attack"] == "clean"].iloc[0]
    assert clean["eps_255"] == 0 and clean["accuracy"] <= 17 / 20
    at8 = summary[summary["eps_255"] == 8.0].set_index("attack")["accuracy"]
    assert at8["worst_case"] <= at8.drop(["worst_case", "worst_case_whitebox"]).min()
    assert at8["worst_case_whitebox"] <= at8[["fgsm", "pgd", "autoattack_fast"]].min()
    assert (summary["accuracy"] <= clean["accuracy"]).all()


def test_an_attack_with_its_own_image_count_runs_on_the_first_images_only(tiny_model, data,
                                                                          results):
    import dataclasses

    from limeguard.evaluation.summary import common_images

    x, y, ids = data
    few = tuple(dataclasses.replace(s, max_images=11) if s.name != "autoattack_fast" else s
                for s in CFG.attacks)  # 11: cuts the second batch of 8
    partial = evaluate_model(tiny_model, x, y, ids, dataclasses.replace(CFG, attacks=few),
                             progress=False)
    counts = partial.groupby("attack")["image_id"].nunique()
    assert counts["autoattack_fast"] == counts["clean"] == 20
    assert counts["fgsm"] == counts["pgd"] == counts["square"] == 11
    assert set(partial.loc[partial["attack"] == "pgd", "image_id"]) == set(ids[:11])
    summary = summarize(partial).set_index(["attack", "eps_255"])
    assert summary.loc[("worst_case", 8.0), "n"] == 11  # only where every attack ran
    assert summary.loc[("autoattack_fast", 8.0), "n"] == 20
    full = results.set_index(["image_id", "attack", "eps_255"])["correct"]
    aa = partial[partial["attack"] == "autoattack_fast"].set_index(
        ["image_id", "attack", "eps_255"])["correct"]
    assert aa.equals(full.loc[aa.index])  # same batches and seeds: the same outcomes
    assert set(common_images(partial)["image_id"]) == set(ids[:11])


def test_an_image_count_below_one_is_refused():
    from limeguard.config import ConfigError

    with pytest.raises(ConfigError, match="max_images"):
        AttackSpec("pgd", max_images=0)
