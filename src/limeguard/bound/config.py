"""``BoundConfig``: the estimated attribution-aware bound (METHOD.md stage 4), validated."""

from __future__ import annotations

from dataclasses import dataclass

from limeguard.config import ConfigError, check_int_range, check_real_range, check_seed


@dataclass(frozen=True)
class BoundConfig:
    """``params:bound`` in Kedro; every ε in pixel units of 1/255.

    Attributes:
        eps_255: radius of the L∞ ball in which the local Lipschitz constants are estimated.
        n_samples: uniform random points of the ball per image (the image itself is always a
            point too).
        pgd_points: add the end point of a CW-margin PGD in the ball (where the margin falls
            fastest) to the sample points.
        pgd_steps: steps of that PGD (step 2.5 ε / steps).
        classes_per_sample: runner-up classes (by logit at each point) whose margin gradient is
            taken; the maximum over them is kept. ``classes - 1`` covers every pairwise margin,
            which makes the bound exact (and valid) for a linear model; 1 is cheapest.
        attack_steps: PGD steps (CW margin loss, step ``step_ratio`` ε / steps) of each
            bisection probe; an image counts as broken if any iterate is misclassified.
        bisection_iters: bisection iterations on ε (precision ``max_eps_255 / 2**iters``).
        max_eps_255: upper end of the bisection; images PGD cannot break there are censored
            (``eps_empirical`` = max_eps, flagged).
        step_ratio: PGD step as ``step_ratio * ε / steps`` (Madry et al.'s 2.5).
        random_start: random start of the bisection PGD.
        batch_size: images per batch.
        seed: seed of the random points and PGD starts.
    """

    eps_255: float = 8.0
    n_samples: int = 8
    pgd_points: bool = True
    pgd_steps: int = 10
    classes_per_sample: int = 1
    attack_steps: int = 20
    bisection_iters: int = 8
    max_eps_255: float = 32.0
    step_ratio: float = 2.5
    random_start: bool = True
    batch_size: int = 128
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("pgd_steps", "classes_per_sample", "attack_steps", "bisection_iters",
                     "batch_size"):  # fmt: skip
            check_int_range(name, getattr(self, name), 1)
        check_int_range("n_samples", self.n_samples, 0)
        check_seed("seed", self.seed)
        for name, high in (("eps_255", 255.0), ("max_eps_255", 255.0), ("step_ratio", 100.0)):
            check_real_range(name, getattr(self, name), 0.0, high, low_open=True)
        for name in ("pgd_points", "random_start"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name}: expected true or false, got {getattr(self, name)!r}")

    @property
    def eps(self) -> float:
        """Sampling radius in raw pixel scale [0, 1]."""
        return self.eps_255 / 255

    @property
    def max_eps(self) -> float:
        """Bisection upper end in raw pixel scale."""
        return self.max_eps_255 / 255

