"""Attack evaluation: robust accuracy per attack, ε and image, and gradient-masking checks.

Library code: never imports Kedro. Great Expectations is imported only when checks run.
"""

from limeguard.evaluation.config import (
    AttackSpec,
    EvalConfig,
    MaskingCheckConfig,
    linf_to_255,
)
from limeguard.evaluation.facts import model_facts
from limeguard.evaluation.masking import check_gradient_masking
from limeguard.evaluation.runner import evaluate_model
from limeguard.evaluation.summary import WORST_CASE, WORST_CASE_WHITEBOX, accuracy_table, summarize

__all__ = [
    "WORST_CASE",
    "WORST_CASE_WHITEBOX",
    "AttackSpec",
    "EvalConfig",
    "MaskingCheckConfig",
    "accuracy_table",
    "check_gradient_masking",
    "evaluate_model",
    "linf_to_255",
    "model_facts",
    "summarize",
]
