"""Feature masking: ``x_masked = x * (1 - m) + fill * m`` (blur, mean-colour, zero) and counterfactual fills."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from limeguard.refinement.config import FILLS


def as_mask_batch(masks: torch.Tensor, name: str = "masks") -> torch.Tensor:
    """Masks as float32 (N, 1, H, W) in [0, 1]; accepts (N, H, W) or (N, 1, H, W), bool or float.

    Raises:
        ValueError: another shape, or values outside [0, 1] / not finite (the message names
            ``name`` and the shape).
    """
    if not isinstance(masks, torch.Tensor) or masks.ndim not in (3, 4):
        shape = tuple(getattr(masks, "shape", ()))
        raise ValueError(f"{name}: expected (N, H, W) or (N, 1, H, W) masks, got shape {shape}")
    if masks.ndim == 4 and masks.shape[1] != 1:
        raise ValueError(
            f"{name}: expected one mask channel (N, 1, H, W), got shape {tuple(masks.shape)}"
        )
    out = masks.to(torch.float32)
    if out.ndim == 3:
        out = out[:, None]  # (N, 1, H, W)
    if out.numel() and not bool(((out >= 0) & (out <= 1)).all()):
        raise ValueError(f"{name}: values must lie in [0, 1] (and be finite)")
    return out


def check_mask_shape(
    images: torch.Tensor, masks: torch.Tensor, names: tuple[str, str] = ("images", "masks")
) -> None:
    """Raise ValueError naming both shapes unless ``masks`` (N, 1|-, H, W) fit ``images``
    (N, C, H, W): same N, same H and W."""
    n_ok = masks.shape[0] == images.shape[0]
    if (
        masks.ndim not in (3, 4)
        or images.ndim != 4
        or not n_ok
        or (tuple(masks.shape[-2:]) != tuple(images.shape[-2:]))
    ):
        raise ValueError(
            f"{names[1]} of shape {tuple(masks.shape)} do not match {names[0]} of shape "
            f"{tuple(images.shape)}: need (N, H, W) or (N, 1, H, W) masks for (N, C, H, W) images"
        )


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (N, C, H, W) images, reflect padding, kernel 2*ceil(3σ)+1."""
    radius = max(1, math.ceil(3 * sigma))
    radius = min(radius, x.shape[-1] - 1, x.shape[-2] - 1)  # reflect padding needs pad < size
    offsets = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()  # (K,)
    c = x.shape[1]
    out = F.pad(x, (radius, radius, 0, 0), mode="reflect")
    out = F.conv2d(out, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    out = F.pad(out, (0, 0, radius, radius), mode="reflect")
    return F.conv2d(out, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def fill_values(x: torch.Tensor, fill: str, blur_sigma: float = 2.0) -> torch.Tensor:
    """What masked pixels of ``x`` (N, C, H, W) in [0, 1] become: ``blur``, ``mean`` or ``zero``.

    Returns:
        (N, C, H, W) for ``blur``, (N, C, 1, 1) per-image channel means for ``mean``, a zero
        scalar tensor for ``zero``; all broadcast against ``x``.
    """
    if fill == "blur":
        return gaussian_blur(x, blur_sigma)
    if fill == "mean":
        return x.mean(dim=(2, 3), keepdim=True)
    if fill == "zero":
        return x.new_zeros(())
    raise ValueError(f"fill: unknown value {fill!r}; use one of {', '.join(FILLS)}")


def apply_mask(
    x: torch.Tensor,
    m: torch.Tensor,
    fill: torch.Tensor | float | str = "blur",
    blur_sigma: float = 2.0,
) -> torch.Tensor:
    """``x * (1 - m) + fill * m``.

    Args:
        x: (N, C, H, W) images in [0, 1].
        m: (N, H, W) or (N, 1, H, W) masks in [0, 1] (1 = replace the pixel).
        fill: a tensor broadcasting to ``x``, a number, or a fill name (see
            :func:`fill_values`).
        blur_sigma: σ in pixels of the ``blur`` fill when ``fill`` is a name.

    Returns:
        (N, C, H, W) masked images; ``x`` is not modified.

    Raises:
        ValueError: mask and image shapes that do not match (both are named).
    """
    check_mask_shape(x, m)
    if m.ndim == 3:
        m = m[:, None]
    m = m.to(x.dtype)
    if isinstance(fill, str):
        fill = fill_values(x, fill, blur_sigma)
    return x * (1 - m) + fill * m


def counterfactual_donors(labels: torch.Tensor) -> torch.Tensor:
    """(B,) int64: a random permutation of the batch, each image's donor.

    Every image gives its region exactly once, to an image of any class, so a donor's flagged
    region appears under each label at the class's base rate and carries no label information.
    (Donors of other classes only would make a shortcut evidence *against* its own class: measured
    on the planted cue, the swapped accuracy then rose above the aligned one.) Uses torch's global
    RNG (seeded per epoch by the training loop).
    """
    return torch.randperm(len(labels), device=labels.device)


def counterfactual_fill(x: torch.Tensor, m: torch.Tensor, donors: torch.Tensor,
                        chosen: torch.Tensor) -> torch.Tensor:
    """Each chosen image takes its donor's pixels on the union of both images' masks.

    The image's own flagged region shows the donor's content there, and the donor's flagged
    region (e.g. another class's shortcut) appears under this image's label.

    Args:
        x: (B, C, H, W) images in [0, 1].
        m: (B, 1, H, W) masks in [0, 1] of the batch's images.
        donors: (B,) int64 donor positions in the batch (see :func:`counterfactual_donors`).
        chosen: (B,) bool, the images to change (the others are returned as they are).

    Returns:
        (B, C, H, W) counterfactual images.
    """
    check_mask_shape(x, m)
    union = torch.maximum(m, m[donors]) * chosen.to(m.dtype)[:, None, None, None]  # (B, 1, H, W)
    return x * (1 - union) + x[donors] * union
