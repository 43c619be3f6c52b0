"""``rounds``: round_1 .. round_T, each a namespaced refine -> mine, plus the matched control."""

from __future__ import annotations

import functools

from kedro.pipeline import Node, Pipeline

from limeguard.pipelines.mine.pipeline import namespaced_mining
from limeguard.pipelines.rounds.nodes import refine_round, train_control
from limeguard.pipelines.shape import configured_round_count, spurious_enabled

__all__ = ["configured_round_count", "create_pipeline"]


def model_name(round_index: int) -> str:
    """The catalog name of the model that round ``round_index`` produces (0: the AT baseline)."""
    return "adversarial_model" if round_index == 0 else f"round_{round_index}_model"


def masks_name(round_index: int) -> str:
    """The masks the model of round ``round_index`` hands to the next round (mining's, and every
    training and validation image's own)."""
    prefix = "adversarial" if round_index == 0 else f"round_{round_index}"
    return f"{prefix}.refinement_masks"


def _cue_input() -> list[str]:
    """The planted cue (oracle masks), in the planted-cue envs only."""
    return ["spurious_cue"] if spurious_enabled() else []


def round_pipeline(k: int, total: int) -> Pipeline:
    """Round ``k``: refine the previous model against the previous masks, then mine the result."""
    refine = functools.update_wrapper(
        functools.partial(refine_round, round_index=k, dag_rounds=total), refine_round)
    earlier = {f"earlier_{j}": f"earlier_masks_{j}" for j in range(k - 1)}  # accumulate_masks
    cue = {"cue": "spurious_cue"} if _cue_input() else {}
    template = Pipeline([Node(
        refine, {"previous": "previous_model", "train": "train_images", "val": "val_images",
                 "masks": "previous_masks", "rounds": "params:rounds", "runtime": "params:runtime",
                 **cue, **earlier},
        ["model", "history", "round_info"], name="refine_round",
    )])
    step = Pipeline(
        template, namespace=f"round_{k}",
        inputs={"previous_model": model_name(k - 1), "previous_masks": masks_name(k - 1),
                "train_images": "train_images", "val_images": "val_images",
                **{name: name for name in _cue_input()},
                **{f"earlier_masks_{j}": masks_name(j) for j in range(k - 1)}},
        outputs={"model": model_name(k), "history": f"round_{k}_history"},
        parameters={"params:rounds", "params:runtime"},
    )
    return step + namespaced_mining(f"round_{k}", model_name(k), transfer=k < total)


def control_pipeline(total: int) -> Pipeline:
    control = functools.update_wrapper(
        functools.partial(train_control, dag_rounds=total), train_control)
    return Pipeline([Node(
        control, ["adversarial_model", "train_images", "val_images", masks_name(0),
                  "params:rounds", "params:runtime", *_cue_input()],
        ["control_model", "control_history"], name="train_matched_control",
    )])


def create_pipeline(**kwargs) -> Pipeline:
    total = configured_round_count()
    if total == 0:
        return Pipeline([])
    return sum((round_pipeline(k, total) for k in range(1, total + 1)), control_pipeline(total))
