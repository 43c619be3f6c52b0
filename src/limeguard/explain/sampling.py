"""LIME's neighbourhood: binary superpixel samples, cosine distances and kernel weights.

``sample_masks`` draws exactly what ``LimeImageExplainer.data_labels`` draws from the same
``numpy.random.RandomState``, so both engines see identical samples.
"""

from __future__ import annotations

import zlib

import numpy as np
import torch


def image_random_state(seed: int, image_id: object) -> np.random.RandomState:
    """The RandomState of one image's LIME samples, derived from (seed, image_id)."""
    key = zlib.crc32(str(image_id).encode())
    state = np.random.SeedSequence([int(seed) % 2**32, key]).generate_state(1)[0]
    return np.random.RandomState(int(state))


def sample_masks(n_features: int, num_samples: int,
                 random_state: np.random.RandomState) -> np.ndarray:
    """(num_samples, n_features) int64 in {0, 1}; the first row is all ones (as lime)."""
    data = random_state.randint(0, 2, num_samples * n_features).reshape((num_samples, n_features))
    data[0, :] = 1
    return data


def pad_masks(masks: list[np.ndarray], width: int) -> torch.Tensor:
    """Stack per-image samples into (B, num_samples, width) uint8, zero columns as padding."""
    out = torch.zeros((len(masks), masks[0].shape[0], width), dtype=torch.uint8)
    for i, m in enumerate(masks):
        out[i, :, : m.shape[1]] = torch.from_numpy(m.astype(np.uint8))
    return out


def cosine_distances(masks: torch.Tensor, n_features: torch.Tensor) -> torch.Tensor:
    """Cosine distance of each sample to the all-on sample, as sklearn's.

    Args:
        masks: (B, S, F) binary, zero-padded beyond ``n_features``.
        n_features: (B,) number of valid features per image.
    Returns:
        (B, S) float64 in [0, 1]; an all-off sample has distance 1 (sklearn's convention).
    """
    on = masks.to(torch.float64).sum(-1)  # (B, S)
    return (1.0 - torch.sqrt(on / n_features.to(torch.float64)[:, None])).clamp_(0.0, 2.0)


def kernel_weights(distances: torch.Tensor, kernel_width: float) -> torch.Tensor:
    """LIME's image kernel ``sqrt(exp(-d^2 / w^2))``."""
    return torch.sqrt(torch.exp(-(distances**2) / kernel_width**2))
