"""Attribution-guided refinement (METHOD.md stage 2): masking, sensitivity penalty, augmentation.

Library code (never imports Kedro). Entry points: :class:`RefinementLoss` (a ``BatchLoss`` for
:func:`limeguard.training.train_model`) and :func:`refine_model` with a :class:`RefineConfig`.
"""

from limeguard.refinement.config import ABLATIONS, AUGMENTS, FILLS, MASK_SOURCES, PENALTIES, RefineConfig
from limeguard.refinement.loss import TERMS, RefinementLoss, build_refine_attack
from limeguard.refinement.masking import (
    apply_mask,
    as_mask_batch,
    check_mask_shape,
    counterfactual_donors,
    counterfactual_fill,
    fill_values,
    gaussian_blur,
)
from limeguard.refinement.penalty import input_gradient_penalty, sensitivity_penalty
from limeguard.refinement.refine import RefineResult, refine_model
from limeguard.refinement.training_masks import (
    masks_for_training_set,
    mined_masks,
    render_superpixel_scores,
    sensitivity_for_training_set,
)

__all__ = [
    "ABLATIONS",
    "AUGMENTS",
    "FILLS",
    "MASK_SOURCES",
    "PENALTIES",
    "TERMS",
    "RefineConfig",
    "RefineResult",
    "RefinementLoss",
    "apply_mask",
    "as_mask_batch",
    "build_refine_attack",
    "check_mask_shape",
    "counterfactual_donors",
    "counterfactual_fill",
    "fill_values",
    "gaussian_blur",
    "masks_for_training_set",
    "mined_masks",
    "refine_model",
    "render_superpixel_scores",
    "sensitivity_for_training_set",
    "input_gradient_penalty",
    "sensitivity_penalty",
]
