"""Cue-neutral data: images whose flagged regions are swapped counterfactually with another class's.

Model selection and the guards of refinement rounds watch accuracy on such images, so that a round
that starts to unlearn a shortcut is not rolled back for losing the shortcut's free accuracy.
"""

from __future__ import annotations

import torch

from limeguard.refinement.masking import as_mask_batch, counterfactual_donors, counterfactual_fill


def counterfactual_images(images: torch.Tensor, labels: torch.Tensor, masks: torch.Tensor,
                          seed: int = 0) -> torch.Tensor:
    """Each image with a mask takes a random image's pixels on the union of both masks.

    Args:
        images: (N, C, H, W) float32 in [0, 1].
        labels: (N,) int64.
        masks: (N, H, W) or (N, 1, H, W) in [0, 1] (1 = flagged).
        seed: fixes the donors, so every model is selected on the same images.

    Returns:
        (N, C, H, W) float32 images; all unchanged when no mask is set.
    """
    m = as_mask_batch(masks, "masks")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        donors = counterfactual_donors(labels)
    return counterfactual_fill(images, m, donors, m.flatten(1).amax(1) > 0)
