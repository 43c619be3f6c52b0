"""``TrainConfig``: every knob of :func:`limeguard.training.train_model`, validated when built."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from limeguard.config import (
    ConfigError,
    check_choice,
    check_int_range,
    check_real_range,
    check_seed,
)

METHODS = ("standard", "pgd_at", "fgsm_rs", "trades")
SCHEDULES = ("cosine", "piecewise", "onecycle", "constant")
OPTIMIZERS = ("sgd", "adam")
AMP_MODES = ("auto", "off", "bf16", "fp16")


@dataclass(frozen=True)
class AttackSettings:
    """The training attack (``attack:`` of a training recipe); ε and steps in pixel units of 1/255.

    One source for both the recipe's method (PGD-AT, FGSM-RS, TRADES) and the refinement rounds'
    augmentation (``rounds.refine.augment`` picks the attack, ``rounds.train.attack`` sets it), so
    that a round and its matched control train against the same attack.

    Attributes:
        eps_255: radius (8 = 8/255).
        alpha_255: PGD / TRADES step size (FGSM-RS uses ``fgsm_alpha_ratio`` * ε instead).
        steps: PGD / TRADES inner steps.
        random_start: PGD random start in the ε-ball.
        fgsm_alpha_ratio: FGSM-RS step as a multiple of ε (Wong et al.: 1.25).
        train_mode: generate PGD / FGSM-RS examples with the model in train mode (as Madry's,
            Rice's and Wong's code do; BatchNorm then sees the attack's forward passes).
    """

    eps_255: float = 8.0
    alpha_255: float = 2.0
    steps: int = 10
    random_start: bool = True
    fgsm_alpha_ratio: float = 1.25
    train_mode: bool = True

    def __post_init__(self) -> None:
        check_real_range("eps_255", self.eps_255, 0.0, 64.0)
        check_real_range("alpha_255", self.alpha_255, 0.0, 64.0, low_open=True)
        check_int_range("steps", self.steps, 1)
        check_real_range("fgsm_alpha_ratio", self.fgsm_alpha_ratio, 0.0, 4.0, low_open=True)


@dataclass(frozen=True)
class TrainConfig:
    """Training recipe (``params:train`` in Kedro); ε and steps in pixel units of 1/255.

    Attributes:
        method: ``standard`` (clean CE), ``pgd_at`` (Madry et al.), ``fgsm_rs`` (Wong et al. fast
            AT: one step of ``attack.fgsm_alpha_ratio`` * ε from a random start) or ``trades``
            (Zhang et al.).
        epochs: number of passes over the training set.
        batch_size: images per SGD step.
        drop_last: drop the last incomplete batch of an epoch.
        optimizer: ``sgd`` (with ``momentum``, ``nesterov``) or ``adam`` (torch's defaults,
            betas 0.9 / 0.999: the decoy benchmark's recipe); ``weight_decay`` applies to both.
        lr: peak learning rate.
        momentum: SGD momentum.
        weight_decay: L2 weight decay.
        nesterov: Nesterov momentum.
        schedule: ``cosine`` (to 0), ``piecewise`` (× ``lr_gamma`` at ``milestones``),
            ``onecycle`` (the triangular cyclic schedule of fast AT: 0 -> lr at ``onecycle_peak``
            -> 0) or ``constant``; all are per SGD step.
        warmup_epochs: linear warm-up from 0 for ``cosine``, ``piecewise`` and ``constant``
            (may be fractional).
        milestones: ``piecewise`` milestones as fractions of the training run (0.5 = half-way).
        lr_gamma: ``piecewise`` decay factor per milestone.
        onecycle_peak: ``onecycle`` position of the peak as a fraction of the training run.
        attack: the training attack of ``pgd_at``, ``fgsm_rs`` and ``trades`` (and of the
            refinement rounds' augmentation), see :class:`AttackSettings`.
        trades_beta: TRADES weight of the KL robustness term.
        val_eps_255: validation PGD radius.
        val_alpha_255: validation PGD step size.
        val_steps: validation PGD steps (keep small on CPU); 0 skips validation PGD (NaN column).
        val_max_images: validate on at most this many images of the validation split (null: all).
        eval_batch_size: batch size of validation passes.
        patience: early stopping after this many epochs without a better monitored accuracy
            (null: never). The monitored accuracy is validation PGD accuracy, or clean accuracy for
            ``standard`` or when ``val_steps`` is 0.
        restore_best: return the weights of the best epoch (else the last).
        co_guard: catastrophic-overfitting guard for adversarial methods: stop and restore the best
            weights when validation PGD accuracy falls more than ``co_drop`` below its best.
        co_drop: accuracy drop (absolute, in [0, 1]) that counts as a collapse.
        co_check_every: also check a probe batch every this many training batches
            (0: once per epoch, on the validation PGD accuracy, only).
        co_probe_images: size of the probe batch (the first images of the validation split).
        amp: mixed precision on CUDA: ``auto`` (bf16 where supported, else fp16 + GradScaler),
            ``bf16``, ``fp16`` or ``off``. Ignored on CPU and MPS (float32 there).
        channels_last: channels-last memory format; null means on CUDA only.
        preload_to_device: copy the whole training split to the device once (CUDA speed-up).
        grad_clip_norm: clip the global gradient norm to this value (null: no clipping).
        seed: seed of shuffling, attack noise and everything else random in training.
    """

    method: str = "standard"
    epochs: int = 10
    batch_size: int = 128
    drop_last: bool = False
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    nesterov: bool = False
    schedule: str = "cosine"
    warmup_epochs: float = 0.0
    milestones: tuple[float, ...] = (0.5, 0.75)
    lr_gamma: float = 0.1
    onecycle_peak: float = 0.4
    attack: AttackSettings = field(default_factory=AttackSettings)
    trades_beta: float = 6.0
    val_eps_255: float = 8.0
    val_alpha_255: float = 2.0
    val_steps: int = 3
    val_max_images: int | None = 1000
    eval_batch_size: int = 256
    patience: int | None = None
    restore_best: bool = True
    co_guard: bool = True
    co_drop: float = 0.2
    co_check_every: int = 0
    co_probe_images: int = 128
    amp: str = "auto"
    channels_last: bool | None = None
    preload_to_device: bool = True
    grad_clip_norm: float | None = None
    seed: int = 0

    def for_run(self, run_seed: int) -> TrainConfig:
        """This recipe in the run of ``runtime.seed = run_seed``: its seed offset by the run's, so
        that the seeds of a run (the ``seeds`` pipeline's namespaces) vary initialisation and data
        order; ``runtime.seed: 0`` keeps the recipe's own seed."""
        return dataclasses.replace(self, seed=(self.seed + run_seed) % 2**32)

    def __post_init__(self) -> None:
        check_choice("method", self.method, METHODS)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("amp", self.amp, AMP_MODES)
        for name in ("epochs", "batch_size", "eval_batch_size", "co_probe_images"):
            check_int_range(name, getattr(self, name), 1)
        for name in ("val_steps", "co_check_every"):
            check_int_range(name, getattr(self, name), 0)
        if self.patience is not None:
            check_int_range("patience", self.patience, 1)
        if self.val_max_images is not None:
            check_int_range("val_max_images", self.val_max_images, 1)
        check_seed("seed", self.seed)
        self._check_floats()

    def _check_floats(self) -> None:
        check_real_range("lr", self.lr, 0.0, 10.0, low_open=True)
        check_real_range("momentum", self.momentum, 0.0, 1.0)
        check_real_range("weight_decay", self.weight_decay, 0.0, 1.0)
        check_real_range("warmup_epochs", self.warmup_epochs, 0.0, float(self.epochs))
        check_real_range("lr_gamma", self.lr_gamma, 0.0, 1.0, low_open=True)
        check_real_range("onecycle_peak", self.onecycle_peak, 0.0, 1.0, low_open=True)
        for i, m in enumerate(self.milestones):
            check_real_range(f"milestones[{i}]", m, 0.0, 1.0)
        if list(self.milestones) != sorted(self.milestones):
            raise ConfigError(f"milestones: must be increasing, got {list(self.milestones)}")
        check_real_range("val_eps_255", self.val_eps_255, 0.0, 64.0)
        check_real_range("val_alpha_255", self.val_alpha_255, 0.0, 64.0, low_open=True)
        check_real_range("trades_beta", self.trades_beta, 0.0, 1000.0)
        check_real_range("co_drop", self.co_drop, 0.0, 1.0, low_open=True)
        if self.grad_clip_norm is not None:
            check_real_range("grad_clip_norm", self.grad_clip_norm, 0.0, low_open=True)
        if self.adversarial and self.attack.eps_255 == 0:
            raise ConfigError(f"attack.eps_255: must be > 0 for method {self.method!r}")

    @property
    def adversarial(self) -> bool:
        """Whether the method trains on perturbed inputs."""
        return self.method != "standard"

    @property
    def monitors_pgd(self) -> bool:
        """Whether early stopping and best-epoch selection use validation PGD accuracy."""
        return self.adversarial and self.val_steps > 0

