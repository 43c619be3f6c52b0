"""Figure: image | superpixel boundaries | LIME weights | spurious set, one row per image; the
planted cue outlined when it is known (the planted-cue variant)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from limeguard.explain.mining import MiningResult

MIN_DISPLAY_PX = 128  # shortest side of every panel: small images are upscaled to at least this


def weight_map(weights: torch.Tensor, segments: torch.Tensor) -> np.ndarray:
    """(H, W) float map of one image's (F,) superpixel weights over its (H, W) segments."""
    return weights[segments].numpy()


def display_scale(height: int, width: int, min_side: int = MIN_DISPLAY_PX) -> int:
    """The integer factor that brings the shorter side to at least ``min_side`` px (>= 1)."""
    return max(1, -(-min_side // min(height, width)))


def upscaled(array: np.ndarray, factor: int) -> np.ndarray:
    """``array`` (H, W, ...) repeated ``factor`` times along H and W (nearest neighbour)."""
    return array.repeat(factor, axis=0).repeat(factor, axis=1)


def boundaries(img: np.ndarray, segments: np.ndarray, factor: int) -> np.ndarray:
    """(H*f, W*f, 3) ``img`` upscaled by ``factor`` with the superpixel boundaries in yellow,
    1 px wide at that resolution: the pixels whose right or lower neighbour is another segment."""
    seg = upscaled(segments, factor)
    edge = np.zeros(seg.shape, dtype=bool)
    edge[:, :-1] |= seg[:, 1:] != seg[:, :-1]
    edge[:-1, :] |= seg[1:, :] != seg[:-1, :]
    big = upscaled(img, factor).copy()
    big[edge] = (1.0, 1.0, 0.0)
    return big


def explanation_figure(images: torch.Tensor, result: MiningResult,
                       image_ids: Sequence[object] | None = None, max_images: int = 6,
                       cue: torch.Tensor | None = None):
    """A matplotlib Figure with 4 columns for a fixed set of probed images.

    The last column shows the spurious set (``result.pixel_masks``, as configured by
    ``criteria.spurious``), not the union of the criteria. Every panel is drawn on a copy upscaled
    by :func:`display_scale` (nearest neighbour), so that the superpixel boundaries stay thin at
    28 or 32 px as at 224.

    Args:
        images: (N, C, H, W) float in [0, 1], the images given to ``mine_spurious`` (same order).
        result: its MiningResult.
        image_ids: which images to show (default: the first ``max_images``).
        cue: optional (N, H, W) bool planted cue pixels (same order), outlined in green on the
            image and on the spurious set.
    """
    from matplotlib.figure import Figure

    all_ids = list(result.images["image_id"])
    rows = [all_ids.index(i) for i in image_ids] if image_ids is not None \
        else list(range(min(max_images, len(all_ids))))
    fig = Figure(figsize=(8, 2.1 * max(1, len(rows))), layout="constrained")
    axes = fig.subplots(max(1, len(rows)), 4, squeeze=False)
    titles = ("image" if cue is None else "image (cue outlined)", "superpixels",
              "LIME weight", "spurious set")
    k = display_scale(*images.shape[-2:])
    how = {"interpolation": "nearest" if k > 1 else "antialiased"}  # large: thin lines blend in
    for r, index in enumerate(rows):
        img = images[index].detach().cpu().permute(1, 2, 0).numpy().clip(0, 1)
        img = img.repeat(3, -1) if img.shape[-1] == 1 else img  # grayscale shown as gray RGB
        seg = result.segmentation.segments[index]
        wmap = weight_map(result.attributions.weights[index], seg)
        limit = float(np.abs(wmap).max()) or 1.0
        axes[r, 0].imshow(upscaled(img, k), **how)
        axes[r, 1].imshow(boundaries(img, seg.numpy(), k), **how)
        heat = axes[r, 2].imshow(upscaled(wmap, k), cmap="RdBu_r", vmin=-limit, vmax=limit,
                                 **how)
        fig.colorbar(heat, ax=axes[r, 2], fraction=0.046)
        axes[r, 3].imshow(upscaled(img, k), **how)
        axes[r, 3].imshow(upscaled(result.pixel_masks[index].float().numpy(), k), cmap="Reds",
                          alpha=0.5, vmin=0, vmax=1, **how)
        if cue is not None and bool(cue[index].any()):
            for ax in (axes[r, 0], axes[r, 3]):
                ax.contour(upscaled(cue[index].float().numpy(), k), levels=[0.5],
                           colors="lime", linewidths=1.2)
        share = 100 * float(result.pixel_masks[index].float().mean())
        axes[r, 3].set_xlabel(f"{share:.1f}% of pixels", fontsize=8)
        axes[r, 0].set_ylabel(f"{all_ids[index]} (y={int(result.images['label'].iloc[index])})")
    for c, title in enumerate(titles):
        axes[0, c].set_title(title)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    return fig
