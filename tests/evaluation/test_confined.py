"""The confined attack: PGD moves only masked pixels; matched random regions; and on a problem
with one known fragile region, the flagged-vs-random comparison finds it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from limeguard.attacks.pgd import PGD
from limeguard.config import ConfigError, from_params
from limeguard.evaluation.config import ConfinedConfig
from limeguard.evaluation.confined import (
    VERDICTS,
    confined_comparison,
    matched_random_masks,
    random_region,
)

SIZE, BLOCK = 12, 4  # 12x12 images cut into a 3x3 grid of 4x4 superpixels
CPU = torch.device("cpu")


def grid_segments(n: int) -> torch.Tensor:
    """(n, 12, 12) int64: nine 4x4 superpixels, ids 0..8 in raster order."""
    rows = torch.arange(SIZE) // BLOCK
    return (rows[:, None] * (SIZE // BLOCK) + rows[None, :]).expand(n, SIZE, SIZE).clone()


class RegionReader(nn.Module):
    """Two classes decided by the mean of the pixels in ``region`` (H, W) bool: class 0 when it is
    above 0.5. Only those pixels matter, so they are the fragile ones."""

    def __init__(self, region: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("weight", region.float() / region.sum())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        score = 100 * ((x.mean(1) * self.weight).flatten(1).sum(1) - 0.5)  # (N,)
        return torch.stack([score, -score], 1)


def problem(n: int = 40, near: float = 0.01, far: float = 0.06) -> tuple[torch.Tensor, torch.Tensor]:
    """Images whose every pixel sits ``near`` .. ``far`` from 0.5 on the side of its label: PGD
    at 8/255 (0.031) on the pixels a model reads flips the close ones and leaves the far ones."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 2
    margin = near + (far - near) * torch.rand(n, generator=g)
    sign = 1 - 2 * y.float()  # class 0 above 0.5
    x = 0.5 + (sign * margin)[:, None, None, None] * torch.ones(n, 3, SIZE, SIZE)
    return x, y


def cfg(**kw) -> ConfinedConfig:
    return from_params(ConfinedConfig, {"draws": 3, "steps": 5, "n_boot": 500, **kw}, "confined")


def test_the_confined_attack_moves_only_masked_pixels_within_eps(tiny_model, batch) -> None:
    x, y = batch
    g = torch.Generator().manual_seed(3)
    mask = torch.rand(len(x), 1, *x.shape[2:], generator=g) < 0.3
    before, mode = x.clone(), tiny_model.training
    torch.manual_seed(0)
    x_adv = PGD(8.0, 2.0, steps=5, restarts=2)(tiny_model, x, y, mask=mask)
    outside = ~mask.expand_as(x)
    assert torch.equal(x_adv[outside], x[outside])
    assert (x_adv - x).abs().max() <= 8 / 255 + 1e-6
    assert x_adv.min() >= 0 and x_adv.max() <= 1 and (x_adv != x).any()
    assert torch.equal(x, before) and tiny_model.training == mode


def test_random_regions_match_the_count_avoid_the_flags_and_follow_the_seed() -> None:
    segments = grid_segments(5)
    flagged = torch.zeros(5, SIZE, SIZE, dtype=torch.bool)
    flagged[:, :4, :4] = True          # superpixel 0
    flagged[1, 4:6, :4] = True         # image 1: half of superpixel 3 too (24 pixels)
    masks, matched = matched_random_masks(segments, flagged, draws=4, seed=7)
    assert matched.all()
    assert torch.equal(masks.flatten(2).sum(2), flagged.flatten(1).sum(1).expand(4, 5))
    assert not (masks & flagged).any()
    assert not masks[:, 1, 4:8, :4].any()  # superpixel 3 touches a flag: never drawn
    again, _ = matched_random_masks(segments, flagged, draws=4, seed=7)
    other, _ = matched_random_masks(segments, flagged, draws=4, seed=8)
    assert torch.equal(masks, again) and not torch.equal(masks, other)


def test_a_region_larger_than_the_unflagged_rest_is_unmatched() -> None:
    segments = grid_segments(1)[0]
    flagged = segments < 5  # 80 of 144 pixels
    assert random_region(segments, flagged, np.random.default_rng(0)) is None


def test_the_comparison_finds_the_known_fragile_region() -> None:
    x, y = problem()
    region = grid_segments(1)[0] == 0
    model = RegionReader(region).eval()
    flagged = region.expand(len(x), SIZE, SIZE)
    out = confined_comparison(model, x, y, grid_segments(len(x)), {"spurious": flagged}, cfg(),
                              CPU)
    c = out["criteria"]["spurious"]
    assert c["n_images"] == len(x) and out["clean_accuracy"] == 1.0
    assert c["robust_accuracy_random"] == 1.0  # the model never reads the random pixels
    assert c["robust_accuracy_flagged"] < 0.8
    assert c["low"] > 0 and c["verdict"] == VERDICTS[0]
    assert c["robust_accuracy_flagged"] > 0  # the far images survive: a graded answer


def test_no_difference_when_every_region_is_alike() -> None:
    x, y = problem(near=0.0005, far=0.006)  # a 16-pixel region moves the mean by up to 0.0034
    model = RegionReader(torch.ones(SIZE, SIZE, dtype=torch.bool)).eval()  # reads every pixel
    segments = grid_segments(len(x))
    arbitrary = segments == 4
    out = confined_comparison(model, x, y, segments, {"unstable": arbitrary}, cfg(), CPU)
    c = out["criteria"]["unstable"]
    assert c["low"] <= 0 <= c["high"] and c["verdict"] == VERDICTS[2]
    assert 0 < c["robust_accuracy_flagged"] < 1  # the attack breaks some images ...
    assert c["difference"] == pytest.approx(0.0, abs=0.05)  # ... as many in either region


def test_images_without_flags_are_left_out_and_counted() -> None:
    x, y = problem(6)
    segments = grid_segments(6)
    flagged = torch.zeros(6, SIZE, SIZE, dtype=torch.bool)
    flagged[:2, :4, :4] = True
    out = confined_comparison(RegionReader(segments[0] == 0), x, y, segments,
                              {"irrelevant": flagged, "sensitive": torch.zeros_like(flagged)},
                              cfg(max_images=5), CPU)
    assert out["n_images"] == 5
    assert (out["criteria"]["irrelevant"]["n_images"], out["criteria"]["irrelevant"]["n_no_flags"]) \
        == (2, 3)
    assert out["criteria"]["sensitive"] == {"n_images": 0, "n_no_flags": 5, "n_unmatched": 0,
                                            "verdict": VERDICTS[3]}


@pytest.mark.parametrize(("key", "value"), [("draws", 0), ("level", 1.0), ("eps_255", -1),
                                            ("max_images", 0), ("seed", -1)])
def test_invalid_settings_are_refused_naming_the_key(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"confined.{key}"):
        cfg(**{key: value})


def test_an_attack_that_breaks_nothing_says_so() -> None:
    x, y = problem(8)
    segments = grid_segments(8)
    out = confined_comparison(RegionReader(segments[0] == 0), x, y, segments,
                              {"spurious": segments == 0}, cfg(eps_255=0), CPU)
    assert out["criteria"]["spurious"]["verdict"] == VERDICTS[4]
