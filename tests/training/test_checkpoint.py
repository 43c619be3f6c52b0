"""Determinism, checkpoints, kill-and-resume, NaN handling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from limeguard.training import (
    CheckpointError,
    NonFiniteLossError,
    TrainConfig,
    load_checkpoint,
    train_model,
)
from limeguard.training.config import AttackSettings
from tests.training.conftest import state_equal, tiny_cnn

CFG = TrainConfig(method="pgd_at", epochs=3, batch_size=32, attack=AttackSettings(steps=2),
                  val_steps=1, lr=0.05, warmup_epochs=0.5, schedule="onecycle")  # fmt: skip


class Interrupt(Exception):
    """Stands in for a kill."""


@pytest.fixture(scope="module")
def reference(data):
    """The uninterrupted run that resumed runs must reproduce bit for bit."""
    tx, ty, vx, vy = data
    return train_model(tiny_cnn(), tx, ty, vx, vy, CFG, progress=False)


def test_same_seed_same_weights_other_seed_other_weights(data) -> None:
    tx, ty, vx, vy = (t[:64] for t in data)
    cfg = TrainConfig(method="fgsm_rs", epochs=2, batch_size=32, val_steps=1, lr=0.05)
    runs = [train_model(tiny_cnn(), tx, ty, vx, vy, cfg, progress=False) for _ in range(2)]
    assert state_equal(runs[0].model, runs[1].model)
    other = TrainConfig(method="fgsm_rs", epochs=2, batch_size=32, val_steps=1, lr=0.05, seed=1)
    assert not state_equal(runs[0].model, train_model(tiny_cnn(), tx, ty, vx, vy, other,
                                                      progress=False).model)  # fmt: skip


def test_checkpoint_files(data, tmp_path: Path) -> None:
    tx, ty, vx, vy = data
    cfg = TrainConfig(method="standard", epochs=2, batch_size=32, val_steps=1)
    train_model(tiny_cnn(), tx, ty, vx, vy, cfg, checkpoint_dir=tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "epoch_0002.safetensors", "state.json", "timings.json"]
    meta = json.loads((tmp_path / "state.json").read_text())
    assert meta["state"]["epoch"] == 2 and len(meta["state"]["history"]) == 2
    assert meta["config"]["method"] == "standard"
    # wall times live apart, so that state.json depends on the run's inputs only
    assert not {"seconds", "train_seconds", "images_per_s"} & set(meta["state"]["history"][0])
    timings = json.loads((tmp_path / "timings.json").read_text())
    assert [t["epoch"] for t in timings] == [0, 1] and all(t["seconds"] > 0 for t in timings)


@pytest.mark.parametrize("where", ["after_epoch", "mid_epoch"])
def test_kill_and_resume_gives_the_same_weights(
    data, reference, tmp_path: Path, where: str
) -> None:
    tx, ty, vx, vy = data

    def stop_after_epoch_1(epoch, model, row):
        if epoch == 1:
            raise Interrupt

    calls = {"n": 0}

    def stop_in_epoch_1(model, x, y, index):  # batch 1 of epoch 1 (3 batches per epoch)
        calls["n"] += 1
        if calls["n"] == 3 + 2:
            raise Interrupt
        return torch.zeros(())

    hooks = {"after_epoch": {"on_epoch_end": stop_after_epoch_1},
             "mid_epoch": {"extra_loss": stop_in_epoch_1}}[where]  # fmt: skip
    with pytest.raises(Interrupt):
        train_model(tiny_cnn(), tx, ty, vx, vy, CFG, checkpoint_dir=tmp_path, progress=False,
                    **hooks)  # fmt: skip
    assert json.loads((tmp_path / "state.json").read_text())["state"]["epoch"] == (
        2 if where == "after_epoch" else 1
    )
    resumed = train_model(tiny_cnn(seed=99), tx, ty, vx, vy, CFG, checkpoint_dir=tmp_path,
                          progress=False)  # fmt: skip
    assert state_equal(reference.model, resumed.model)
    cols = ["train_loss", "train_acc", "val_clean_acc", "val_pgd_acc", "lr", "best"]
    assert reference.history[cols].equals(resumed.history[cols])
    assert resumed.best_epoch == reference.best_epoch


def test_finished_checkpoint_is_returned_without_training(data, reference, tmp_path) -> None:
    tx, ty, vx, vy = data
    first = train_model(tiny_cnn(), tx, ty, vx, vy, CFG, checkpoint_dir=tmp_path, progress=False)
    assert state_equal(first.model, reference.model)  # checkpointing changes nothing

    def never(*args):
        raise AssertionError("trained again")

    again = train_model(tiny_cnn(seed=5), tx, ty, vx, vy, CFG, checkpoint_dir=tmp_path,
                        progress=False, extra_loss=never)  # fmt: skip
    assert state_equal(first.model, again.model) and len(again.history) == 3


def test_checkpoint_of_another_config_is_refused(data, tmp_path: Path) -> None:
    tx, ty, vx, vy = data
    cfg = TrainConfig(method="standard", epochs=1, batch_size=32, val_steps=1)
    train_model(tiny_cnn(), tx, ty, vx, vy, cfg, checkpoint_dir=tmp_path, progress=False)
    other = TrainConfig(method="standard", epochs=1, batch_size=32, val_steps=1, lr=0.01)
    with pytest.raises(CheckpointError, match=rf"{tmp_path}.*lr: 0\.1 -> 0\.01"):
        train_model(tiny_cnn(), tx, ty, vx, vy, other, checkpoint_dir=tmp_path, progress=False)


def test_checkpoint_of_other_data_is_refused(data, tmp_path: Path) -> None:
    tx, ty, vx, vy = data
    cfg = TrainConfig(method="standard", epochs=1, batch_size=32, val_steps=1)
    train_model(tiny_cnn(), tx, ty, vx, vy, cfg, checkpoint_dir=tmp_path, progress=False)
    with pytest.raises(CheckpointError, match=rf"{tmp_path}.*other training data"):
        train_model(tiny_cnn(), 1 - tx, ty, vx, vy, cfg, checkpoint_dir=tmp_path, progress=False)


def test_checkpoint_of_another_model_is_refused(data, tmp_path: Path) -> None:
    tx, ty, vx, vy = data
    cfg = TrainConfig(method="standard", epochs=1, batch_size=32, val_steps=1)
    train_model(tiny_cnn(), tx, ty, vx, vy, cfg, checkpoint_dir=tmp_path, progress=False)
    wider = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, 4))
    with pytest.raises(CheckpointError, match="another model"):
        train_model(wider, tx, ty, vx, vy, cfg, checkpoint_dir=tmp_path, progress=False)


def test_nan_loss_stops_with_epoch_and_batch_and_keeps_last_good_checkpoint(
    data, tmp_path: Path
) -> None:
    tx, ty, vx, vy = data
    snapshots = {}
    calls = {"n": 0}

    def nan_in_epoch_1_batch_2(model, x, y, index):
        calls["n"] += 1
        return torch.tensor(float("nan") if calls["n"] == 3 + 3 else 0.0)

    def snapshot(epoch, model, row):
        snapshots[epoch] = {k: v.clone() for k, v in model.state_dict().items()}

    with pytest.raises(NonFiniteLossError, match=r"epoch 1, batch 2.*" + str(tmp_path)) as err:
        train_model(tiny_cnn(), tx, ty, vx, vy, CFG, checkpoint_dir=tmp_path, progress=False,
                    extra_loss=nan_in_epoch_1_batch_2, on_epoch_end=snapshot)  # fmt: skip
    assert (err.value.epoch, err.value.batch) == (1, 2)
    model = tiny_cnn(seed=3)
    state = load_checkpoint(tmp_path, CFG, model, torch.optim.SGD(model.parameters(), lr=0.1))
    assert state is not None and state.epoch == 1
    assert all(torch.equal(model.state_dict()[k], v) for k, v in snapshots[0].items())
