"""``rounds``: per arm, round_1 .. round_T (each a namespaced refine -> mine) under the arm's
namespace, plus one matched control shared by the arms.

An arm ``<arm>`` (``rounds.arms``) is a namespace: its rounds ``<arm>.round_k``, its models
``<arm>.round_k_model`` and, when it overrides ``mine``, its own mining of the AT baseline
(``<arm>.adversarial.*``); otherwise its first round takes the run's mining of the baseline
(``adversarial.refinement_masks``). Inside it ``params:mine`` and ``params:rounds`` are
``params:arm_mine.<arm>`` and ``params:arm_rounds.<arm>`` (:class:`limeguard.hooks.ArmParameterHooks`).
The control continues the AT baseline with the rounds' recipe and selection, which no arm may
override, so one control serves them all; it selects on the run's mining of the baseline.
"""

from __future__ import annotations

import functools

from kedro.pipeline import Node, Pipeline

from limeguard.pipelines.mine.pipeline import namespaced_mining
from limeguard.pipelines.rounds.nodes import refine_round, train_control
from limeguard.pipelines.shape import configured_arms, configured_round_count, spurious_enabled

__all__ = ["arm_round_names", "configured_round_count", "create_pipeline"]


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


def arm_pipeline(arm: str, own_mining: bool, total: int) -> Pipeline:
    """The rounds of ``arm`` under its namespace (with its mining of the AT baseline first when
    ``own_mining``); data, the AT baseline and the shared mining's masks are its inputs."""
    job = sum((round_pipeline(k, total) for k in range(1, total + 1)), Pipeline([]))
    if own_mining:
        job = namespaced_mining("adversarial", model_name(0)) + job
    params = {p for p in job.inputs() if p.startswith("params:")}
    mapping = {p: p for p in params} | {
        p: f"params:arm_{p.removeprefix('params:')}.{arm}" for p in ("params:mine", "params:rounds")
        if p in params}
    return Pipeline(job, namespace=arm, inputs={n: n for n in job.inputs() - params},
                    parameters=mapping)


def arm_round_names(total: int | None = None) -> list[str]:
    """``<arm>.round_k`` for every configured arm (in conf's order) and k = 1 .. T."""
    total = configured_round_count() if total is None else total
    return [f"{arm}.round_{k}" for arm in configured_arms() for k in range(1, total + 1)]


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
    arms = configured_arms()
    return sum((arm_pipeline(arm, own, total) for arm, own in arms.items()),
               control_pipeline(total))
