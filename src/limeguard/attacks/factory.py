"""Attacks by name: ``build_attack('pgd', 8, steps=20)`` -> ``attack(model, x, y) -> x_adv``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from limeguard.attacks.autoattack import AutoAttackLinf
from limeguard.attacks.pgd import PGD, check_eps_255
from limeguard.attacks.square import SquareLinf
from limeguard.config import ConfigError

Attack = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]

_PGD_OPTIONS = frozenset({"steps", "alpha_255", "random_start", "restarts"})
_AA_FAST = {
    "version": "custom",
    "attacks": ("apgd-ce", "apgd-t"),
    "n_iter": 20,
    "n_target_classes": 3,
}


@dataclass(frozen=True)
class Recipe:
    """How a named attack is built: its class, fixed settings, default and allowed options."""

    cls: type
    fixed: Mapping[str, Any] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    options: frozenset[str] = frozenset()
    blackbox: bool = False


ATTACKS: dict[str, Recipe] = {
    # FGSM: one step of size ε from the clean image.
    "fgsm": Recipe(PGD, fixed={"steps": 1, "random_start": False, "restarts": 1}),
    # PGD-20, random start; the step defaults to ε/4 (2/255 at ε = 8/255).
    "pgd": Recipe(
        PGD, defaults={"steps": 20, "random_start": True, "restarts": 1}, options=_PGD_OPTIONS
    ),
    "pgd_restarts": Recipe(
        PGD, defaults={"steps": 20, "random_start": True, "restarts": 5}, options=_PGD_OPTIONS
    ),
    # CW-L∞: PGD on the Carlini-Wagner margin loss.
    "cw": Recipe(
        PGD,
        fixed={"loss": "cw"},
        defaults={"steps": 20, "random_start": True, "restarts": 1},
        options=_PGD_OPTIONS,
    ),
    "autoattack": Recipe(
        AutoAttackLinf, fixed={"version": "standard"}, options=frozenset({"seed"})
    ),
    # The cheaper configured variant for CPU runs: APGD-CE + APGD-T (3 targets), 20 iterations.
    "autoattack_fast": Recipe(
        AutoAttackLinf,
        defaults=_AA_FAST,
        options=frozenset(
            {"attacks", "n_iter", "n_restarts", "n_target_classes", "n_queries", "seed"}
        ),
    ),
    "square": Recipe(
        SquareLinf, options=frozenset({"n_queries", "p_init", "n_restarts", "seed"}), blackbox=True
    ),
}


def build_attack(name: str, eps_255: float, **options: Any) -> Attack:
    """Build the attack ``name`` at radius ``eps_255`` (pixel units, 8 means 8/255).

    Args:
        name: one of :data:`ATTACKS`.
        eps_255: L∞ radius in [0, 255] pixel units.
        **options: the attack's options (see ``ATTACKS[name].options``); e.g. ``steps``,
            ``alpha_255`` (PGD step, default ε/4), ``restarts``, ``n_queries``, ``seed``.

    Raises:
        ConfigError: unknown name or option, or an invalid value (the message names it).
    """
    if name not in ATTACKS:
        raise ConfigError(f"attack: unknown attack name {name!r}; known: {', '.join(ATTACKS)}")
    check_eps_255(eps_255)
    recipe = ATTACKS[name]
    unknown = sorted(set(options) - recipe.options)
    if unknown:
        allowed = ", ".join(sorted(recipe.options)) or "none"
        raise ConfigError(f"attack {name}: unknown option(s) {unknown}; allowed: {allowed}")
    kwargs = {**recipe.defaults, **options, **recipe.fixed, "eps_255": float(eps_255)}
    if recipe.cls is PGD:
        step = eps_255 if name == "fgsm" else eps_255 / 4
        kwargs["alpha_255"] = float(kwargs.get("alpha_255") or step)
    if "attacks" in kwargs:
        kwargs["attacks"] = tuple(kwargs["attacks"])
    try:
        return recipe.cls(**kwargs)
    except (TypeError, ValueError) as err:  # ConfigError included: prefix the attack's name
        raise ConfigError(f"attack {name}: {err}") from err


def is_blackbox(name: str) -> bool:
    """Whether the named attack uses only the model's outputs (no gradients)."""
    if name not in ATTACKS:
        raise ConfigError(f"attack: unknown attack name {name!r}; known: {', '.join(ATTACKS)}")
    return ATTACKS[name].blackbox


def takes_seed(name: str) -> bool:
    """Whether the named attack has its own ``seed`` option (else it draws from torch's RNG)."""
    return name in ATTACKS and "seed" in ATTACKS[name].options
