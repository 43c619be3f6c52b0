"""apply_mask: the formula, the fills, shapes and errors; the counterfactual fill and donors."""

from __future__ import annotations

import pytest
import torch

from limeguard.refinement import (
    apply_mask,
    counterfactual_donors,
    counterfactual_fill,
    fill_values,
    gaussian_blur,
)
from limeguard.refinement.neutral import counterfactual_images
from tests.refinement.conftest import images, random_masks


def test_formula_with_a_tensor_fill() -> None:
    x, _ = images(4, seed=1)
    m = torch.rand(4, 1, 12, 12)
    fill = torch.rand(4, 3, 12, 12)
    assert torch.allclose(apply_mask(x, m, fill), x * (1 - m) + fill * m)


@pytest.mark.parametrize("fill", ["blur", "mean", "zero"])
def test_masked_pixels_take_the_fill_and_the_rest_is_kept(fill: str) -> None:
    x, _ = images(4, seed=2)
    m = random_masks(4, seed=3)
    out = apply_mask(x, m, fill, blur_sigma=1.5)
    keep = (m == 0)[:, None].expand_as(x)
    assert torch.equal(out[keep], x[keep])
    expected = fill_values(x, fill, 1.5).expand_as(x)
    on = ~keep
    assert torch.allclose(out[on], expected[on])
    assert out.shape == x.shape and 0 <= out.min() and out.max() <= 1


def test_fills() -> None:
    x, _ = images(2, seed=4)
    assert torch.allclose(fill_values(x, "mean"), x.mean((2, 3), keepdim=True))
    assert float(fill_values(x, "zero")) == 0.0
    flat = torch.full((1, 3, 12, 12), 0.25)
    assert torch.allclose(gaussian_blur(flat, 2.0), flat)  # blur keeps constants
    blurred = gaussian_blur(x, 2.0)
    assert blurred.shape == x.shape and blurred.std() < x.std()


def test_soft_mask_interpolates_and_input_is_not_mutated() -> None:
    x, _ = images(2, seed=5)
    before = x.clone()
    out = apply_mask(x, torch.full((2, 12, 12), 0.5), "zero")
    assert torch.allclose(out, 0.5 * x) and torch.equal(x, before)


def test_shape_mismatch_names_both_shapes() -> None:
    x, _ = images(2, seed=6)
    with pytest.raises(ValueError, match=r"\(2, 8, 8\).*\(2, 3, 12, 12\)"):
        apply_mask(x, torch.zeros(2, 8, 8), "zero")
    with pytest.raises(ValueError, match=r"\(3, 12, 12\)"):
        apply_mask(x, torch.zeros(3, 12, 12), "zero")


def test_counterfactual_fill_swaps_the_union_of_both_regions() -> None:
    x, y = images(6, seed=7)
    m = torch.zeros(6, 1, 12, 12)
    m[0, :, :3, :3] = 1.0  # image 0's region
    m[1, :, 8:, 8:] = 1.0  # image 1's region
    donors = torch.tensor([1, 0, 3, 2, 5, 4])
    chosen = torch.tensor([True, False, True, True, True, True])
    out = counterfactual_fill(x, m, donors, chosen)
    union = (m[0] + m[1]).bool().expand(3, 12, 12)
    assert torch.equal(out[0][union], x[1][union])  # both regions come from the donor
    assert torch.equal(out[0][~union], x[0][~union])  # the rest is the image's own
    assert torch.equal(out[1], x[1])  # not chosen
    assert torch.equal(out[2:], x[2:])  # no region on either side: unchanged


def test_counterfactual_donors_are_a_permutation() -> None:
    torch.manual_seed(0)
    labels = torch.arange(10).repeat(20)
    donors = counterfactual_donors(labels)
    assert torch.equal(donors.sort().values, torch.arange(200))
    same = (labels[donors] == labels).float().mean()
    assert 0.0 < same < 0.3  # own class at about its base rate (0.1), not never, not always


def test_counterfactual_images_are_seeded_and_keep_labels() -> None:
    x, y = images(8, seed=8)
    m = random_masks(8, seed=9)
    a, b = counterfactual_images(x, y, m, seed=3), counterfactual_images(x, y, m, seed=3)
    assert torch.equal(a, b) and not torch.equal(a, x)
    assert torch.equal(counterfactual_images(x, y, torch.zeros(8, 12, 12)), x)
