"""The estimated attribution-aware bound on adversarial distortion (METHOD.md stage 4).

Library code (never imports Kedro). Entry point: :func:`attribution_bound` with a
:class:`BoundConfig`.
"""

from limeguard.bound.config import BoundConfig
from limeguard.bound.distortion import minimal_distortion, pgd_breaks
from limeguard.bound.estimate import COLUMNS, BoundResult, attribution_bound
from limeguard.bound.lipschitz import ball_points, estimate_lipschitz, margins, split_dual_norms
from limeguard.bound.summary import correlation, summarize_bound

__all__ = [
    "COLUMNS",
    "BoundConfig",
    "BoundResult",
    "attribution_bound",
    "ball_points",
    "correlation",
    "estimate_lipschitz",
    "margins",
    "minimal_distortion",
    "pgd_breaks",
    "split_dual_norms",
    "summarize_bound",
]
