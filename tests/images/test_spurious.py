"""The planted cue: where and how often it is painted, and that a model trained on it uses it."""

from __future__ import annotations

import colorsys

import pytest
import torch

from limeguard.config import ConfigError, from_params
from limeguard.images.imageset import ImageSet, from_uint8_nhwc
from limeguard.images.spurious import (
    CueConfig,
    border_ring,
    cue_pixel_masks,
    cued_selection,
    make_cue,
    object_grid,
    plant_aligned,
    plant_swapped,
)
from limeguard.pipelines.data.nodes import plant_spurious_cue
from tests.conftest import MIRROR, MIRROR_SUMS, smooth_images


def image_set(per_class: int, seed: int = 0, k: int = 10, first_id: int = 0) -> ImageSet:
    labels = torch.arange(k).repeat_interleave(per_class)
    images = from_uint8_nhwc(smooth_images(len(labels), seed))
    return ImageSet(images, labels, torch.arange(len(labels)) + first_id, tuple(map(str, range(k))))


def test_cue_layout_is_class_specific_and_off_centre() -> None:
    cue = make_cue(10, 32, 32, CueConfig())
    masks = cue.masks(32, 32)
    assert masks.shape == (10, 32, 32) and (masks.flatten(1).sum(1) == 16).all()
    assert not (masks.sum(0) > 1).any(), "two classes' patches overlap"
    assert not masks[:, 8:24, 8:24].any(), "a patch lies on the centred object"
    assert len({tuple(c) for c in cue.colours.tolist()}) == 10
    assert len(border_ring(32, 32, 4, 1)) >= 10


def test_more_classes_than_positions_still_distinct_cues() -> None:
    cue = make_cue(100, 32, 32, CueConfig())
    keys = {(tuple(p), tuple(round(v, 4) for v in c))
            for p, c in zip(cue.positions.tolist(), cue.colours.tolist(), strict=True)}
    assert len(keys) == 100


@pytest.mark.parametrize("fraction", [0.0, 0.5, 0.95, 1.0])
def test_cue_planted_where_and_as_often_as_configured(fraction: float) -> None:
    images = image_set(per_class=20)
    cfg = CueConfig(fraction=fraction)
    cue = make_cue(10, 32, 32, cfg)
    chosen = cued_selection(images, cfg.fraction, cfg.seed)
    planted = plant_aligned(images, cue, chosen)
    changed = (planted.images != images.images).flatten(1).any(1)
    assert torch.equal(changed, chosen)
    assert torch.bincount(images.labels[chosen], minlength=10).tolist() == [round(fraction * 20)] * 10
    masks = cue.masks(32, 32)
    for i in chosen.nonzero().flatten().tolist():
        c = int(images.labels[i])
        inside = planted.images[i][:, masks[c]]
        assert torch.equal(inside, cue.colours[c][:, None].expand_as(inside))
        assert torch.equal(planted.images[i][:, ~masks[c]], images.images[i][:, ~masks[c]])
    assert planted.meta["spurious_cue"] == "aligned"


def test_swapped_shows_another_class_on_the_same_images() -> None:
    images = image_set(per_class=20)
    cfg = CueConfig()
    cue = make_cue(10, 32, 32, cfg)
    chosen = cued_selection(images, cfg.fraction, cfg.seed)
    swapped = plant_swapped(images, cue, chosen, seed=1)
    masks = cue.masks(32, 32)
    shown = torch.full((len(images),), -1)
    for c in range(10):
        has = (swapped.images[:, :, masks[c]] == cue.colours[c][None, :, None]).flatten(1).all(1)
        shown[has] = c
    assert torch.equal(shown >= 0, chosen)
    assert not (shown[chosen] == images.labels[chosen]).any()
    assert len(set(shown[chosen].tolist())) == 10


