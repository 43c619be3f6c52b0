"""Square Attack (Andriushchenko et al., 2020) in L-infinity: the black-box, score-based check."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from limeguard.attacks.pgd import check_eps_255, model_mode
from limeguard.config import ConfigError


@dataclass(frozen=True)
class SquareLinf:
    """Square Attack through ``pyautoattack`` as ``attack(model, x, y) -> x_adv``.

    Uses only the model's outputs (no gradients), in eval mode (restored afterwards), under its own
    seed without touching torch's global RNG. Misclassified images are returned unchanged.

    Attributes:
        eps_255: radius in pixel units (8 means 8/255).
        n_queries: query budget per image (AutoAttack uses 5000).
        p_init: initial fraction of pixels changed per square.
        n_restarts: independent runs.
        seed: the attack's seed.
    """

    eps_255: float = 8.0
    n_queries: int = 5000
    p_init: float = 0.8
    n_restarts: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        check_eps_255(self.eps_255)
        for name in ("n_queries", "n_restarts"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name}: must be an integer >= 1, got {value!r}")
        if not 0 < self.p_init <= 1:
            raise ConfigError(f"p_init: must be in (0, 1], got {self.p_init}")

    def __call__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Adversarial images ``(N, C, H, W)`` in [0, 1] with ``|x_adv - x|_inf <= eps``."""
        from pyautoattack.square import SquareAttack

        x = x.detach()
        if self.eps_255 == 0 or len(x) == 0:
            return x.clone()
        eps = self.eps_255 / 255
        devices = [x.device] if x.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), model_mode(model, False), torch.no_grad():
            attack = SquareAttack(
                model,
                norm="Linf",
                n_queries=self.n_queries,
                eps=eps,
                p_init=self.p_init,
                n_restarts=self.n_restarts,
                seed=self.seed,
                verbose=False,
                resc_schedule=True,
                device=x.device,
            )
            x_adv = attack.perturb(x, y)
        return torch.min(torch.max(x_adv, x - eps), x + eps).clamp_(0, 1)
