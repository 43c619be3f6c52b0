"""Configuration of an attack evaluation and of its gradient-masking checks (frozen dataclasses)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from limeguard.attacks.factory import ATTACKS, build_attack
from limeguard.attacks.pgd import check_eps_255
from limeguard.bound.config import BoundConfig
from limeguard.config import ConfigError, check_int_range, check_real_range, check_seed


@dataclass(frozen=True)
class AttackSpec:
    """One attack of an evaluation.

    Attributes:
        name: attack name known to :func:`limeguard.attacks.build_attack` (``fgsm``, ``pgd``,
            ``pgd_restarts``, ``cw``, ``autoattack``, ``autoattack_fast``, ``square``).
        label: name of the attack in the results table (default: ``name``); must be unique.
        options: the attack's options, e.g. ``{steps: 20}`` or ``{n_queries: 1000}``.
        sweep: run at every ε of the sweep and the small-ε grid; otherwise at the headline ε only.
        max_images: attack only the first this many evaluated images (null: all of them); a
            cheap attack can run on more images than the rest to narrow its intervals.
    """

    name: str
    label: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    sweep: bool = False
    max_images: int | None = None

    def __post_init__(self) -> None:
        if self.name not in ATTACKS:
            raise ConfigError(
                f"name: unknown attack name {self.name!r}; known: {', '.join(ATTACKS)}"
            )
        if self.label == "clean" or (self.label is None and self.name == "clean"):
            raise ConfigError("label: 'clean' is reserved for the clean rows")
        if self.max_images is not None and (not isinstance(self.max_images, int)
                                            or self.max_images < 1):
            raise ConfigError(f"max_images: must be an integer >= 1 or null, got {self.max_images!r}")
        build_attack(self.name, 8.0, **dict(self.options))  # fail at configuration time

    @property
    def key(self) -> str:
        """The label used in the results table."""
        return self.label or self.name


DEFAULT_ATTACKS = (
    AttackSpec("fgsm", sweep=True),
    AttackSpec("pgd", sweep=True),
    AttackSpec("pgd_restarts"),
    AttackSpec("cw"),
    AttackSpec("autoattack"),
    AttackSpec("square"),
)
SMALL_EPS_LINF = (0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1)


@dataclass(frozen=True)
class EvalConfig:
    """``params:evaluate``: which attacks run at which radii.

    Attributes:
        attacks: the attacks (see :class:`AttackSpec`); labels must be unique.
        eps_255: the ε sweep in pixel units (1/255).
        small_eps_linf: the authors' lab's small-ε grid as raw L∞ radii in [0, 1] units
            (0.01 is 2.55/255); converted with :func:`linf_to_255`. Only ``sweep`` attacks run here.
        headline_eps_255: the radius where every attack runs (pixel units; 8 means 8/255).
        batch_size: images per batch.
        seed: seed of the attacks' random starts; each (batch, attack, ε) derives its own.
        skip_misclassified: leave images misclassified clean unattacked (counted not robust), as
            AutoAttack does.
    """

    attacks: tuple[AttackSpec, ...] = DEFAULT_ATTACKS
    eps_255: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0)
    small_eps_linf: tuple[float, ...] = SMALL_EPS_LINF
    headline_eps_255: float = 8.0
    batch_size: int = 256
    seed: int = 0
    skip_misclassified: bool = True

    def __post_init__(self) -> None:
        if not self.attacks:
            raise ConfigError("attacks: at least one attack is needed")
        keys = [a.key for a in self.attacks]
        if len(set(keys)) != len(keys):
            raise ConfigError(f"attacks: labels must be unique, got {keys}")
        for i, eps in enumerate(self.eps_255):
            check_eps_255(eps, f"eps_255[{i}]")
        for i, eps in enumerate(self.small_eps_linf):
            if not isinstance(eps, int | float) or math.isnan(eps) or not 0 <= eps <= 1:
                raise ConfigError(f"small_eps_linf[{i}]: must be an L∞ radius in [0, 1], got {eps}")
        check_eps_255(self.headline_eps_255, "headline_eps_255")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"batch_size: must be an integer >= 1, got {self.batch_size!r}")

    def radii_255(self, spec: AttackSpec) -> tuple[float, ...]:
        """The radii (pixel units, ascending, without duplicates) at which ``spec`` runs."""
        if not spec.sweep:
            return (float(self.headline_eps_255),)
        radii = {float(e) for e in self.eps_255} | {linf_to_255(e) for e in self.small_eps_linf}
        return tuple(sorted(radii | {float(self.headline_eps_255)}))


def linf_to_255(eps_linf: float) -> float:
    """An L∞ radius in [0, 1] units as pixel units (0.03 -> 7.65), rounded to 1e-9."""
    return round(eps_linf * 255, 9)


@dataclass(frozen=True)
class MaskingCheckConfig:
    """``params:masking_checks``: which attacks play which role and the tolerances of the checks.

    Attributes:
        fgsm: label of the FGSM attack in the results.
        pgd: label of the PGD attack.
        autoattack: labels that count as AutoAttack (the first present is used).
        square: label of the black-box Square attack.
        tolerance: absolute accuracy slack (fraction in [0, 1]) of the ordering checks, for
            sampling noise on small evaluations.
        monotone_attacks: attacks whose accuracy must not rise with ε (beyond ``tolerance``).
        large_eps_255: radius (pixel units) where accuracy must have fallen to at most
            ``max_accuracy_at_large_eps`` for ``pgd``.
        max_accuracy_at_large_eps: the accuracy (fraction) allowed at ``large_eps_255``.
        probe_eps_255: radius of the unbounded-attack fact (PGD on a probe batch); accuracy there
            must be at most ``max_accuracy_at_probe_eps``.
        max_accuracy_at_probe_eps: see ``probe_eps_255``.
        probe_size: images of the probe batch used for the model facts.
        determinism_atol: largest absolute logit difference allowed between two forward passes.
    """

    fgsm: str = "fgsm"
    pgd: str = "pgd"
    autoattack: tuple[str, ...] = ("autoattack", "autoattack_fast")
    square: str = "square"
    tolerance: float = 0.01
    monotone_attacks: tuple[str, ...] = ("pgd",)
    large_eps_255: float = 16.0
    max_accuracy_at_large_eps: float = 0.3
    probe_eps_255: float = 64.0
    max_accuracy_at_probe_eps: float = 0.05
    probe_size: int = 64
    determinism_atol: float = 1e-5

    def __post_init__(self) -> None:
        check_eps_255(self.large_eps_255, "large_eps_255")
        check_eps_255(self.probe_eps_255, "probe_eps_255")
        for name in ("tolerance", "max_accuracy_at_large_eps", "max_accuracy_at_probe_eps"):
            value = getattr(self, name)
            if math.isnan(value) or not 0 <= value <= 1:
                raise ConfigError(f"{name}: must be a fraction in [0, 1], got {value}")
        if self.probe_size < 1:
            raise ConfigError(f"probe_size: must be >= 1, got {self.probe_size}")
        if math.isnan(self.determinism_atol) or self.determinism_atol < 0:
            raise ConfigError(f"determinism_atol: must be >= 0, got {self.determinism_atol}")


@dataclass(frozen=True)
class EvaluateParams:
    """``params:evaluate``: how many test images, which attacks, which masking checks.

    ``max_images`` is the number of test images an attack runs on unless its own ``max_images``
    says otherwise; clean accuracy is measured on every image some attack runs on.
    """

    max_images: int | None = None
    attacks: EvalConfig = field(default_factory=EvalConfig)
    masking: MaskingCheckConfig = field(default_factory=MaskingCheckConfig)
    bound: BoundConfig = field(default_factory=BoundConfig)
    bound_images: int | None = 100

    def attack_plan(self) -> tuple[int | None, EvalConfig]:
        """The number of test images evaluated (None: all) and the attacks, each with its count."""
        specs = tuple(spec if spec.max_images is not None
                      else dataclasses.replace(spec, max_images=self.max_images)
                      for spec in self.attacks.attacks)  # fmt: skip
        counts = [spec.max_images for spec in specs]
        total = None if None in counts else max(counts)
        return total, dataclasses.replace(self.attacks, attacks=specs)


@dataclass(frozen=True)
class ConfinedConfig:
    """``params:mine.confined``: the paper's observation, measured (``evaluation.confined``).

    PGD (L∞, random start, step ε/4) confined to the pixels a criterion flagged, against the same
    attack confined to as many pixels of unflagged superpixels of the same image.

    Attributes:
        enabled: run the comparison (false: the output records that it did not run).
        max_images: the first this many mined images are attacked (null: all of them).
        draws: random unflagged regions per image (their robust accuracies are averaged).
        eps_255: the radius in pixel units (8 means 8/255).
        steps: PGD steps; restarts: PGD restarts.
        batch_size: images per attacked batch.
        seed: seed of the random regions, the attacks' random starts and the bootstrap.
        level: coverage of the paired interval; n_boot: its bootstrap draws.
    """

    enabled: bool = True
    max_images: int | None = 100
    draws: int = 3
    eps_255: float = 8.0
    steps: int = 20
    restarts: int = 1
    batch_size: int = 100
    seed: int = 0
    level: float = 0.95
    n_boot: int = 2000

    def __post_init__(self) -> None:
        if self.max_images is not None:
            check_int_range("max_images", self.max_images, 1)
        for name in ("draws", "steps", "restarts", "batch_size"):
            check_int_range(name, getattr(self, name), 1)
        check_int_range("n_boot", self.n_boot, 100)
        check_seed("seed", self.seed)
        check_eps_255(self.eps_255, "eps_255")
        check_real_range("level", self.level, 0.0, 1.0, low_open=True, high_open=True)
