import numpy as np
import pytest
import torch

from limeguard.config import ConfigError, from_params
from limeguard.corruptions import (
    CONSTANTS,
    CORRUPTIONS,
    CifarCConfig,
    corrupt,
    corrupt_uint8,
    generate_cifar10c,
    to_uint8_nhwc,
)
from limeguard.corruptions.functions import elastic_fields

DETERMINISTIC = {
    "defocus_blur",
    "zoom_blur",
    "brightness",
    "contrast",
    "pixelate",
    "jpeg_compression",
}

# With the CIFAR-10-C constants, the pixel distance to the original is not monotone in severity for
# these (make_cifar_c.py's constants order them by the damage they do to classifiers, not by
# distance); each gets a weaker property below.
NOT_MONOTONE = {"glass_blur", "motion_blur", "frost", "elastic_transform"}


@pytest.fixture(scope="module")
def distances(images):
    """{name: [mean |corrupted - clean| for severity 1..5]} on the textured images."""
    clean = images / 255.0
    return {
        name: [float(np.abs(corrupt(images, name, s, seed=0) - clean).mean()) for s in range(1, 6)]
        for name in CORRUPTIONS
    }


def test_constants_are_the_cifar_ones():
    assert tuple(CONSTANTS) == CORRUPTIONS and len(CORRUPTIONS) == 15
    assert all(len(v) == 5 for v in CONSTANTS.values())
    assert CONSTANTS["gaussian_noise"] == (0.04, 0.06, 0.08, 0.09, 0.10)  # ImageNet-C: .08 .. .38
    assert CONSTANTS["jpeg_compression"] == (80, 65, 58, 50, 40)  # ImageNet-C: 25 .. 7
    assert CONSTANTS["pixelate"] == (0.95, 0.9, 0.85, 0.75, 0.65)


@pytest.mark.parametrize("name", sorted(set(CORRUPTIONS) - NOT_MONOTONE))
def test_distance_grows_with_severity(distances, name):
    d = distances[name]
    assert all(b > a for a, b in zip(d, d[1:], strict=False)), d
    assert d[0] > 0


def test_weaker_severity_order_where_distance_is_not_monotone(distances):
    glass, motion, frost = distances["glass_blur"], distances["motion_blur"], distances["frost"]
    assert min(glass[3:]) > max(glass[:3])  # two shuffling passes (4, 5) vs one (1-3)
    assert (
        motion[0] < motion[1] < motion[2] < motion[4] and motion[3] > motion[1]
    )  # 3 ~ 4 (sigma 2)
    assert frost[0] < frost[1] < frost[2] and min(frost[3:]) > frost[0]
    assert min(distances["elastic_transform"]) > 0


def test_elastic_local_displacement_grows_while_affine_jitter_shrinks():
    rng = np.random.default_rng(0)
    local, jitter = [], []
    for c in CONSTANTS["elastic_transform"]:
        inv, dx, dy = elastic_fields(64, 32, 32, c, rng)
        local.append(float(np.hypot(dx, dy).mean()))
        jitter.append(float(np.abs(inv - [[1, 0, 0], [0, 1, 0]]).mean()))
    assert local[0] == 0 and all(b > a for a, b in zip(local, local[1:], strict=False)), local
    assert all(b < a for a, b in zip(jitter, jitter[1:], strict=False)), jitter


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_output_convention_and_determinism(images, name):
    out = corrupt(images, name, 3, seed=1)
    assert out.shape == images.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    assert np.allclose(out * 255, np.rint(out * 255), atol=1e-3)  # 8-bit levels, as CIFAR-10-C
    assert np.array_equal(out, corrupt(images, name, 3, seed=1))
    assert np.array_equal(out, corrupt(images.astype(np.float32) / 255, name, 3, seed=1))
    other_seed = corrupt(images, name, 3, seed=2)
    assert np.array_equal(out, other_seed) == (name in DETERMINISTIC)


def test_torch_input_gives_torch_output(images):
    x = torch.from_numpy(images).float() / 255
    out = corrupt(x, "fog", 2, seed=0)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == x.shape
    assert np.array_equal(out.numpy(), corrupt(images, "fog", 2, seed=0))


def test_input_is_not_mutated(images):
    before = images.copy()
    corrupt(images, "glass_blur", 5, seed=0)
    assert np.array_equal(images, before)


def test_bad_arguments_are_named(images):
    with pytest.raises(ConfigError, match="'speckle'.*gaussian_noise"):
        corrupt(images, "speckle", 1)
    with pytest.raises(ConfigError, match="severity.*6"):
        corrupt(images, "fog", 6)
    with pytest.raises(ValueError, match=r"\(N, 3, 32, 32\)"):
        corrupt(images.transpose(0, 2, 3, 1), "fog", 1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        corrupt(images.astype(np.float32), "fog", 1)


def test_generate_layout_and_chunk_streams(images):
    out = generate_cifar10c(
        images,
        severities=(1, 4),
        corruptions=("shot_noise", "snow"),
        seed=3,
        progress=False,
        chunk_size=5,
    )
    assert set(out) == {"shot_noise", "snow"}
    x = to_uint8_nhwc(images)
    for name, arr in out.items():
        assert arr.shape == (2 * len(images), 32, 32, 3) and arr.dtype == np.uint8
        assert np.array_equal(arr[: len(images)], corrupt_uint8(x, name, 1, 3, chunk_size=5))
        assert np.array_equal(arr[len(images) :], corrupt_uint8(x, name, 4, 3, chunk_size=5))
    # chunk k has its own stream: the first chunk does not depend on the images after it
    assert np.array_equal(corrupt_uint8(x[:5], "snow", 4, 3, chunk_size=5), out["snow"][12:17])


def test_config_from_params():
    cfg = from_params(
        CifarCConfig, {"corruptions": ["fog"], "severities": [1, 5], "seed": 2}, "cifar10c"
    )
    assert cfg.corruptions == ("fog",) and cfg.severities == (1, 5)
    with pytest.raises(ConfigError, match="severities"):
        from_params(CifarCConfig, {"severities": [0]}, "cifar10c")
    with pytest.raises(ConfigError, match="corruptions.*'fogg'"):
        from_params(CifarCConfig, {"corruptions": ["fogg"]}, "cifar10c")
