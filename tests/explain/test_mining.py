import pandas as pd
import pytest
import torch

from limeguard.config import ConfigError, from_params
from limeguard.explain.config import MiningConfig
from limeguard.explain.mining import mine_spurious
from tests.explain.conftest import CornerModel, smooth_images

# a handful of images: one recipient (and donor) of another class per transplant
PARAMS = {"lime": {"num_samples": 120}, "criteria": {
    "copies": 2, "irrelevant_quantile": 0.95,
    "transplant": {"recipients": 1, "screen_recipients": 1}}}


def _cfg(**criteria) -> MiningConfig:
    params = {**PARAMS, "criteria": {**PARAMS["criteria"], **criteria}}
    return from_params(MiningConfig, params, "mine")


@pytest.fixture(scope="module")
def corner_result():
    images = smooth_images(6, seed=1)
    labels = torch.tensor([0, 2, 0, 2, 0, 2])  # the classes the model gives weight to
    cfg = _cfg(weight_scale="image_max", spurious="union")
    result = mine_spurious(CornerModel(), images, labels, [f"im{i}" for i in range(6)], cfg,
                           torch.device("cpu"))
    return images, labels, result


def _corner_segments(result, patch=8):
    """Per image, the segment ids that overlap the top-left patch."""
    return [set(s[:patch, :patch].unique().tolist()) for s in result.segmentation.segments]


def test_corner_patch_dominates_and_is_irrelevant(corner_result):
    _, _, result = corner_result
    corners = _corner_segments(result)
    table = result.table
    for i, group in table.groupby("image_id", sort=True):
        index = int(str(i)[2:])
        top = group.loc[group["weight"].abs().idxmax()]
        assert int(top["segment_id"]) in corners[index]
        assert bool(top["irrelevant"]) and bool(top["spurious"])
    far = table[~table.apply(lambda r: r["segment_id"] in corners[int(r["image_id"][2:])], axis=1)]
    assert not far["irrelevant"].any()  # the model ignores them: small |weight|
    assert not far["sensitive"].any()  # and has zero gradient there


def test_output_shapes_and_dtypes(corner_result):
    images, labels, result = corner_result
    n, _, h, w = images.shape
    assert result.pixel_masks.shape == (n, h, w) and result.pixel_masks.dtype == torch.bool
    assert result.class_masks.shape == (4, h, w) and result.class_masks.dtype == torch.float32
    assert 0 <= float(result.class_masks.min()) and float(result.class_masks.max()) <= 1
    assert result.segmentation.segments.shape == (n, h, w)
    assert len(result.table) == int(result.segmentation.n_segments.sum())
    for col in ("image_id", "segment_id", "weight", "irrelevant_score", "sensitive_score",
                "unstable_score", "transplant_score", "transplant_screen", "transplant_effect",
                "transplant_null", "irrelevant", "sensitive", "unstable", "transplant",
                "spurious"):
        assert col in result.table.columns
    assert result.table["spurious"].dtype == bool
    assert set(result.summary["scope"]) == {"all", "class"} and len(result.summary) == 5
    assert list(result.images["image_id"]) == [f"im{i}" for i in range(6)]
    assert {"pixel_share_transplant", "pixel_share_spurious"} <= set(result.images.columns)
    assert "note" in result.summary.columns
    # the pixel masks are exactly the flagged superpixels
    for i, seg in enumerate(result.segmentation.segments):
        flagged = result.table[(result.table["image_id"] == f"im{i}") & result.table["spurious"]]
        expect = torch.isin(seg, torch.tensor(flagged["segment_id"].tolist(), dtype=torch.int64))
        assert torch.equal(result.pixel_masks[i], expect)


def test_class_masks_are_mean_of_pixel_masks(corner_result):
    _, labels, result = corner_result
    class0 = result.pixel_masks[labels == 0].float().mean(0)
    torch.testing.assert_close(result.class_masks[0], class0)


def test_intersection_and_threshold_options():
    images = smooth_images(4, seed=2)
    labels = torch.tensor([0, 1, 2, 3])
    cfg = from_params(MiningConfig, {**PARAMS, "class_mask_threshold": 0.5, "criteria": {
        **PARAMS["criteria"], "combine": ["irrelevant", "sensitive"],
        "spurious": "intersection"}}, "mine")
    result = mine_spurious(CornerModel(), images, labels, [0, 1, 2, 3], cfg, torch.device("cpu"))
    t = result.table
    assert (t["spurious"] == (t["irrelevant"] & t["sensitive"])).all()
    assert t["unstable_score"].notna().all()  # recorded even when not combined
    assert set(result.class_masks.unique().tolist()) <= {0.0, 1.0}


def test_unstable_scores_with_fgsm_copies():
    images = smooth_images(4, seed=3)
    torch.manual_seed(0)
    cfg = _cfg(perturbation="fgsm", eps_255=16)
    result = mine_spurious(CornerModel(), images, torch.tensor([0, 1, 2, 3]), [0, 1, 2, 3], cfg,
                           torch.device("cpu"))
    scores = result.table["unstable_score"]
    assert scores.notna().all() and (scores >= 0).all() and scores.max() > 0


def test_num_samples_below_segments_is_a_config_error():
    cfg = from_params(MiningConfig, {"lime": {"num_samples": 5}}, "mine")
    with pytest.raises(ConfigError, match="num_samples"):
        mine_spurious(CornerModel(), smooth_images(1), torch.tensor([0]), ["a"], cfg,
                      torch.device("cpu"))


def test_unknown_parameter_is_named():
    with pytest.raises(ConfigError, match="num_sample"):
        from_params(MiningConfig, {"lime": {"num_sample": 5}}, "mine")
    with pytest.raises(ConfigError, match="engine"):
        from_params(MiningConfig, {"engine": "fast"}, "mine")


def test_reused_segmentation_and_tables_are_parquet_ready(corner_result, tmp_path):
    images, labels, first = corner_result
    again = mine_spurious(CornerModel(), images, labels, [f"im{i}" for i in range(6)],
                          _cfg(weight_scale="image_max", spurious="union"),
                          torch.device("cpu"), segmentation=first.segmentation)
    pd.testing.assert_frame_equal(first.table, again.table)  # deterministic, same segments
    first.table.to_parquet(tmp_path / "t.parquet")
    first.summary.to_parquet(tmp_path / "s.parquet")
    first.images.to_parquet(tmp_path / "i.parquet")


def test_both_engines_mine_the_same_table():
    images = smooth_images(4, seed=4)
    labels = torch.tensor([0, 2, 1, 3])
    tables = []
    for engine in ("batched", "lime"):
        cfg = from_params(MiningConfig, {**PARAMS, "engine": engine}, "mine")
        tables.append(mine_spurious(CornerModel(), images, labels, ["w", "x", "y", "z"], cfg,
                                    torch.device("cpu")).table)
    pd.testing.assert_frame_equal(tables[0], tables[1], atol=1e-5, rtol=0)


def test_copies_reuse_the_lime_samples():
    """Noise-free copies with the same samples give exactly the same weights: zero variance."""
    result = mine_spurious(CornerModel(), smooth_images(4, seed=5), torch.tensor([0, 2, 1, 3]),
                           [0, 1, 2, 3], _cfg(noise_std_255=0.0), torch.device("cpu"))
    assert float(result.table["unstable_score"].abs().max()) < 1e-12
    assert not result.table["unstable"].any()
