"""L∞ attacks with one contract: ``attack(model, x, y) -> x_adv`` (x float32 in [0, 1], NCHW)."""

from limeguard.attacks.autoattack import AutoAttackLinf
from limeguard.attacks.factory import ATTACKS, Attack, build_attack, is_blackbox, takes_seed
from limeguard.attacks.pgd import PGD, cw_margin_loss, fgsm, fgsm_rs, model_mode
from limeguard.attacks.square import SquareLinf

__all__ = [
    "ATTACKS",
    "Attack",
    "AutoAttackLinf",
    "PGD",
    "SquareLinf",
    "build_attack",
    "cw_margin_loss",
    "fgsm",
    "fgsm_rs",
    "is_blackbox",
    "model_mode",
    "takes_seed",
]
