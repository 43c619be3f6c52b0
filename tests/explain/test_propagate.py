"""Propagation: a moving cue found on a few images of its class is masked on every image of the
class that carries it; content that is not tied to a class (a white square on every class, or no
cue at all) is not carried."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from limeguard.config import ConfigError, from_params
from limeguard.explain.config import MineParams
from limeguard.explain.groundtruth import mask_recovery
from limeguard.explain.propagate import PropagateConfig, propagate_masks
from tests.explain.planted import CLASSES, make_images

ALL = torch.arange(CLASSES)


def _found_on_some(cue: torch.Tensor, share: float, seed: int) -> torch.Tensor:
    """The search's masks as a partial find: on ``share`` of the cued images, the cue grown by 2
    pixels (a superpixel round it); on 10% of the others, an 8 x 8 region of background."""
    g = torch.Generator().manual_seed(seed)
    cued = cue.flatten(1).any(1)
    hit = cued & (torch.rand(len(cue), generator=g) < share)
    found = torch.zeros_like(cue)
    found[hit] = F.max_pool2d(cue[hit, None].float(), 5, 1, 2)[:, 0] > 0
    for i in ((~hit) & (torch.rand(len(cue), generator=g) < 0.1)).nonzero().flatten().tolist():
        r, c = torch.randint(0, 24, (2,), generator=g).tolist()
        found[i, r: r + 8, c: c + 8] = True
    return found


def _textured(images: torch.Tensor, labels: torch.Tensor, cue: torch.Tensor) -> torch.Tensor:
    """The images with each class's cue pixels replaced by a fixed per-class noise pattern."""
    g = torch.Generator().manual_seed(7)
    patterns = torch.rand((CLASSES, 3, 4, 4), generator=g)
    out = images.clone()
    for i in cue.flatten(1).any(1).nonzero().flatten().tolist():
        rows, cols = cue[i].nonzero(as_tuple=True)
        r, c = int(rows.min()), int(cols.min())
        out[i, :, r: r + 4, c: c + 4] = patterns[labels[i]]
    return out


@pytest.mark.parametrize("content", ["flat", "texture"])
def test_a_cue_found_on_some_images_is_masked_on_all(content: str) -> None:
    images, labels, cue = make_images(1500, seed=3, placement="corners")
    if content == "texture":
        images = _textured(images, labels, cue)
    found = _found_on_some(cue, share=0.1, seed=0)
    before = mask_recovery(found, cue)
    out = propagate_masks(images, labels, found, ALL, PropagateConfig())
    after = mask_recovery(out, cue)
    assert before["recall"] < 0.2 and after["recall"] >= 0.95, (before, after)
    added = out & ~found
    assert float((added & cue).sum()) >= 0.95 * float(added.sum())  # what it adds is the cue
    assert after["images_masked_uncued"] == before["images_masked_uncued"]


def test_content_common_to_every_class_is_not_carried() -> None:
    """A white 4 x 4 square at a random place on half the images of every class, found on some
    images of class 0, occurs as often elsewhere: nothing is added. Without any cue, neither."""
    images, labels, _ = make_images(1500, seed=4, placement=None)
    g = torch.Generator().manual_seed(1)
    square = torch.zeros(images.shape[0], *images.shape[2:], dtype=torch.bool)
    for i in (torch.rand(len(images), generator=g) < 0.5).nonzero().flatten().tolist():
        r, c = torch.randint(0, 28, (2,), generator=g).tolist()
        square[i, r: r + 4, c: c + 4] = True
    images = torch.where(square[:, None], torch.ones_like(images), images)
    found = _found_on_some(square & (labels == 0)[:, None, None], share=0.3, seed=2)
    out = propagate_masks(images, labels, found, ALL, PropagateConfig())
    assert torch.equal(out, found)
    plain, plain_labels, no_cue = make_images(1500, seed=5, placement=None)
    background = _found_on_some(no_cue, share=0.0, seed=3)
    assert torch.equal(propagate_masks(plain, plain_labels, background, ALL, PropagateConfig()),
                       background)


def test_off_it_returns_the_search_masks() -> None:
    images, labels, cue = make_images(300, seed=3, placement="corners")
    found = _found_on_some(cue, share=0.2, seed=0)
    off = PropagateConfig(enabled=False)
    assert torch.equal(propagate_masks(images, labels, found, ALL, off), found)


def test_propagation_settings_are_checked_at_parse() -> None:
    with pytest.raises(ConfigError, match="mine.transfer.propagate.window"):
        from_params(MineParams, {"transfer": {"propagate": {"window": 0}}}, "mine")
    with pytest.raises(ConfigError, match="mine.transfer.propagate.contrast"):
        from_params(MineParams, {"transfer": {"propagate": {"contrast": 0.5}}}, "mine")
