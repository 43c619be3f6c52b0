"""Nodes of the ``rounds`` pipeline: attribution-guided refinement rounds and the matched control.

Thin adapters over :mod:`limeguard.refinement.rounds`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from torch import nn

from limeguard.config import from_params
from limeguard.images.imageset import ImageSet
from limeguard.refinement.rounds import parse_rounds, run_control, run_round
from limeguard.runtime import RuntimeConfig


def refine_round(
    previous: nn.Module, train: ImageSet, val: ImageSet, masks: dict[str, Any],
    rounds: dict[str, Any], runtime: dict[str, Any], cue: dict[str, Any] | None = None, *,
    round_index: int, dag_rounds: int, **earlier_masks: dict[str, Any],
) -> tuple[nn.Module, pd.DataFrame, dict[str, Any]]:
    """Round ``round_index``: the previous round's model refined against its mined (or the
    oracle's) spurious features. ``earlier_masks``: the masks mined before the previous round's."""
    run = from_params(RuntimeConfig, runtime, "runtime")
    cfg = parse_rounds(rounds, dag_rounds).for_run(run.seed)
    return run_round(previous, train, val, masks, cfg, run, cue, round_index=round_index,
                     earlier=list(earlier_masks.values()))


def train_control(
    adversarial: nn.Module, train: ImageSet, val: ImageSet, masks: dict[str, Any],
    rounds: dict[str, Any], runtime: dict[str, Any], cue: dict[str, Any] | None = None, *,
    dag_rounds: int,
) -> tuple[nn.Module, pd.DataFrame]:
    """The matched control: the adversarial baseline continued for the rounds' segments with
    their recipe and selection rule, without any refinement term."""
    run = from_params(RuntimeConfig, runtime, "runtime")
    cfg = parse_rounds(rounds, dag_rounds).for_run(run.seed)
    return run_control(adversarial, train, val, masks, cfg, run, cue)
