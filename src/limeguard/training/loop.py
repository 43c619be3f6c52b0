"""The training loop: SGD (or Adam) over index-shuffled tensors, validation, early stopping, checkpoints."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from limeguard.runtime import progress as progress_bar
from limeguard.training.checkpoint import TrainState, data_fingerprint, load_checkpoint, save_checkpoint
from limeguard.training.config import TrainConfig
from limeguard.training.distributed import RankContext
from limeguard.training.errors import check_finite_losses, check_training_data
from limeguard.training.evaluation import Evaluator, PGDValidator
from limeguard.training.losses import BatchLoss, ExtraLoss, build_batch_loss
from limeguard.training.precision import Precision, resolve_precision
from limeguard.training.schedule import lr_at

log = logging.getLogger(__name__)

HISTORY_COLUMNS = (
    "epoch", "train_loss", "train_extra_loss", "train_acc", "val_clean_acc", "val_pgd_acc", "lr",
    "seconds", "train_seconds", "images_per_s", "best", "catastrophic_overfitting", "stop_reason",
)  # fmt: skip
# (epoch, model, history row) after the epoch's checkpoint is written; raising here interrupts.
EpochHook = Callable[[int, nn.Module, dict[str, Any]], None]


@dataclass
class TrainResult:
    """Outcome of :func:`train_model`.

    Attributes:
        model: the trained model, with the best epoch's weights unless ``restore_best`` is off
            (after a catastrophic-overfitting stop always the last good weights), in eval mode.
        history: one row per epoch, columns :data:`HISTORY_COLUMNS`.
        best_epoch: 0-based epoch whose weights are the best (-1 when none was validated).
        stop_reason: ``completed``, ``early_stopping`` or ``catastrophic_overfitting``.
        terms: one row per epoch when the batch loss reports its terms (``pop_term_means``, e.g.
            the refinement loss): ``epoch`` and each term's mean; resumed epochs included (the
            terms are part of the checkpointed history). Empty otherwise.
    """

    model: nn.Module
    history: pd.DataFrame
    best_epoch: int
    stop_reason: str | None
    terms: pd.DataFrame = field(default_factory=pd.DataFrame)


def train_model(
    model: nn.Module,
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    val_x: torch.Tensor,
    val_y: torch.Tensor,
    cfg: TrainConfig,
    device: torch.device | str = "cpu",
    checkpoint_dir: Path | None = None,
    extra_loss: ExtraLoss | None = None,
    progress: bool = True,
    *,
    batch_loss: BatchLoss | None = None,
    evaluator: Evaluator | None = None,
    on_epoch_end: EpochHook | None = None,
) -> TrainResult:
    """Train ``model`` with ``cfg`` (standard, PGD-AT, FGSM-RS or TRADES), resuming if possible.

    Args:
        model: a classifier returning logits; trained in place (and moved to ``device``).
        train_x: (N, C, H, W) float32 in [0, 1] on the CPU; ``train_y``: (N,) int64 labels.
        val_x: (M, C, H, W) validation images (the first ``cfg.val_max_images`` are used);
            ``val_y``: (M,) labels.
        cfg: the training recipe.
        device: where batches run; data move there batch by batch (or once, see
            ``cfg.preload_to_device``).
        checkpoint_dir: write a checkpoint after every epoch there and resume from the last
            complete one; a checkpoint of another configuration raises ``CheckpointError``.
        extra_loss: ``extra_loss(model, x, y, index) -> scalar`` added to the method's loss (see
            :mod:`limeguard.training.losses`).
        progress: show a progress bar over the batches.
        batch_loss: replaces the method's loss strategy (``cfg.method`` then only names the run).
        evaluator: replaces validation: ``(model, x, y) -> (clean_acc, pgd_acc)``.
        on_epoch_end: called after each epoch's checkpoint as ``(epoch, model, row)``.

    Returns:
        The :class:`TrainResult`.

    Raises:
        NonFiniteLossError: the loss became NaN/inf (the last good checkpoint stays on disk).
        CheckpointError: ``checkpoint_dir`` holds a checkpoint of another configuration or model.
        ValueError: tensors of the wrong shape, dtype or length.
    """
    check_training_data(train_x, train_y, "train")
    check_training_data(val_x, val_y, "val")
    run = _Run(model, train_x, train_y, val_x, val_y, cfg, torch.device(device), checkpoint_dir,
               extra_loss, batch_loss, evaluator, on_epoch_end, progress)  # fmt: skip
    return run.fit()


class _Run:
    """One training run's mutable state; :meth:`fit` drives it."""

    def __init__(  # the arguments of train_model
        self, model, train_x, train_y, val_x, val_y, cfg, device, checkpoint_dir,
        extra_loss, batch_loss, evaluator, on_epoch_end, show_progress,
    ) -> None:  # fmt: skip
        self.cfg, self.device, self.ckpt_dir = cfg, device, checkpoint_dir
        self.precision: Precision = resolve_precision(cfg, device)
        self.model = model.to(device)
        if self.precision.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.ranks = RankContext.current()  # rank 0 of 1 outside torch.distributed
        self.ranks.check_batches(len(train_x), cfg.batch_size, cfg.drop_last)
        self.net = self.ranks.wrap(self.model, device)  # DDP under torch.distributed
        self.train_x, self.train_y = train_x, train_y
        if device.type == "cuda" and cfg.preload_to_device:
            self.train_x, self.train_y = self.precision.batch(train_x), train_y.to(device)
        self.val_x, self.val_y = val_x[: cfg.val_max_images], val_y[: cfg.val_max_images]
        self.probe = (val_x[: cfg.co_probe_images], val_y[: cfg.co_probe_images])
        self.batch_loss = batch_loss or build_batch_loss(cfg)
        self.extra_loss, self.on_epoch_end = extra_loss, on_epoch_end
        self.evaluator = evaluator or PGDValidator(cfg, self.precision)
        self.optimizer = build_optimizer(self.model, cfg)
        self.scaler = self.precision.make_scaler()
        self.show_progress = show_progress
        n = len(train_x)
        bs = cfg.batch_size
        self.steps_per_epoch = n // bs if cfg.drop_last else math.ceil(n / bs)
        if self.steps_per_epoch < 1:
            raise ValueError(f"train_x: {n} images give no full batch of batch_size {bs}")
        self.data_id = data_fingerprint(train_x, train_y) if checkpoint_dir is not None else ""
        self.state = TrainState()
        self.fallback_state: dict[str, torch.Tensor] | None = None

    def fit(self) -> TrainResult:
        """Resume if a checkpoint exists, train the remaining epochs, return the result."""
        if self.ckpt_dir is not None:
            loaded = load_checkpoint(
                self.ckpt_dir, self.cfg, self.model, self.optimizer, data=self.data_id
            )
            if loaded is not None:
                self.state = loaded
                if self.scaler is not None and loaded.scaler:
                    self.scaler.load_state_dict(loaded.scaler)
                log.info("resuming from %s after epoch %d", self.ckpt_dir, loaded.epoch)
        while self.state.stop_reason is None and self.state.epoch < self.cfg.epochs:
            self._epoch(self.state.epoch)
        return self._result()

    def _epoch(self, epoch: int) -> None:
        cfg, state = self.cfg, self.state
        torch.manual_seed(_derive_seed(cfg.seed, epoch, 0) + self.ranks.rank)  # attack noise, dropout
        shuffle = torch.Generator().manual_seed(_derive_seed(cfg.seed, epoch, 1))
        order = torch.randperm(len(self.train_y), generator=shuffle)  # (N,) batch order
        if self.state.best_state is None and cfg.co_check_every > 0:
            self.fallback_state = _copy_state(self.model)
        start = time.perf_counter()
        sums, collapsed = self._train_batches(epoch, order.to(self.train_y.device))
        train_seconds = time.perf_counter() - start
        clean, pgd = self.ranks.agree(self.evaluator(self.model, self.val_x, self.val_y))
        row = self._row(epoch, sums, clean, pgd, train_seconds, time.perf_counter() - start)
        if hasattr(self.batch_loss, "pop_term_means"):  # kept in the checkpoint with the row
            row["terms"] = self.batch_loss.pop_term_means()
        self._select(epoch, row, clean, pgd, collapsed)
        state.history.append(row)
        state.epoch = epoch + 1
        if state.stop_reason is None and state.epoch == cfg.epochs:
            state.stop_reason = "completed"
        row["stop_reason"] = state.stop_reason or ""
        log.info("train %s epoch %d/%d: %s", cfg.method, epoch + 1, cfg.epochs, _fmt(row))
        if self.scaler is not None:
            state.scaler = self.scaler.state_dict()
        if self.ckpt_dir is not None and self.ranks.is_main:
            save_checkpoint(self.ckpt_dir, cfg, self.model, self.optimizer, state, self.data_id)
        if self.on_epoch_end is not None:
            self.on_epoch_end(epoch, self.model, row)

    def _train_batches(self, epoch: int, order: torch.Tensor) -> tuple[dict[str, float], bool]:
        """One pass over the shuffled training split; returns sums and a collapse flag."""
        self.model.train()
        bs, n_steps = self.cfg.batch_size, self.steps_per_epoch
        sync_every = 1 if self.device.type == "cpu" else 32
        losses = torch.zeros(n_steps, device=self.device)  # (steps,) total loss per batch
        extras = torch.zeros(n_steps, device=self.device)
        correct = torch.zeros((), dtype=torch.long, device=self.device)
        seen, collapsed, done, checked = 0, False, 0, 0
        batches = range(n_steps)
        if self.show_progress and self.ranks.is_main:
            batches = progress_bar(batches, desc=f"train {self.cfg.method} epoch {epoch + 1}")
        for b in batches:
            index, weight = self.ranks.shard(order[b * bs : (b + 1) * bs])  # this rank's part
            x = self.precision.batch(self.train_x[index])
            y = self.train_y[index].to(self.device, non_blocking=True)
            index = index.to(self.device, non_blocking=True)
            lr = lr_at(self.cfg, self.state.step, n_steps)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            losses[b], extras[b], hits = self._step(x, y, index, weight)
            correct += hits
            seen, done, self.state.step = seen + len(y), b + 1, self.state.step + 1
            if done % sync_every == 0:
                check_finite_losses(losses, checked, done, epoch, self.ckpt_dir)
                checked = done
            if self._probe_collapsed(b):
                collapsed = True
                break
        check_finite_losses(losses, checked, done, epoch, self.ckpt_dir)
        sums = {"loss": float(losses[:done].sum()), "extra": float(extras[:done].sum()),
                "correct": float(correct), "seen": seen, "batches": done, "lr": lr}  # fmt: skip
        sums = self.ranks.reduce_sums(sums)
        return sums, collapsed

    def _step(
        self, x: torch.Tensor, y: torch.Tensor, index: torch.Tensor, weight: float = 1.0
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Forward, backward and SGD update of one batch; returns (loss, extra loss, #correct).
        ``weight`` scales the gradient of a rank's unevenly sized shard (see RankContext.shard)."""
        with self.precision.autocast():
            out = self.batch_loss(self.net, x, y, index)
            total = out.loss
            extra = torch.zeros((), device=self.device)
            if self.extra_loss is not None:
                extra = self.extra_loss(self.net, x, y, index)
                total = total + extra
        self.optimizer.zero_grad(set_to_none=True)
        scaled = total if weight == 1.0 else total * weight
        if self.scaler is not None:
            self.scaler.scale(scaled).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            scaled.backward()
        if self.cfg.grad_clip_norm is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip_norm)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        hits = (out.logits.detach().argmax(1) == y).sum()
        return total.detach().float(), extra.detach().float(), hits

    def _probe_collapsed(self, batch: int) -> bool:
        """Every ``co_check_every`` batches: PGD accuracy on the probe batch fell too far?"""
        cfg = self.cfg
        if not (cfg.co_guard and cfg.adversarial and cfg.co_check_every > 0):
            return False
        if (batch + 1) % cfg.co_check_every != 0 or cfg.val_steps == 0:
            return False
        _, acc = self.ranks.agree(self.evaluator(self.model, *self.probe))
        self.model.train()
        if acc < self.state.best_probe_acc - cfg.co_drop:
            log.warning(
                "catastrophic overfitting: probe PGD accuracy %.3f after batch %d, best %.3f",
                acc, batch + 1, self.state.best_probe_acc,
            )  # fmt: skip
            return True
        self.state.best_probe_acc = max(self.state.best_probe_acc, acc)
        return False

    def _select(self, epoch: int, row: dict[str, Any], clean: float, pgd: float,
                collapsed: bool) -> None:  # fmt: skip
        """Update best weights, early stopping and the per-epoch catastrophic-overfitting guard."""
        cfg, state = self.cfg, self.state
        metric = pgd if cfg.monitors_pgd else clean
        dropped = (
            cfg.co_guard and cfg.monitors_pgd and math.isfinite(state.best_metric)
            and pgd < state.best_metric - cfg.co_drop
        )  # fmt: skip
        if collapsed or dropped:
            row["catastrophic_overfitting"] = True
            state.stop_reason = "catastrophic_overfitting"
            log.warning("catastrophic overfitting at epoch %d: validation PGD accuracy %.3f, "
                        "best %.3f at epoch %d; restoring the last good weights",
                        epoch + 1, pgd, state.best_metric, state.best_epoch + 1)  # fmt: skip
            return
        if metric > state.best_metric:
            state.best_metric, state.best_epoch, state.epochs_since_best = metric, epoch, 0
            state.best_state = _copy_state(self.model)
            row["best"] = True
            return
        state.epochs_since_best += 1
        if cfg.patience is not None and state.epochs_since_best >= cfg.patience:
            state.stop_reason = "early_stopping"

    def _row(self, epoch: int, sums: dict[str, float], clean: float, pgd: float,
             train_seconds: float, seconds: float) -> dict[str, Any]:  # fmt: skip
        seen = max(sums["seen"], 1)
        batches = max(sums["batches"], 1)
        return {
            "epoch": epoch,
            "train_loss": sums["loss"] / batches,
            "train_extra_loss": sums["extra"] / batches if self.extra_loss else float("nan"),
            "train_acc": sums["correct"] / seen,
            "val_clean_acc": float(clean),
            "val_pgd_acc": float(pgd),
            "lr": float(sums["lr"]),
            "seconds": seconds,
            "train_seconds": train_seconds,
            "images_per_s": sums["seen"] / max(train_seconds, 1e-9),
            "best": False,
            "catastrophic_overfitting": False,
            "stop_reason": "",
        }

    def _result(self) -> TrainResult:
        state = self.state
        good = state.best_state if state.best_state is not None else self.fallback_state
        co = state.stop_reason == "catastrophic_overfitting"
        if good is not None and (self.cfg.restore_best or co):
            self.model.load_state_dict(good)
        self.ranks.unwrap(self.model)
        self.model.eval()
        history = pd.DataFrame(state.history, columns=list(HISTORY_COLUMNS))
        terms = pd.DataFrame([{"epoch": r["epoch"], **r["terms"]} for r in state.history if "terms" in r])
        return TrainResult(self.model, history, state.best_epoch, state.stop_reason, terms)


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """``cfg.optimizer``: SGD (momentum, Nesterov) or Adam, at ``cfg.lr`` and ``cfg.weight_decay``."""
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                           weight_decay=cfg.weight_decay, nesterov=cfg.nesterov)


def _derive_seed(seed: int, epoch: int, stream: int) -> int:
    """A distinct, reproducible seed per (run seed, epoch, stream)."""
    return (seed * 1_000_003 + epoch * 1_009 + stream) % (2**63)


def _copy_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _fmt(row: dict[str, Any]) -> str:
    keys = ("train_loss", "train_acc", "val_clean_acc", "val_pgd_acc", "lr", "seconds")
    values = {**{k: row[k] for k in keys}, **row.get("terms", {})}
    return " ".join(f"{k}={v:.4g}" for k, v in values.items())

