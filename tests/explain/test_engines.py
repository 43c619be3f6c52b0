import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge

from limeguard.explain.attributions import NonFiniteOutputError
from limeguard.explain.config import LimeConfig, SegmentationConfig
from limeguard.explain.engines import explain
from limeguard.explain.ridge import weighted_ridge
from limeguard.explain.sampling import image_random_state, sample_masks
from limeguard.explain.segmentation import segment_images

CFG = LimeConfig(num_samples=150, chunk_size=97, images_per_batch=2, lime_batch_size=50)


def _samples(seg, seed=0):
    return [sample_masks(int(n), CFG.num_samples, image_random_state(seed, i))
            for i, n in enumerate(seg.n_segments)]


def test_engines_agree_on_identical_samples(images, tiny_cnn, cpu):
    seg = segment_images(images, SegmentationConfig())
    labels = torch.tensor([0, 1, 2, 3])
    masks = _samples(seg)
    ids = list(range(len(images)))
    ours = explain(tiny_cnn, images, labels, seg, masks, ids, CFG, "batched", cpu)
    ref = explain(tiny_cnn, images, labels, seg, masks, ids, CFG, "lime", cpu)
    assert ours.weights.abs().max() > 1e-4  # a non-trivial explanation
    torch.testing.assert_close(ours.weights, ref.weights, atol=1e-5, rtol=0)
    torch.testing.assert_close(ours.intercept, ref.intercept, atol=1e-5, rtol=0)
    torch.testing.assert_close(ours.score, ref.score, atol=1e-4, rtol=0)


def test_sampler_draws_what_lime_draws(images, tiny_cnn, cpu):
    """Unmodified lime with RandomState(s) uses exactly sample_masks(..., RandomState(s))."""
    from lime.lime_image import LimeImageExplainer

    from limeguard.explain.lime_engine import classifier_fn

    seg = segment_images(images[:1], SegmentationConfig())
    n = int(seg.n_segments[0])
    exp = LimeImageExplainer(kernel_width=0.25, random_state=np.random.RandomState(7))
    out = exp.explain_instance(images[0].permute(1, 2, 0).double().numpy(),
                               classifier_fn(tiny_cnn, cpu, False, 0), labels=(2,),
                               top_labels=None, num_samples=CFG.num_samples,
                               segmentation_fn=lambda _: seg.segments[0].numpy(), random_seed=0)
    masks = [sample_masks(n, CFG.num_samples, np.random.RandomState(7))]
    ours = explain(tiny_cnn, images[:1], torch.tensor([2]), seg, masks, [0], CFG, "batched", cpu)
    ref = np.zeros(n)
    for f, w in out.local_exp[2]:
        ref[f] = w
    np.testing.assert_allclose(ours.weights[0].numpy(), ref, atol=1e-5, rtol=0)


def test_weighted_ridge_matches_sklearn():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, (3, 80, 6)).astype(float)
    x[:, :, 5] = 0  # a padding column
    y, w = rng.random((3, 80)), rng.random((3, 80))
    coef, intercept, score = weighted_ridge(torch.from_numpy(x), torch.from_numpy(y),
                                            torch.from_numpy(w), alpha=1.0)
    for b in range(3):
        ref = Ridge(alpha=1.0).fit(x[b], y[b], sample_weight=w[b])
        np.testing.assert_allclose(coef[b].numpy(), ref.coef_, atol=1e-10)
        np.testing.assert_allclose(float(intercept[b]), ref.intercept_, atol=1e-10)
        np.testing.assert_allclose(float(score[b]), ref.score(x[b], y[b], sample_weight=w[b]),
                                   atol=1e-10)
    assert float(coef[:, 5].abs().max()) == 0.0


class NanOnImage(torch.nn.Module):
    """NaN logits for inputs whose mean is above 0.9 (only the bright image)."""

    def forward(self, x):
        mean = x.mean((1, 2, 3))
        logits = torch.stack([mean, -mean], 1)
        return torch.where(mean[:, None] > 0.9, float("nan"), logits)


@pytest.mark.parametrize("engine", ["batched", "lime"])
def test_non_finite_output_names_the_image(images, cpu, engine):
    batch = torch.cat([images[:1], torch.full((1, 3, 32, 32), 0.95)])
    seg = segment_images(batch, SegmentationConfig())
    with pytest.raises(NonFiniteOutputError, match="bright-one"):
        explain(NanOnImage(), batch, torch.tensor([0, 0]), seg, _samples(seg), ["ok", "bright-one"],
                CFG, engine, cpu)
