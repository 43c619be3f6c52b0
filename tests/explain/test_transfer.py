"""Mask transfer: a cue that moves (a corner drawn per image) is found and masked on training
images mining never probed; class-aggregate masks miss it."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from limeguard.config import ConfigError, from_params
from limeguard.explain.config import MineParams, TransferConfig
from limeguard.explain.groundtruth import mask_recovery
from limeguard.explain.mining import mine_spurious
from limeguard.explain.transfer import dilated, refinement_masks
from limeguard.images.imageset import ImageSet, joined
from limeguard.refinement import RefineConfig, mined_masks
from limeguard.refinement.rounds import training_masks
from limeguard.safetensors_io import META_KEY
from tests.explain.planted import CLASSES, make_images, train_model

CPU = torch.device("cpu")
PARAMS = from_params(MineParams, {"mining": {"lime": {"num_samples": 100}}}, "mine")


def _image_set(n: int, seed: int, first_id: int, placement: str | None):
    images, labels, cue = make_images(n, seed=seed, placement=placement, cued_share=0.9)
    ids = torch.arange(n) + first_id
    return ImageSet(images, labels, ids, tuple(map(str, range(CLASSES)))), cue


def relied_on(model, images: ImageSet, cue: torch.Tensor) -> torch.Tensor:
    """(N, H, W) the cue pixels of the classes whose cue the model relies on: greying it out
    lowers log p(label) by over 1 nat (median). Mining can only find those (METHOD.md)."""
    with torch.no_grad():
        grey = torch.where(cue[:, None], torch.full_like(images.images, 0.5), images.images)
        drop = (torch.log_softmax(model(images.images), 1) - torch.log_softmax(model(grey), 1)
                ).gather(1, images.labels[:, None])[:, 0]
    cued = cue.flatten(1).any(1)
    relied = [c for c in range(CLASSES) if bool((cued & (images.labels == c)).any())
              and float(drop[cued & (images.labels == c)].median()) > 1.0]
    return cue & torch.isin(images.labels, torch.tensor(relied))[:, None, None]


@pytest.fixture(scope="module")
def corner_model():
    torch.set_num_threads(1)
    images, labels, _ = make_images(1024, seed=0, placement="corners")
    return train_model(images, labels)


def _mine(model, placement: str | None) -> tuple[ImageSet, ImageSet, torch.Tensor, dict]:
    """A training split of 384 (64 probe images, 320 others), the others' cue, and mining's masks
    of the probe images."""
    probe, _ = _image_set(64, 1, 0, placement)
    others, cue = _image_set(320, 2, 1000, placement)
    result = mine_spurious(model, probe.images, probe.labels, probe.ids.tolist(), PARAMS.mining,
                           CPU, num_classes=CLASSES)
    seg = result.segmentation
    masks = mined_masks(result, probe.ids, probe.labels, seg.segments, seg.n_segments)
    masks[META_KEY] = {"thresholds": result.thresholds}
    return probe, others, cue, masks


@pytest.fixture(scope="module")
def corners_mined(corner_model):
    return _mine(corner_model, "corners")


def _applied(model, mined: tuple, mode: str) -> tuple[dict, torch.Tensor]:
    """The recovery of the masks the 320 unprobed images get (against the cues the model relies
    on), and those masks."""
    probe, others, cue, masks = mined
    train = joined(probe, others)
    params = dataclasses.replace(PARAMS, transfer=TransferConfig(mode=mode))
    masks = refinement_masks(model, masks, train, params, CPU)
    applied = training_masks(train, masks, RefineConfig(), None)[0][len(probe):, 0]
    relied = relied_on(model, others, cue)
    assert int(relied.flatten(1).any(1).sum()) >= 0.6 * int(cue.flatten(1).any(1).sum())
    return mask_recovery(applied, relied), applied


def test_a_moving_cue_is_masked_on_unprobed_images(corner_model, corners_mined) -> None:
    searched, _ = _applied(corner_model, corners_mined, "search")
    assert searched["precision"] >= 0.5 and searched["recall"] >= 0.9, searched
    assert searched["images_masked_uncued"] <= 0.15  # images without a cue the model uses
    by_class, _ = _applied(corner_model, corners_mined, "class")
    assert by_class["recall"] < 0.3, by_class  # class aggregates cannot carry a moving cue


def test_images_without_the_cue_get_almost_no_mask(corner_model) -> None:
    _, applied = _applied(corner_model, _mine(corner_model, None), "search")
    assert float(applied.mean()) < 0.005


def test_transfer_settings_are_checked_at_parse() -> None:
    with pytest.raises(ConfigError, match="mine.transfer.mode"):
        from_params(MineParams, {"transfer": {"mode": "nearest"}}, "mine")
    with pytest.raises(ConfigError, match="mine.transfer.recipients"):
        from_params(MineParams, {"transfer": {"recipients": 0}}, "mine")


def test_dilation_grows_a_region_by_its_pixels() -> None:
    masks = torch.zeros((1, 8, 8), dtype=torch.bool)
    masks[0, 3, 3] = True
    assert int(dilated(masks, 1).sum()) == 9 and torch.equal(dilated(masks, 0), masks)
