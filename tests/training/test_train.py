"""train_model: every method runs, standard training learns, AT and TRADES are robust, extra losses plug in."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from limeguard.attacks.pgd import PGD
from limeguard.training import HISTORY_COLUMNS, LossOutput, TrainConfig, train_model
from limeguard.training.config import AttackSettings
from tests.training.conftest import separable_data, shortcut_data, tiny_cnn

FAST = dict(batch_size=32, attack=AttackSettings(steps=2), val_steps=2, lr=0.05)


@pytest.mark.parametrize("method", ["standard", "pgd_at", "fgsm_rs", "trades"])
def test_each_method_runs_and_records_history(method: str, data) -> None:
    tx, ty, vx, vy = data
    cfg = TrainConfig(method=method, epochs=1, **FAST)
    result = train_model(tiny_cnn(), tx, ty, vx, vy, cfg, progress=False)
    h = result.history
    assert list(h.columns) == list(HISTORY_COLUMNS)
    assert h["epoch"].tolist() == [0]
    assert h[["train_loss", "train_acc", "val_clean_acc", "val_pgd_acc", "lr"]].notna().all().all()
    assert (h["val_pgd_acc"] <= h["val_clean_acc"] + 1e-9).all()
    assert result.stop_reason == "completed" and result.best_epoch == 0
    assert not result.model.training


@pytest.fixture(scope="module")
def shortcut_split() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    return (*shortcut_data(256, seed=1), *shortcut_data(128, seed=2))


def _clean_and_pgd_accuracy(method: str, split) -> tuple[float, float]:
    tx, ty, vx, vy = split
    cfg = TrainConfig(method=method, epochs=8, batch_size=32, lr=0.1,
                      attack=AttackSettings(eps_255=8, alpha_255=2, steps=5), val_steps=0,
                      co_guard=False, restore_best=False)
    model = train_model(tiny_cnn(), tx, ty, vx, vy, cfg, progress=False).model
    torch.manual_seed(0)
    x_adv = PGD(eps_255=8, alpha_255=2, steps=10)(model, vx, vy)
    with torch.no_grad():
        return ((model(vx).argmax(1) == vy).float().mean().item(),
                (model(x_adv).argmax(1) == vy).float().mean().item())


@pytest.fixture(scope="module")
def standard_accuracy(shortcut_split) -> tuple[float, float]:
    return _clean_and_pgd_accuracy("standard", shortcut_split)


@pytest.mark.parametrize("method", ["pgd_at", "trades"])
def test_adversarial_training_is_more_robust_than_standard(method: str, shortcut_split,
                                                           standard_accuracy) -> None:
    std_clean, std_pgd = standard_accuracy
    assert std_clean >= 0.75 and std_pgd <= 0.2  # it learned the pattern PGD erases
    clean, pgd = _clean_and_pgd_accuracy(method, shortcut_split)
    assert pgd >= 0.6 and pgd >= std_pgd + 0.4  # it learned the colour (shown in 60% + 10%)
    assert clean >= 0.6


def test_standard_training_learns_a_separable_task() -> None:
    tx, ty = separable_data(256, seed=1)
    vx, vy = separable_data(128, seed=2)
    cfg = TrainConfig(method="standard", epochs=4, batch_size=32, lr=0.1, val_steps=0)
    result = train_model(tiny_cnn(), tx, ty, vx, vy, cfg, progress=False)
    assert result.history["val_clean_acc"].max() >= 0.95
    with torch.no_grad():
        acc = (result.model(vx).argmax(1) == vy).float().mean().item()
    assert acc == pytest.approx(result.history["val_clean_acc"].iloc[result.best_epoch])
    assert result.history["val_pgd_acc"].isna().all()  # val_steps=0: PGD not measured


def test_extra_loss_gets_indices_and_is_added(data) -> None:
    tx, ty, vx, vy = data
    seen: list[torch.Tensor] = []

    def extra(model, x, y, index):
        seen.append(index.clone())
        assert torch.equal(x, tx[index]) and torch.equal(y, ty[index])
        return 0.5 * sum(p.pow(2).sum() for p in model.parameters())

    cfg = TrainConfig(method="fgsm_rs", epochs=1, **FAST)
    result = train_model(tiny_cnn(), tx, ty, vx, vy, cfg, extra_loss=extra, progress=False)
    assert torch.equal(torch.cat(seen).sort().values, torch.arange(len(tx)))  # each image once
    row = result.history.iloc[0]
    assert row["train_extra_loss"] > 0 and row["train_loss"] > row["train_extra_loss"]


def test_custom_batch_loss_replaces_the_method(data) -> None:
    tx, ty, vx, vy = data
    calls = []

    def label_smoothing(model, x, y, index):
        calls.append(len(y))
        logits = model(x)
        return LossOutput(F.cross_entropy(logits, y, label_smoothing=0.1), logits)

    cfg = TrainConfig(method="standard", epochs=1, **FAST)
    train_model(tiny_cnn(), tx, ty, vx, vy, cfg, batch_loss=label_smoothing, progress=False)
    assert calls == [32, 32, 32]


def test_bad_tensors_are_named(data) -> None:
    tx, ty, vx, vy = data
    cfg = TrainConfig(epochs=1, **FAST)
    with pytest.raises(ValueError, match="train_x"):
        train_model(tiny_cnn(), tx.double(), ty, vx, vy, cfg, progress=False)
    with pytest.raises(ValueError, match="val_x/val_y"):
        train_model(tiny_cnn(), tx, ty, vx, vy[:3], cfg, progress=False)
