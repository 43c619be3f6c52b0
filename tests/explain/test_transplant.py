"""The transplant test and the spurious set it forms, on a small synthetic planted-cue problem.

A SmallCNN trained for a few seconds on 32x32 images (a class-shaped object of a pale colour plus a
4x4 class-coloured patch in most images) relies on the patch; trained without patches it relies on
the shapes. The spurious set must recover the patch, on the border and inside the object region,
and flag (almost) nothing on the model trained without it.
"""

from __future__ import annotations

import pytest
import torch

from limeguard.config import ConfigError, from_params
from limeguard.explain.config import MiningConfig, TransplantConfig
from limeguard.explain.groundtruth import cue_recovery
from limeguard.explain.mining import mine_spurious
from limeguard.explain.transplant import partners
from tests.explain.planted import make_images, train_model

CPU = torch.device("cpu")
PROBE = 64
CFG = from_params(MiningConfig, {"lime": {"num_samples": 100}}, "mine")


def _mine(model: torch.nn.Module, placement: str):
    images, labels, cue = make_images(PROBE, seed=1, placement=placement, cued_share=0.9)
    ids = torch.arange(PROBE)
    result = mine_spurious(model, images, labels, ids.tolist(), CFG, CPU)
    return result, cue_recovery(result.table, result.segmentation.segments, ids, cue)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny convolutions run fastest on one thread (and do not fight a busy CI machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def cued_runs():
    runs = {}
    for placement in ("border", "object"):
        images, labels, _ = make_images(1024, seed=0, placement=placement)
        runs[placement] = _mine(train_model(images, labels), placement)
    return runs


@pytest.fixture(scope="module")
def uncued_run():
    images, labels, _ = make_images(1024, seed=0, placement=None)
    return _mine(train_model(images, labels), "border")


@pytest.mark.parametrize("placement", ["border", "object"])
def test_spurious_set_recovers_the_planted_cue(cued_runs, placement: str) -> None:
    result, recovery = cued_runs[placement]
    spurious = recovery["criteria"]["spurious"]
    assert spurious["precision"] >= 0.5 and spurious["recall"] >= 0.9
    assert spurious["flagged_share_uncued"] <= 0.5 * spurious["flagged_share_cued"]
    assert recovery["criteria"]["transplant"] == spurious  # the default spurious set
    # the paper's criteria are still scored and flagged, and find the cue far less precisely
    assert recovery["criteria"]["irrelevant"]["precision"] < 0.2
    assert result.table["unstable_score"].notna().all()


def test_calibrated_threshold_flags_less_without_the_cue(cued_runs, uncued_run) -> None:
    cued, _ = cued_runs["border"]
    uncued, _ = uncued_run
    cued_share = float(cued.pixel_masks.float().mean())
    uncued_share = float(uncued.pixel_masks.float().mean())
    assert uncued_share < 0.25 * cued_share
    assert cued.thresholds["transplant"] >= CFG.criteria.transplant.min_effect
    per_image = uncued.images["pixel_share_spurious"]
    assert len(per_image) == PROBE and per_image.between(0, 1).all()


def test_a_criterion_that_flags_nothing_is_noted(uncued_run) -> None:
    result, recovery = uncued_run
    if result.degenerate.get("transplant") != "nothing":
        pytest.skip("the uncued model got a flag on this platform")
    note = result.summary.loc[result.summary["scope"] == "all", "note"].item()
    assert "transplant flags nothing" in note and "spurious flags nothing" in note
    assert recovery["notes"]["spurious"] == "flags nothing"


def test_partners_are_other_classes_and_distinct() -> None:
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    cfg = TransplantConfig(recipients=3, screen_recipients=1)
    recipients, donors, donors2 = partners(labels, list(range(8)), cfg, seed=0)
    for i in range(8):
        for group in (recipients[i], donors[i], donors2[i]):
            assert (labels[group] != labels[i]).all()
        assert len(set(recipients[i].tolist())) == 3
        assert (recipients[i] != donors[i]).all() and (recipients[i] != donors2[i]).all()
        assert (donors[i] != donors2[i]).all()
    again = partners(labels, list(range(8)), cfg, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(again, (recipients, donors, donors2), strict=True))


@pytest.mark.parametrize(("params", "key"), [
    ({"recipients": 0}, "transplant.recipients"),
    ({"top_k": 0}, "transplant.top_k"),
    ({"screen_recipients": 9}, "transplant.screen_recipients"),
    ({"effect": "logit"}, "transplant.effect"),
    ({"effect": "prob", "min_effect": 1.5}, "transplant.min_effect"),
    ({"null_quantile": 1.5}, "transplant.null_quantile"),
])
def test_transplant_settings_are_checked_at_parse(params: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        from_params(MiningConfig, {"criteria": {"transplant": params}}, "mine")


def test_spurious_set_choice_is_checked_at_parse() -> None:
    with pytest.raises(ConfigError, match="criteria.spurious"):
        from_params(MiningConfig, {"criteria": {"spurious": "all"}}, "mine")
    with pytest.raises(ConfigError, match="criteria.combine"):
        from_params(MiningConfig, {"criteria": {"combine": ["shortcut"]}}, "mine")


@pytest.mark.parametrize("frac", [0.01, 0.99])
def test_a_region_prior_that_does_not_fit_the_image_is_refused(frac: float) -> None:
    cfg = from_params(MiningConfig, {"criteria": {"center_frac": frac}}, "mine")
    with pytest.raises(ConfigError, match="center_frac"):
        cfg.criteria.check_fits(32, 32)


def test_too_few_images_of_other_classes_names_recipients() -> None:
    with pytest.raises(ConfigError, match="transplant.recipients"):
        TransplantConfig(recipients=8).check_fits([0] * 5 + [1] * 5)
    TransplantConfig(recipients=3).check_fits([0] * 5 + [1] * 5)  # 5 others >= 3 + 2
