"""The reference engine: ``lime.lime_image.LimeImageExplainer`` on a torch model."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from limeguard.attacks.pgd import model_mode
from limeguard.explain.attributions import Attributions, check_finite, pack
from limeguard.explain.config import LimeConfig
from limeguard.explain.segmentation import Segmentation
from limeguard.runtime import progress


class FixedSamples(np.random.RandomState):
    """A RandomState whose ``randint`` of lime's sample size returns given samples.

    ``LimeImageExplainer.data_labels`` draws its binary samples with one
    ``random_state.randint(0, 2, num_samples * n_features)``; this hands it ``samples`` instead,
    so that lime runs on exactly the samples the batched engine gets.
    """

    def __init__(self, samples: np.ndarray) -> None:
        super().__init__(0)
        self.samples = np.asarray(samples, dtype=np.int64)

    def randint(self, low, high=None, size=None, dtype=int):
        if size == self.samples.size and (low, high) == (0, 2):
            return self.samples.ravel().copy()
        return super().randint(low, high, size, dtype)


def classifier_fn(model: nn.Module, device: torch.device, channels_last: bool,
                  image_id: object) -> Callable[[np.ndarray], np.ndarray]:
    """lime's classifier: float64 (n, H, W, C) -> float64 (n, classes) softmax probabilities."""

    def predict(batch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(batch).to(device=device, dtype=torch.float32).permute(0, 3, 1, 2)
        x = x.contiguous(memory_format=torch.channels_last if channels_last
                         else torch.contiguous_format)
        with torch.inference_mode():
            logits = model(x)
        check_finite(logits[None].flatten(1), [image_id])
        return torch.softmax(logits.float(), 1).double().cpu().numpy()

    return predict


def explain_one(model: nn.Module, image: torch.Tensor, label: int, segments: np.ndarray,
                samples: np.ndarray, image_id: object, cfg: LimeConfig,
                device: torch.device) -> tuple[np.ndarray, float, float]:
    """One (C, H, W) image through ``explain_instance``; returns (weights (F,), intercept, R^2)."""
    from lime.lime_image import LimeImageExplainer
    from sklearn.linear_model import Ridge

    explainer = LimeImageExplainer(kernel_width=cfg.kernel_width,
                                   random_state=FixedSamples(samples))
    exp = explainer.explain_instance(
        image.detach().cpu().permute(1, 2, 0).numpy().astype(np.float64),
        classifier_fn(model, device, cfg.channels_last, image_id),
        labels=(label,), top_labels=None, hide_color=None, num_features=100000,
        num_samples=samples.shape[0], batch_size=cfg.lime_batch_size,
        segmentation_fn=lambda _image: segments, random_seed=0,
        model_regressor=Ridge(alpha=cfg.ridge_alpha, fit_intercept=True))
    weights = np.zeros(samples.shape[1])
    for feature, weight in exp.local_exp[label]:
        weights[feature] = weight
    return weights, float(exp.intercept[label]), float(exp.score)


@contextmanager
def quiet_lime() -> Iterator[None]:
    """Silence lime's own per-image tqdm bar (ours covers the images); restored afterwards."""
    import lime.lime_image as lime_image

    original = lime_image.tqdm
    lime_image.tqdm = lambda iterable, *args, **kwargs: iterable
    try:
        yield
    finally:
        lime_image.tqdm = original


def explain_lime(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                 segmentation: Segmentation, masks: Sequence[np.ndarray],
                 image_ids: Sequence[object], cfg: LimeConfig, device: torch.device,
                 desc: str = "lime") -> Attributions:
    """Explain each image with the lime package, one ``explain_instance`` per image."""
    weights, intercepts, scores = [], [], []
    with model_mode(model, False), quiet_lime():
        for i in progress(range(len(images)), desc=desc, total=len(images)):
            w, b, r2 = explain_one(model, images[i], int(labels[i]),
                                   segmentation.segments[i].numpy(), masks[i], image_ids[i],
                                   cfg, device)
            weights.append(w)
            intercepts.append(b)
            scores.append(r2)
    return pack(weights, intercepts, scores, segmentation.n_segments)
