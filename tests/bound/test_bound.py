"""attribution_bound on linear models (where every quantity is known exactly) and its edges."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from limeguard.bound import (
    COLUMNS,
    BoundConfig,
    attribution_bound,
    minimal_distortion,
    pgd_breaks,
    split_dual_norms,
)
from limeguard.config import ConfigError, from_params

FAST = dict(n_samples=2, pgd_steps=3, attack_steps=5, bisection_iters=8, max_eps_255=64.0)


def linear(classes: int, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, classes))


def mid_images(n: int, seed: int) -> torch.Tensor:
    """(n, 3, 8, 8) in [0.4, 0.6]: the [0, 1] box never binds within 64/255."""
    return 0.4 + 0.2 * torch.rand(n, 3, 8, 8, generator=torch.Generator().manual_seed(seed))


def masks(n: int, seed: int) -> torch.Tensor:
    return (torch.rand(n, 8, 8, generator=torch.Generator().manual_seed(seed)) < 0.4).float()


@pytest.fixture(scope="module")
def two_class():
    model = linear(2)
    x = mid_images(12, seed=1)
    y = model(x).argmax(1)
    m = masks(12, seed=2)
    result = attribution_bound(model, x, y, m, BoundConfig(**FAST), progress=False)
    return model, x, y, m, result


def test_linear_lipschitz_constants_are_the_exact_dual_norms(two_class) -> None:
    model, x, y, m, result = two_class
    w = model[1].weight.detach()  # (2, 192)
    diff = (w[1] - w[0]).view(1, 3, 8, 8) * torch.where(y == 1, 1.0, -1.0).view(-1, 1, 1, 1)
    l_s = (diff.abs() * m[:, None]).flatten(1).sum(1)
    l_r = (diff.abs() * (1 - m[:, None])).flatten(1).sum(1)
    t = result.table
    assert torch.allclose(torch.tensor(t["L_S"].to_numpy()), l_s.double(), rtol=1e-4)
    assert torch.allclose(torch.tensor(t["L_R"].to_numpy()), l_r.double(), rtol=1e-4)
    margin = (model(x).gather(1, y[:, None]) - model(x).gather(1, 1 - y[:, None])).squeeze(1)
    assert torch.allclose(torch.tensor(t["margin"].to_numpy()), margin.double().detach(),
                          rtol=1e-4)  # fmt: skip
    assert torch.allclose(torch.tensor(t["bound"].to_numpy()), (margin / (l_s + l_r)).double(),
                          rtol=1e-4)  # fmt: skip


def test_bound_is_a_valid_lower_bound_for_a_linear_model(two_class) -> None:
    *_, result = two_class
    t = result.table
    tol = 64.0 / 2**8  # bisection precision in pixel units
    assert (t["bound_255"] <= t["eps_empirical_255"] + 1e-4).all()
    assert (t["eps_empirical_255"] - t["bound_255"] <= tol + 1e-4).all()  # and it is tight
    assert (t["bound_R_only"] >= t["bound"]).all()
    assert torch.allclose(torch.tensor(t["bound_255"].to_numpy()),
                          torch.tensor(t["bound"].to_numpy()) * 255)  # fmt: skip
    assert result.summary["bound_holds_share"] == 1.0


def test_table_and_summary_fields(two_class) -> None:
    *_, m, result = two_class
    assert list(result.table.columns) == list(COLUMNS)
    assert result.table["image_id"].tolist() == list(range(12))
    assert torch.allclose(torch.tensor(result.table["mask_share_S"].to_numpy()),
                          m.flatten(1).mean(1).double())  # fmt: skip
    s = result.summary
    for key in (
        "spearman_bound_vs_empirical",
        "pearson_bound_vs_empirical",
        "spearman_bound_R_only_vs_empirical",
        "mean_bound_255",
        "median_bound_255",
        "mean_eps_empirical_255",
        "median_attribution_share_S",
        "n_misclassified",
    ):
        assert key in s  # fmt: skip
    assert s["pearson_bound_vs_empirical"] > 0.95 and s["spearman_bound_vs_empirical"] > 0.9


def test_multiclass_linear_with_every_rival_stays_below_empirical() -> None:
    model = linear(4, seed=3)
    x = mid_images(10, seed=4)
    y = model(x).argmax(1)
    cfg = BoundConfig(**{**FAST, "classes_per_sample": 3})
    t = attribution_bound(model, x, y, masks(10, 5), cfg, progress=False).table
    assert (t["bound_255"] <= t["eps_empirical_255"] + 1e-4).all()


def test_bisection_finds_where_pgd_first_succeeds() -> None:
    model = linear(2, seed=6)
    x = mid_images(6, seed=7)
    y = model(x).argmax(1)
    w = model[1].weight.detach()
    exact = (model(x).detach() @ torch.tensor([1.0, -1.0])).abs() / (w[1] - w[0]).abs().sum()
    cfg = BoundConfig(**{**FAST, "bisection_iters": 10})
    eps, censored = minimal_distortion(model, x, y, cfg)
    assert not censored.any()
    assert (eps >= exact - 1e-6).all() and (eps <= exact + cfg.max_eps / 2**10 + 1e-6).all()
    assert pgd_breaks(model, x, y, eps, cfg.attack_steps, random_start=False).all()
    assert not pgd_breaks(model, x, y, exact * 0.99, cfg.attack_steps).any()


def test_misclassified_and_censored_images_are_flagged() -> None:
    model = linear(2, seed=8)
    x = mid_images(6, seed=9)
    y = model(x).argmax(1)
    y[:2] = 1 - y[:2]  # wrong labels: margin < 0
    cfg = BoundConfig(**{**FAST, "max_eps_255": 0.01})  # too small to break anything
    t = attribution_bound(model, x, y, masks(6, 10), cfg, image_ids=list("abcdef"),
                          progress=False).table  # fmt: skip
    assert t["misclassified"].tolist() == [True, True, False, False, False, False]
    wrong = t[t["misclassified"]]
    assert (wrong["bound"] == 0).all() and (wrong["eps_empirical"] == 0).all()
    assert (wrong["margin"] < 0).all() and not wrong["censored"].any()
    right = t[~t["misclassified"]]
    assert right["censored"].all()
    assert right["eps_empirical_255"].tolist() == pytest.approx([0.01] * 4)
    assert t["image_id"].tolist() == list("abcdef")


def test_given_attributions_give_the_share_on_s() -> None:
    model = linear(2)
    x = mid_images(4, seed=11)
    y = model(x).argmax(1)
    m = masks(4, seed=12)
    attr = torch.ones(4, 8, 8)
    attr[0] = m[0] * 3.0  # all attribution mass of image 0 on S
    t = attribution_bound(model, x, y, m, BoundConfig(**{**FAST, "bisection_iters": 1}),
                          attributions=attr, progress=False).table  # fmt: skip
    assert t["attribution_share_S"].iloc[0] == pytest.approx(1.0)
    assert t["attribution_share_S"].iloc[1:].tolist() == pytest.approx(
        m[1:].flatten(1).mean(1).tolist()
    )


def test_split_dual_norms_of_an_empty_mask_put_everything_in_r() -> None:
    model = linear(3)
    x = mid_images(3, seed=13)
    y = model(x).argmax(1)
    l_s, l_r, grad = split_dual_norms(model, x, y, torch.zeros(3, 1, 8, 8))
    assert (l_s == 0).all() and torch.allclose(l_r, grad.abs().flatten(1).sum(1))


def test_shape_errors_and_config_errors() -> None:
    model = linear(2)
    x = mid_images(4, seed=14)
    y = torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match=r"\(4, 6, 6\).*\(4, 3, 8, 8\)"):
        attribution_bound(model, x, y, torch.zeros(4, 6, 6), BoundConfig(), progress=False)
    with pytest.raises(ValueError, match="attributions"):
        attribution_bound(model, x, y, torch.zeros(4, 8, 8), BoundConfig(),
                          attributions=torch.ones(3, 8, 8), progress=False)  # fmt: skip
    for key, value in (("n_samples", -1), ("max_eps_255", 0), ("bisection_iters", 0),
                       ("eps_255", 300), ("pgd_points", "yes")):  # fmt: skip
        with pytest.raises(ConfigError, match=key):
            from_params(BoundConfig, {key: value}, "bound")


def test_runs_on_a_conv_net_and_restores_the_model() -> None:
    from tests.refinement.conftest import images, random_masks, tiny_net

    model = tiny_net().train()
    x, y = images(6, seed=15)
    cfg = BoundConfig(**{**FAST, "bisection_iters": 3, "batch_size": 4})
    result = attribution_bound(model, x, y, random_masks(6, seed=16), cfg, progress=False)
    t = result.table
    assert len(t) == 6 and model.training
    assert all(p.requires_grad for p in model.parameters())
    ok = t[~t["misclassified"]]
    assert (ok["L_S"] > 0).all() and (ok["L_R"] > 0).all() and (ok["bound"] > 0).all()
    assert t["attribution_share_S"].between(0, 1).all()
