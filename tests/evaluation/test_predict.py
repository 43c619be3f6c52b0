"""cue_outcomes / cue_reliance: aligned, swapped and uncued accuracy of a model that reads only the planted cue."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from limeguard.evaluation.predict import cue_outcomes, cue_reliance
from limeguard.images.imageset import ImageSet, from_uint8_nhwc
from limeguard.images.spurious import Cue, CueConfig, cued_selection, make_cue, plant_aligned, plant_swapped
from tests.conftest import smooth_images

CPU = torch.device("cpu")


class CueReader(nn.Module):
    """Predicts the class whose cue is painted exactly at its position, else class 0."""

    def __init__(self, cue: Cue) -> None:
        super().__init__()
        self.cue = cue

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = self.cue.patch_size
        scores = []
        for c, (row, col) in enumerate(self.cue.positions.tolist()):
            patch = x[:, :, row: row + size, col: col + size]  # (N, 3, P, P)
            scores.append((patch == self.cue.patterns[c]).flatten(1).all(1).float())
        logits = torch.stack(scores, 1)  # (N, classes): 1 where the class's cue is present
        logits[:, 0] += 0.5
        return logits


@pytest.fixture(scope="module")
def planted() -> tuple[Cue, ImageSet, ImageSet, ImageSet]:
    labels = torch.arange(10).repeat_interleave(20)
    uncued = ImageSet(from_uint8_nhwc(smooth_images(200, 3)), labels, torch.arange(200),
                      tuple(map(str, range(10))))
    cfg = CueConfig(placement="object", content="texture")
    cue = make_cue(10, 32, 32, cfg)
    chosen = cued_selection(uncued, cfg.fraction, cfg.seed)
    return cue, plant_aligned(uncued, cue, chosen), plant_swapped(uncued, cue, chosen, 1), uncued


def test_uncued_accuracy_is_measured_on_the_images_without_any_cue(planted) -> None:
    cue, aligned, swapped, uncued = planted
    outcomes = cue_outcomes(CueReader(cue), aligned, swapped, uncued, CPU)
    assert outcomes["image_id"].tolist() == aligned.ids.tolist()
    assert outcomes["cued"].sum() == 190 and not outcomes.loc[outcomes["cued"], "swapped"].any()
    result = cue_reliance(outcomes)
    assert result["n_images"] == result["n_uncued"] == 200 and result["n_cued"] == 190
    assert result["uncued_accuracy"] == pytest.approx(0.1)  # class 0 everywhere: 20 of 200
    assert result["aligned_accuracy"] == pytest.approx(191 / 200)  # 190 cued + 1 uncued of class 0
    assert result["swapped_accuracy"] == pytest.approx(1 / 200)
    assert result["gap"] == pytest.approx(0.95)
    assert result["cued_aligned_accuracy"] == 1.0 and result["cued_swapped_accuracy"] == 0.0


def test_uncued_set_of_other_images_is_refused(planted) -> None:
    cue, aligned, swapped, uncued = planted
    other = uncued.subset(torch.arange(100))
    with pytest.raises(ValueError, match="aligned and uncued sets hold different images"):
        cue_outcomes(CueReader(cue), aligned, swapped, other, CPU)
