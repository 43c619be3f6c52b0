"""Catastrophic-overfitting guard and early stopping, driven by a scripted evaluator."""

from __future__ import annotations

import pytest
import torch

from limeguard.training import StandardLoss, TrainConfig, train_model
from tests.training.conftest import tiny_cnn

# The guards only read the evaluator's numbers: train cheaply (clean loss, 32 images, 2 batches).
CHEAP = {"batch_loss": StandardLoss(), "progress": False}


@pytest.fixture
def small(data):
    tx, ty, vx, vy = data
    return tx[:32], ty[:32], vx, vy


class ScriptedEvaluator:
    """Returns scripted PGD accuracies: one per validation call, one per probe call."""

    def __init__(self, val: list[float], probe: list[float] | None = None, probe_size: int = 8):
        self.val, self.probe, self.probe_size = list(val), list(probe or []), probe_size

    def __call__(self, model, x, y) -> tuple[float, float]:
        if len(x) == self.probe_size:
            return 0.9, self.probe.pop(0)
        return 0.9, self.val.pop(0)


def _snapshots():
    saved: dict[int, dict[str, torch.Tensor]] = {}

    def hook(epoch, model, row):
        saved[epoch] = {k: v.clone() for k, v in model.state_dict().items()}

    return saved, hook


def _equal(model, state) -> bool:
    return all(torch.equal(model.state_dict()[k], v) for k, v in state.items())


def test_co_guard_stops_and_restores_last_good_weights(small) -> None:
    tx, ty, vx, vy = small
    cfg = TrainConfig(method="fgsm_rs", epochs=6, batch_size=16, lr=0.05, co_drop=0.2)
    saved, hook = _snapshots()
    scripted = ScriptedEvaluator([0.30, 0.40, 0.35, 0.05, 0.5, 0.5])
    result = train_model(tiny_cnn(), tx, ty, vx, vy, cfg, **CHEAP, on_epoch_end=hook,
                         evaluator=scripted)  # fmt: skip
    h = result.history
    assert result.stop_reason == "catastrophic_overfitting" and len(h) == 4
    assert h["catastrophic_overfitting"].tolist() == [False, False, False, True]
    assert h["stop_reason"].iloc[-1] == "catastrophic_overfitting"
    assert result.best_epoch == 1 and _equal(result.model, saved[1])
    assert not _equal(result.model, saved[3])


def test_co_guard_within_an_epoch_via_the_probe_batch(small) -> None:
    tx, ty, vx, vy = small
    cfg = TrainConfig(method="fgsm_rs", epochs=3, batch_size=16, lr=0.05, co_check_every=1,
                      co_probe_images=8, val_max_images=32, restore_best=False)  # fmt: skip
    saved, hook = _snapshots()
    probe = [0.3, 0.4, 0.35, 0.1]  # two batches per epoch: collapses at batch 1 of epoch 1
    result = train_model(tiny_cnn(), tx, ty, vx, vy, cfg, **CHEAP, on_epoch_end=hook,
                         evaluator=ScriptedEvaluator([0.3, 0.3], probe))  # fmt: skip
    assert result.stop_reason == "catastrophic_overfitting"
    assert result.history["catastrophic_overfitting"].tolist() == [False, True]
    assert _equal(result.model, saved[0])  # restored although restore_best is off


def test_co_guard_is_off_for_standard_training(small) -> None:
    tx, ty, vx, vy = small
    cfg = TrainConfig(method="standard", epochs=3, batch_size=16, val_steps=1)
    result = train_model(tiny_cnn(), tx, ty, vx, vy, cfg, **CHEAP,
                         evaluator=ScriptedEvaluator([0.9, 0.1, 0.0]))  # fmt: skip
    assert result.stop_reason == "completed"  # monitors clean accuracy (0.9 each epoch)


@pytest.mark.parametrize(("patience", "epochs_run"), [(1, 2), (2, 3)])
def test_early_stopping_keeps_the_best_weights(small, patience: int, epochs_run: int) -> None:
    tx, ty, vx, vy = small
    cfg = TrainConfig(method="fgsm_rs", epochs=6, batch_size=16, lr=0.05, patience=patience,
                      co_drop=0.9)  # fmt: skip
    saved, hook = _snapshots()
    result = train_model(tiny_cnn(), tx, ty, vx, vy, cfg, **CHEAP, on_epoch_end=hook,
                         evaluator=ScriptedEvaluator([0.4, 0.3, 0.35, 0.2, 0.1, 0.1]))  # fmt: skip
    assert result.stop_reason == "early_stopping" and len(result.history) == epochs_run
    assert result.best_epoch == 0 and _equal(result.model, saved[0])
    assert result.history["best"].tolist() == [True] + [False] * (epochs_run - 1)
