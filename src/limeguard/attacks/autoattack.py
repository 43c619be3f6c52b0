"""AutoAttack (Croce & Hein, 2020) in L-infinity through ``pyautoattack``, standard or cheaper.

``version='standard'`` is the published ensemble (APGD-CE, APGD-T with 9 targets, FAB-T, Square
with 5000 queries) and the arbiter of headline numbers. ``version='custom'`` runs the attacks named
in ``attacks`` with the iteration counts given here: the cheaper variant for CPU runs.

Few classes: the DLR loss reads the third-largest logit and its targeted form the fourth, so
APGD-DLR needs 3 classes and APGD-T 4 (fra31/auto-attack#70); :meth:`AutoAttackLinf.plan` leaves
out what the model's class count cannot run, caps the target classes at classes - 1, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from limeguard.attacks.pgd import check_eps_255, model_mode
from limeguard.config import ConfigError

VERSIONS = ("standard", "custom")
AA_ATTACKS = ("apgd-ce", "apgd-dlr", "apgd-t", "fab", "fab-t", "square")
STANDARD_ATTACKS = ("apgd-ce", "apgd-t", "fab-t", "square")
STANDARD_TARGETS = 9
MIN_CLASSES = {"apgd-dlr": 3, "apgd-t": 4}  # DLR: 3rd-largest logit; targeted DLR: the 4th
FALLBACK = "apgd-ce"  # runs when the class count leaves none of the configured attacks


@dataclass(frozen=True)
class AutoAttackPlan:
    """What AutoAttack runs against a model with ``n_classes`` outputs.

    Attributes:
        n_classes: the model's classes.
        configured: the attacks configured, in order.
        attacks: the attacks that run: ``configured`` less what the class count cannot run
            (:data:`MIN_CLASSES`), or :data:`FALLBACK` when that leaves none.
        n_target_classes: APGD-T / FAB-T target classes, at most ``n_classes - 1``.
        configured_targets: the target classes configured.
    """

    n_classes: int
    configured: tuple[str, ...]
    attacks: tuple[str, ...]
    n_target_classes: int
    configured_targets: int

    @property
    def dropped(self) -> tuple[str, ...]:
        """The configured attacks left out."""
        return tuple(a for a in self.configured if a not in self.attacks)

    @property
    def fewer_targets(self) -> bool:
        """Whether a targeted attack runs with fewer target classes than configured."""
        targeted = {"apgd-t", "fab-t"} & set(self.attacks)
        return bool(targeted) and self.n_target_classes != self.configured_targets

    @property
    def changed(self) -> bool:
        """Whether the class count changed what was configured."""
        return bool(self.dropped) or self.fewer_targets

    def note(self) -> str:
        """What ran, in one clause, e.g. ``with 3 classes AutoAttack ran apgd-ce; left out
        apgd-t (needs >= 4 classes)``."""
        text = f"with {self.n_classes} classes AutoAttack ran {', '.join(self.attacks)}"
        if self.dropped:
            text += "; left out " + ", ".join(f"{a} (needs >= {MIN_CLASSES[a]} classes)"
                                              for a in self.dropped)
        if not set(self.attacks) & set(self.configured):
            text += f"; {FALLBACK} ran in their place"
        if self.fewer_targets:
            text += f"; target classes: {self.n_target_classes} instead of {self.configured_targets}"
        return text


@dataclass(frozen=True)
class AutoAttackLinf:
    """AutoAttack in L∞ as ``attack(model, x, y) -> x_adv``.

    Runs in eval mode (restored afterwards), under its own seed, without touching torch's global
    RNG.
    Images the model already misclassifies are returned unchanged (AutoAttack's cascade).

    Attributes:
        eps_255: radius in pixel units (8 means 8/255).
        version: ``standard`` (the published settings; the fields below are ignored) or ``custom``.
        attacks: the attacks of a ``custom`` run, in order; a subset of ``AA_ATTACKS``.
        n_iter: APGD / FAB iterations of a ``custom`` run.
        n_restarts: APGD-CE / APGD-DLR / FAB restarts of a ``custom`` run.
        n_target_classes: APGD-T / FAB-T target classes of a ``custom`` run (capped at classes - 1).
        n_queries: Square queries of a ``custom`` run.
        seed: the attacks' seed.
    """

    eps_255: float = 8.0
    version: str = "standard"
    attacks: tuple[str, ...] = ("apgd-ce", "apgd-t")
    n_iter: int = 100
    n_restarts: int = 1
    n_target_classes: int = 9
    n_queries: int = 5000
    seed: int = 0

    def __post_init__(self) -> None:
        check_eps_255(self.eps_255)
        if self.version not in VERSIONS:
            raise ConfigError(
                f"version: unknown AutoAttack version {self.version!r}; use {VERSIONS}"
            )
        unknown = [a for a in self.attacks if a not in AA_ATTACKS]
        if unknown or not self.attacks:
            raise ConfigError(
                f"attacks: unknown or empty AutoAttack attacks {unknown}; use {AA_ATTACKS}"
            )
        for name in ("n_iter", "n_restarts", "n_target_classes", "n_queries"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name}: must be an integer >= 1, got {value!r}")

    def plan(self, n_classes: int) -> AutoAttackPlan:
        """The attacks and target classes that run against a model with ``n_classes`` outputs.

        Raises:
            ValueError: fewer than two classes.
        """
        if n_classes < 2:
            raise ValueError(f"AutoAttack needs a model with at least 2 classes, got {n_classes}")
        standard = self.version == "standard"
        configured = STANDARD_ATTACKS if standard else self.attacks
        targets = STANDARD_TARGETS if standard else self.n_target_classes
        runs = tuple(a for a in configured if n_classes >= MIN_CLASSES.get(a, 2))
        return AutoAttackPlan(n_classes, tuple(configured), runs or (FALLBACK,),
                              min(targets, n_classes - 1), targets)

    def __call__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Adversarial images ``(N, C, H, W)`` in [0, 1] with ``|x_adv - x|_inf <= eps``."""
        x = x.detach()
        if self.eps_255 == 0 or len(x) == 0:
            return x.clone()
        devices = [x.device] if x.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), model_mode(model, False):
            with torch.no_grad():
                n_classes = model(x[:1]).shape[1]
            adversary = self._build(model, x.device, self.plan(n_classes))
            x_adv, _ = adversary.run_standard_evaluation(x, y, batch_size=len(x))
        return torch.min(torch.max(x_adv.detach(), x - self.eps_255 / 255), x + self.eps_255 / 255)

    def _build(self, model: nn.Module, device: torch.device, plan: AutoAttackPlan):
        from pyautoattack import AutoAttack
        from pyautoattack.autopgd_base import APGDAttack, APGDAttack_targeted
        from pyautoattack.fab_pt import FABAttack_PT
        from pyautoattack.square import SquareAttack

        eps = self.eps_255 / 255
        if self.version == "standard":
            adversary = AutoAttack(
                model, eps=eps, norm="Linf", version="standard", seed=self.seed, device=device
            )
            adversary.attacks_to_run = list(plan.attacks)
            adversary.apgd_targeted.n_target_classes = plan.n_target_classes
            adversary.fab.n_target_classes = plan.n_target_classes
        else:
            adversary = AutoAttack(
                model,
                eps=eps,
                norm="Linf",
                version="custom",
                seed=self.seed,
                device=device,
                attacks=list(plan.attacks),
            )
            targets = plan.n_target_classes
            common = {
                "eps": eps,
                "norm": "Linf",
                "seed": self.seed,
                "device": device,
                "verbose": False,
            }
            # APGD derives its step-size checkpoints from n_iter in __init__: rebuild, don't mutate.
            adversary.apgd = APGDAttack(
                model,
                n_iter=self.n_iter,
                n_restarts=self.n_restarts,
                logger=adversary.logger,
                **common,
            )
            adversary.apgd_targeted = APGDAttack_targeted(
                model,
                n_iter=self.n_iter,
                n_restarts=1,
                n_target_classes=targets,
                logger=adversary.logger,
                **common,
            )
            adversary.fab = FABAttack_PT(
                model,
                n_iter=self.n_iter,
                n_restarts=self.n_restarts,
                n_target_classes=targets,
                **common,
            )
            adversary.square = SquareAttack(
                model, n_queries=self.n_queries, p_init=0.8, resc_schedule=True, **common
            )
        adversary.verbose = False
        return adversary
