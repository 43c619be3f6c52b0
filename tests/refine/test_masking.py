"""apply_mask: the formula, the three fills, shapes and errors."""

from __future__ import annotations

import pytest
import torch

from limeguard.refine import apply_mask, fill_values, gaussian_blur
from tests.refine.conftest import images, random_masks


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
