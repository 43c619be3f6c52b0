"""DDP training: 2 gloo ranks started by torch's elastic launcher match one process."""

from __future__ import annotations

import os
import time

import pytest
import torch
import torch.distributed as dist

from limeguard.config import ConfigError
from limeguard.runtime import DistributedConfig
from limeguard.training import TrainConfig, train_model
from limeguard.training.distributed import DistributedTrainingError, RankContext, launch
from tests.training.conftest import separable_data, tiny_cnn

CPU = torch.device("cpu")
TWO_RANKS = DistributedConfig(enabled=True, nproc_per_node=2, timeout_s=60)
# 72 images, global batch 16: 4 full batches and a last one of 8 (4 per rank): 5 steps
RECIPE = dict(method="standard", epochs=1, batch_size=16, lr=0.05, val_steps=0,
              val_max_images=16, schedule="constant", warmup_epochs=0, restore_best=False)


@pytest.fixture(scope="module")
def split() -> tuple[torch.Tensor, ...]:
    x, y = separable_data(88, seed=3)
    return x[:72], y[:72], x[72:], y[72:]


def _params(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.slow
def test_two_gloo_ranks_match_one_process(split, tmp_path) -> None:
    """Same initial weights, same data order, global batch 16 split 8 + 8 over two ranks with the
    batch norm synchronised: every parameter and buffer within 1e-5 of one process after 5 steps;
    the history's statistics are the global ones; the checkpoint is written."""
    tx, ty, vx, vy = split
    cfg = TrainConfig(**RECIPE)
    single = train_model(tiny_cnn(0), tx, ty, vx, vy, cfg, CPU, progress=False)
    ddp = launch(TWO_RANKS, CPU, train_model, tiny_cnn(0), tx, ty, vx, vy, cfg,
                 checkpoint_dir=tmp_path / "ckpt", progress=False,
                 batch_size=cfg.batch_size, batch_key="baseline.standard.batch_size")
    a, b = _params(single.model), _params(ddp.model)
    assert a.keys() == b.keys()
    worst = max(float((a[k].float() - b[k].float()).abs().max()) for k in a)
    assert worst < 1e-5
    assert type(ddp.model[1]) is torch.nn.BatchNorm2d  # the synchronised layers were put back
    for col in ("train_loss", "train_acc"):
        assert ddp.history[col].iloc[0] == pytest.approx(single.history[col].iloc[0], abs=1e-5)
    written = {p.name for p in (tmp_path / "ckpt").iterdir()}
    assert {"epoch_0001.safetensors", "state.json"} <= written


class Interrupted(RuntimeError):
    pass


def interrupt_after_first_epoch(epoch: int, model: torch.nn.Module, row: dict) -> None:
    if epoch == 0:
        raise Interrupted("stopped after epoch 1")


@pytest.mark.slow
def test_interrupted_distributed_run_resumes_like_one_process(split, tmp_path) -> None:
    """A 2-epoch DDP run stopped after epoch 1 (the error names the rank and the cause) resumes
    from rank 0's checkpoint and ends where an uninterrupted 2-epoch single process ends."""
    tx, ty, vx, vy = split
    cfg = TrainConfig(**{**RECIPE, "epochs": 2})
    ckpt = tmp_path / "ckpt"
    with pytest.raises(DistributedTrainingError, match=r"rank \d .*Interrupted: stopped after"):
        launch(TWO_RANKS, CPU, train_model, tiny_cnn(0), tx, ty, vx, vy, cfg, checkpoint_dir=ckpt,
               progress=False, on_epoch_end=interrupt_after_first_epoch, batch_size=16,
               batch_key="batch_size")
    resumed = launch(TWO_RANKS, CPU, train_model, tiny_cnn(0), tx, ty, vx, vy, cfg,
                     checkpoint_dir=ckpt, progress=False, batch_size=16, batch_key="batch_size")
    single = train_model(tiny_cnn(0), tx, ty, vx, vy, cfg, CPU, progress=False)
    a, b = _params(single.model), _params(resumed.model)
    assert max(float((a[k].float() - b[k].float()).abs().max()) for k in a) < 1e-5
    assert resumed.history["epoch"].tolist() == [0, 1]


def test_world_size_that_does_not_divide_the_batch_is_refused(split) -> None:
    tx, ty, vx, vy = split
    three = DistributedConfig(enabled=True, nproc_per_node=3)
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=r"baseline\.adversarial\.batch_size: 16 .* world size 3"):
        launch(three, CPU, train_model, tiny_cnn(0), tx, ty, vx, vy, TrainConfig(**RECIPE),
               batch_size=16, batch_key="baseline.adversarial.batch_size")
    assert time.perf_counter() - started < 1  # refused before any process starts


def test_cpu_needs_a_process_count(split) -> None:
    with pytest.raises(ConfigError, match="runtime.distributed.nproc_per_node"):
        launch(DistributedConfig(enabled=True), CPU, train_model, batch_size=16, batch_key="b")


def _die_on_rank_1(seconds: float, device: torch.device) -> str:
    """Rank 1 dies; rank 0 waits for it in an all-reduce."""
    if dist.get_rank() == 1:
        os._exit(3)
    dist.all_reduce(torch.ones(1))
    time.sleep(seconds)
    return "rank 0 finished"


@pytest.mark.slow
def test_a_dead_rank_stops_the_job_with_an_error() -> None:
    started = time.perf_counter()
    with pytest.raises(DistributedTrainingError, match=r"rank 1 \(exit code 3\)"):
        launch(DistributedConfig(enabled=True, nproc_per_node=2, timeout_s=20), CPU,
               _die_on_rank_1, 3600.0, batch_size=2, batch_key="b")
    assert time.perf_counter() - started < 300  # no hang: rank 0 would wait an hour


def test_single_process_context_is_the_identity() -> None:
    ctx = RankContext.current()
    index = torch.arange(10)
    assert (ctx.rank, ctx.world, ctx.is_main) == (0, 1, True)
    local, weight = ctx.shard(index)
    assert torch.equal(local, index) and weight == 1.0
    model = tiny_cnn(0)
    assert ctx.wrap(model, CPU) is model


def test_shards_of_an_uneven_batch_are_weighted() -> None:
    index = torch.arange(7)
    parts = [RankContext(r, 2).shard(index) for r in range(2)]
    assert torch.equal(torch.cat([p[0] for p in parts]), index)
    assert [p[1] for p in parts] == [4 * 2 / 7, 3 * 2 / 7]
    with pytest.raises(ValueError, match="batch_size: 15 is not divisible"):
        RankContext(0, 2).check_batches(60, 15, drop_last=False)
    with pytest.raises(ValueError, match="last batch"):
        RankContext(0, 4).check_batches(66, 16, drop_last=False)  # last batch of 2 < 4 ranks
