import pytest
import torch

from limeguard.explain.config import (
    CriteriaConfig,
    LimeConfig,
    MiningConfig,
    SegmentationConfig,
    TransplantConfig,
)
from limeguard.explain.figures import explanation_figure
from limeguard.explain.mining import mine_spurious
from limeguard.explain.segmentation import segment_images
from limeguard.explain.stability import explanation_stability, topk_jaccard

CFG = MiningConfig(lime=LimeConfig(num_samples=120), criteria=CriteriaConfig(
    transplant=TransplantConfig(recipients=1, screen_recipients=1)))


def test_topk_jaccard_bounds():
    a = torch.tensor([[3.0, -2.0, 1.0, 0.0], [1.0, 2.0, 3.0, 4.0]])
    b = torch.tensor([[0.0, 1.0, -2.0, 3.0], [1.0, 2.0, 3.0, 4.0]])
    out = topk_jaccard(a, b, torch.tensor([4, 3]), k=2)
    # image 0: {0, 1} vs {3, 2} -> 0; image 1: only 3 valid segments, {2, 1} both -> 1
    assert out.tolist() == [0.0, 1.0]


def test_stability_identical_seeds_is_one(images, tiny_cnn, cpu):
    seg = segment_images(images, SegmentationConfig())
    labels = torch.tensor([0, 1, 2, 3])
    same = explanation_stability(tiny_cnn, images, labels, seg, [0, 1, 2, 3], CFG, cpu,
                                 seeds=(5, 5), k=5)
    assert same["topk_jaccard_mean"] == 1.0
    other = explanation_stability(tiny_cnn, images, labels, seg, [0, 1, 2, 3], CFG, cpu,
                                  seeds=(0, 1, 2), k=5)
    assert len(other["per_image"]) == 4 and other["seeds"] == [0, 1, 2]
    assert other["topk_jaccard_mean"] == pytest.approx(sum(other["per_image"]) / 4)
    assert 0.0 < other["topk_jaccard_mean"] < 1.0  # other LIME samples: the top 5 overlap, not all


def test_figure_has_four_columns(images, tiny_cnn, cpu):
    from matplotlib.figure import Figure

    result = mine_spurious(tiny_cnn, images, torch.tensor([0, 1, 2, 3]), ["a", "b", "c", "d"],
                           CFG, cpu)
    fig = explanation_figure(images, result, image_ids=["b", "d"])
    assert isinstance(fig, Figure)
    cue = torch.zeros((4, 32, 32), dtype=torch.bool)
    cue[1, 2:6, 2:6] = True
    outlined = explanation_figure(images, result, image_ids=["b", "d"], cue=cue)
    assert len(outlined.axes[0].collections) == 1  # the cue's contour on image "b"
    assert outlined.axes[0].get_title() == "image (cue outlined)"
    grid = fig.axes[0].get_subplotspec().get_gridspec()
    assert (grid.nrows, grid.ncols) == (2, 4)
