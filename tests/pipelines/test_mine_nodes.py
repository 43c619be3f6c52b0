"""Nodes of the ``mine`` pipeline with dict params: fit checks, the cue overlay, recorded shares."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from limeguard.config import ConfigError
from limeguard.datasets.tensors import META_KEY
from limeguard.images.imageset import ImageSet
from limeguard.pipelines.mine.nodes import (
    attack_confined,
    mine_model,
    recover_cue,
    segment_mining_images,
)
from tests.explain.conftest import TinyCNN, smooth_images

MINE = {"figure_images": 2, "stability_images": 2, "stability_seeds": [0, 1],
        "mining": {"lime": {"num_samples": 60},
                   "criteria": {"copies": 2, "transplant": {"recipients": 2}}}}
RUNTIME = {"device": "cpu"}


def image_set(n: int = 8) -> ImageSet:
    return ImageSet(smooth_images(n, seed=7), torch.arange(n) % 4, torch.arange(100, 100 + n),
                    ("a", "b", "c", "d"))


def cue_record(images: ImageSet) -> dict:
    masks = torch.zeros((4, 32, 32), dtype=torch.uint8)
    for c in range(4):
        masks[c, 2 + 6 * c: 6 + 6 * c, 2:6] = 1
    return {"class_masks": masks, "train_cued_ids": images.ids[:6], META_KEY: {}}


@pytest.mark.parametrize(("criteria", "key"), [
    ({"center_frac": 0.01}, "center_frac"),
    ({"transplant": {"recipients": 6}}, "transplant.recipients"),
])
def test_segmentation_refuses_settings_that_do_not_fit(criteria: dict, key: str) -> None:
    params = {**MINE, "mining": {**MINE["mining"], "criteria": criteria}}
    with pytest.raises(ConfigError, match=key):
        segment_mining_images(image_set(), params)


def test_mine_model_records_shares_and_outlines_the_cue() -> None:
    images = image_set()
    segments = segment_mining_images(images, MINE)
    torch.manual_seed(0)
    cue = cue_record(images)
    table, masks, summary, figure, stability = mine_model(TinyCNN().eval(), images, segments,
                                                          MINE, RUNTIME, cue)
    assert masks["flagged_share"].shape == (8,)
    torch.testing.assert_close(masks["flagged_share"],
                               masks["pixel_masks"].flatten(1).float().mean(1))
    assert set(masks[META_KEY]["thresholds"]) == {"irrelevant", "sensitive", "unstable",
                                                  "transplant"}
    assert "degenerate_criteria" in stability and "note" in summary.columns
    assert {"transplant", "transplant_score", "transplant_null"} <= set(table.columns)
    assert figure.axes[0].get_title() == "image (cue outlined)"
    assert len(figure.axes[0].collections) == 1  # the first figure image carries a cue
    recovery = recover_cue(table, images, segments, cue)
    assert recovery["n_cued_images"] == 6 and recovery["n_uncued_images"] == 2
    assert {"flagged_share_cued", "flagged_share_uncued"} <= set(recovery["criteria"]["spurious"])


def test_mine_model_without_a_cue_draws_no_outline() -> None:
    images = image_set()
    segments = segment_mining_images(images, MINE)
    torch.manual_seed(0)
    *_, figure, _ = mine_model(TinyCNN().eval(), images, segments, MINE, RUNTIME)
    assert figure.axes[0].get_title() == "image" and not figure.axes[0].collections


def test_tuning_remines_exactly_as_the_mine_stage() -> None:
    """A tuning trial's re-mined masks are the mine stage's (one packing, not a copy)."""
    from limeguard.config import from_params
    from limeguard.explain.config import MineParams
    from limeguard.tuning import remine

    images = image_set()
    segments = segment_mining_images(images, MINE)
    model = TinyCNN().eval()
    torch.manual_seed(0)
    _, staged, *_ = mine_model(model, images, segments, MINE, RUNTIME)
    torch.manual_seed(0)
    mined = remine(model, images, segments, from_params(MineParams, MINE, "mine").mining,
                   torch.device("cpu"))
    assert set(mined) == set(staged) - {META_KEY}
    for key, value in mined.items():
        torch.testing.assert_close(value, staged[key], rtol=0, atol=0, msg=key)


def flag_table(images: ImageSet, segments: dict) -> pd.DataFrame:
    """An attribution table flagging superpixel 0 of every image as spurious, nothing else."""
    rows = [(int(i), s) for i, n in zip(images.ids, segments["n_segments"], strict=True)
            for s in range(int(n))]
    table = pd.DataFrame(rows, columns=["image_id", "segment_id"])
    for name in ("irrelevant", "sensitive", "unstable", "transplant"):
        table[name] = False
    table["spurious"] = table["segment_id"] == 0
    return table


def test_attack_confined_compares_every_criterion_and_the_planted_cue() -> None:
    images = image_set()
    segments = segment_mining_images(images, MINE)
    params = {**MINE, "confined": {"max_images": 7, "draws": 2, "steps": 2, "n_boot": 200}}
    out = attack_confined(TinyCNN().eval(), flag_table(images, segments), images, segments,
                          params, RUNTIME, cue_record(images))
    assert out["n_images"] == 7 and out["config"]["draws"] == 2
    assert list(out["criteria"]) == ["irrelevant", "sensitive", "unstable", "transplant",
                                     "spurious", "planted cue"]
    assert out["criteria"]["unstable"]["verdict"] == "not measured"
    spurious, cue = out["criteria"]["spurious"], out["criteria"]["planted cue"]
    assert spurious["n_images"] + spurious["n_unmatched"] == 7
    assert cue["n_images"] + cue["n_unmatched"] == 6 and cue["n_no_flags"] == 1  # 6 cued
    assert {"robust_accuracy_flagged", "robust_accuracy_random", "low", "high"} <= set(spurious)


def test_attack_confined_refuses_an_unknown_key() -> None:
    images = image_set()
    segments = segment_mining_images(images, MINE)
    with pytest.raises(ConfigError, match="mine.confined: unknown parameter .drawz."):
        attack_confined(TinyCNN().eval(), flag_table(images, segments), images, segments,
                        {**MINE, "confined": {"drawz": 2}}, RUNTIME)