def test_node_probe_set_carries_the_cue_exactly_where_train_does() -> None:
    train = image_set(per_class=20)
    probe = train.subset(torch.arange(0, 200, 7))
    val, test = image_set(5, seed=1, first_id=1000), image_set(5, seed=2, first_id=2000)
    out = plant_spurious_cue(train, val, test, probe, {"enabled": True})
    train_p, val_p, test_p, probe_p, val_s, test_s, record, test_uncued = out
    position = {int(i): n for n, i in enumerate(train_p.ids)}
    rows = torch.tensor([position[int(i)] for i in probe_p.ids])
    assert torch.equal(probe_p.images, train_p.images[rows])
    truth = cue_pixel_masks(record, train.labels, train.ids, record["train_cued_ids"])
    painted = (train_p.images != train.images).any(1)
    assert painted.sum() > 0 and not (painted & ~truth).any()
    assert torch.equal(val_s.ids, val_p.ids) and torch.equal(test_s.labels, test_p.labels)
    assert set(record["test_cued_ids"].tolist()) <= set(test.ids.tolist())
    assert test_uncued is test and "spurious_cue" not in test_uncued.meta
    assert (test_p.images != test_uncued.images).flatten(1).any(1).sum() == len(record["test_cued_ids"])
    assert record["patterns"].shape == (10, 3, 4, 4)
    assert record["__meta__"]["placement"] == "border" and record["__meta__"]["content"] == "flat"


@pytest.mark.parametrize(("params", "key"), [
    ({"fraction": 1.5}, "data.spurious.fraction"),
    ({"patch_size": 0}, "data.spurious.patch_size"),
    ({"colour": "red"}, "'colour'"),
    ({"placement": "centre"}, "data.spurious.placement"),
    ({"content": "noise"}, "data.spurious.content"),
    ({"object_box": 0.0}, "data.spurious.object_box"),
    ({"content": "texture", "patch_size": 1}, "data.spurious.patch_size"),
])
def test_bad_cue_parameters_are_named(params: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        from_params(CueConfig, params, "data.spurious")


@pytest.mark.parametrize(("params", "key"), [
    ({"patch_size": 33}, "data.spurious.patch_size: 33 does not fit"),
    ({"patch_size": 31}, "data.spurious.margin: patch_size 31 with margin 1 does not fit"),
    ({"margin": 15}, "data.spurious.margin"),
    ({"placement": "object", "object_box": 0.1}, "data.spurious.object_box"),
    ({"placement": "object", "patch_size": 17}, "data.spurious.object_box"),
])
def test_layout_that_does_not_fit_is_refused_at_parse(params: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        from_params(CueConfig, params, "data.spurious")


def test_layout_that_does_not_fit_the_images_is_refused_naming_the_key() -> None:
    cfg = CueConfig(placement="object")  # fits 32x32; a centred 3x3 box of a 6x6 image holds no patch
    with pytest.raises(ConfigError, match=r"data\.spurious\.object_box: .* 6x6 image"):
        make_cue(10, 6, 6, cfg)
    with pytest.raises(ConfigError, match=r"data\.spurious\.patch_size: 4 does not fit a 3x32"):
        make_cue(10, 3, 32, CueConfig())


OLD_POSITIONS = [[1, 1], [1, 9], [1, 17], [1, 25], [9, 27], [17, 27], [27, 25], [27, 17], [27, 9],
                 [27, 1]]  # make_cue(10, 32, 32, CueConfig()) before placement / content existed


def old_paint(images: torch.Tensor, cue_class: torch.Tensor) -> torch.Tensor:
    """The planting of the default cue as it was before placement / content existed."""
    colours = torch.tensor([colorsys.hsv_to_rgb(c / 10, 1.0, 1.0) for c in range(10)],
                           dtype=torch.float32)
    pixels = images.clone()
    for i in (cue_class >= 0).nonzero().flatten().tolist():
        c = int(cue_class[i])
        mask = torch.zeros((32, 32), dtype=torch.bool)
        row, col = OLD_POSITIONS[c]
        mask[row: row + 4, col: col + 4] = True
        pixels[i] = torch.where(mask, colours[c][:, None, None], pixels[i])
    return pixels


def test_default_config_reproduces_the_old_planting_exactly() -> None:
    images = image_set(per_class=20)
    cfg = from_params(CueConfig, {"enabled": True}, "data.spurious")
    assert (cfg.placement, cfg.content) == ("border", "flat")
    cue = make_cue(10, 32, 32, cfg)
    assert cue.positions.tolist() == OLD_POSITIONS
    chosen = cued_selection(images, cfg.fraction, cfg.seed)
    aligned = plant_aligned(images, cue, chosen)
    assert torch.equal(aligned.images, old_paint(images.images, torch.where(chosen, images.labels, -1)))
    swapped = plant_swapped(images, cue, chosen, seed=1)
    shown = torch.full((len(images),), -1)
    for c, (row, col) in enumerate(OLD_POSITIONS):
        patch = swapped.images[:, :, row: row + 4, col: col + 4]
        shown[(patch == cue.colours[c][None, :, None, None]).flatten(1).all(1)] = c
    assert torch.equal(swapped.images, old_paint(images.images, shown))


def test_object_positions_lie_inside_the_centred_box_and_off_the_border() -> None:
    cfg = CueConfig(placement="object")
    cue = make_cue(10, 32, 32, cfg)
    masks = cue.masks(32, 32)
    inside = torch.zeros((32, 32), dtype=torch.bool)
    inside[8:24, 8:24] = True  # the centred box of side 16 = 0.5 x 32
    assert (masks.flatten(1).sum(1) == 16).all()
    assert not (masks & ~inside).any(), "a patch lies outside the centred box"
    ring = make_cue(10, 32, 32, CueConfig()).masks(32, 32).any(0)
    assert not (masks & ring).any(), "a patch lies on the border ring"
    assert len({tuple(p) for p in cue.positions.tolist()}) == 10
    assert not (masks.sum(0) > 1).any(), "two classes' patches overlap"
    assert len(object_grid(32, 32, 4, 0.5)) == 16


def test_object_positions_with_more_classes_than_slots_still_distinct_cues() -> None:
    cue = make_cue(100, 32, 32, CueConfig(placement="object"))
    assert cue.masks(32, 32)[:, 8:24, 8:24].flatten(1).sum(1).eq(16).all()
    keys = {(tuple(p), tuple(round(v, 4) for v in c))
            for p, c in zip(cue.positions.tolist(), cue.colours.tolist(), strict=True)}
    assert len(keys) == 100


def test_texture_patches_vary_inside_and_differ_between_classes() -> None:
    cue = make_cue(10, 32, 32, CueConfig(content="texture", placement="object"))
    patterns = cue.patterns
    assert patterns.shape == (10, 3, 4, 4) and patterns.min() >= 0 and patterns.max() <= 1
    spread = patterns.flatten(2).std(2)  # (classes, 3): variation inside each patch
    assert (spread > 0.1).all(), "a texture is (nearly) flat"
    distance = (patterns.flatten(1)[:, None] - patterns.flatten(1)[None]).abs().mean(2)
    assert (distance + torch.eye(10) > 0.1).all(), "two classes share a texture"
    again = make_cue(10, 32, 32, CueConfig(content="texture", placement="object"))
    assert torch.equal(again.patterns, patterns)
    other_seed = make_cue(10, 32, 32, CueConfig(content="texture", seed=1))
    assert not torch.equal(other_seed.patterns, patterns)


def test_texture_is_painted_pixel_for_pixel() -> None:
    images = image_set(per_class=5)
    cue = make_cue(10, 32, 32, CueConfig(content="texture", placement="object"))
    chosen = torch.ones(len(images), dtype=torch.bool)
    planted = plant_aligned(images, cue, chosen)
    masks = cue.masks(32, 32)
    for i, c in enumerate(images.labels.tolist()):
        row, col = cue.positions[c].tolist()
        assert torch.equal(planted.images[i, :, row: row + 4, col: col + 4], cue.patterns[c])
        assert torch.equal(planted.images[i][:, ~masks[c]], images.images[i][:, ~masks[c]])


def test_node_records_the_variant() -> None:
    train = image_set(per_class=10)
    probe = train.subset(torch.arange(0, 100, 9))
    val, test = image_set(5, seed=1, first_id=1000), image_set(5, seed=2, first_id=2000)
    params = {"enabled": True, "placement": "object", "content": "texture"}
    *_, record, uncued = plant_spurious_cue(train, val, test, probe, params)
    cue = make_cue(10, 32, 32, from_params(CueConfig, params, "data.spurious"))
    assert torch.equal(record["patterns"], cue.patterns)
    assert torch.equal(record["class_masks"].bool(), cue.masks(32, 32))
    assert {k: record["__meta__"][k] for k in ("placement", "content")} == {
        "placement": "object", "content": "texture"}
    assert torch.equal(uncued.images, test.images)


@pytest.mark.slow
@pytest.mark.skipif(not MIRROR.exists(), reason="the offline CIFAR-10 mirror is not beside the checkout")
def test_model_trained_on_the_variant_relies_on_the_cue() -> None:
    """Real CIFAR-10 (JPEG mirror) with the cue in 95% of the images: a small CNN trained for a few
    epochs is far more accurate on aligned than on swapped test images."""
    from limeguard.evaluation.predict import cue_outcomes, cue_reliance
    from limeguard.images.sources import SourceConfig, load_cifar
    from limeguard.images.splits import SplitConfig, make_splits
    from limeguard.models import build_model
    from limeguard.training import TrainConfig, train_model

    train_pool, test_pool = load_cifar(SourceConfig(
        order=("jpeg_mirror",), mirror_archive=str(MIRROR), mirror_checksums=str(MIRROR_SUMS)))
    splits = make_splits(train_pool, test_pool, SplitConfig(
        train_size=2000, val_size=100, test_size=500, probe_size=10))
    out = plant_spurious_cue(splits.train, splits.val, splits.test, splits.probe, {"enabled": True})
    train, val, test, test_swapped, test_uncued = out[0], out[1], out[2], out[5], out[7]
    torch.manual_seed(0)
    model = build_model("cnn_small")
    cfg = TrainConfig(method="standard", epochs=3, batch_size=64, lr=0.05, val_steps=0,
                      val_max_images=100)
    train_model(model, train.images, train.labels, val.images, val.labels, cfg, progress=False)
    result = cue_reliance(cue_outcomes(model, test, test_swapped, test_uncued, torch.device("cpu")))
    assert result["n_cued"] == 10 * round(0.95 * 50)
    assert result["aligned_accuracy"] > 0.6
    assert result["gap"] > 0.4, result


def test_corner_cue_moves_per_image_and_the_record_knows_where() -> None:
    images = image_set(per_class=20)
    cfg = CueConfig(placement="corners")
    cue = make_cue(10, 32, 32, cfg)
    chosen = cued_selection(images, cfg.fraction, cfg.seed)
    aligned = plant_aligned(images, cue, chosen)
    swapped = plant_swapped(images, cue, chosen, seed=1)
    record = plant_spurious_cue(images, images, images, images, {"enabled": True,
                                                                  "placement": "corners"})[6]
    truth = cue_pixel_masks(record, images.labels, images.ids, record["train_cued_ids"])
    painted = (aligned.images != images.images).any(1)
    assert torch.equal(painted & truth, painted) and (truth.flatten(1).sum(1)[chosen] == 16).all()
    corner = truth[chosen].flatten(1).float().argmax(1)
    assert len(set(corner.tolist())) == 4, "every cued image's patch in the same corner"
    same_class = images.labels[chosen] == 0
    assert len(set(corner[same_class].tolist())) > 1, "one class's patch does not move"
    assert torch.equal((swapped.images != images.images).any(1), painted), "swap moved the corner"
    assert record["class_masks"].flatten(1).sum(1).tolist() == [64] * 10


def test_corners_refuse_a_margin_that_makes_them_overlap() -> None:
    with pytest.raises(ConfigError, match="data.spurious.margin"):
        make_cue(10, 10, 10, CueConfig(placement="corners", margin=2, patch_size=4))
