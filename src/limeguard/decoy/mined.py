"""The arms without annotations, fine-tuning the vanilla model. Ours (``mined``): mine the vanilla
model on the probe images (the transplant miner), search the mined shortcut on every training image
(``explain.transfer``), fine-tune with the refinement loss on those masks; each further round mines
the refined model again (masks accumulated over rounds, as ``refinement.rounds`` does). The paper's
(``paper``): the same loop with ``rounds.arms.paper``'s mining (the union of its LIME criteria,
class masks) and its ``decoy.paper`` refinement terms."""

from __future__ import annotations

import copy
import logging
import time
from typing import Any

import torch
from torch import nn

from limeguard.decoy.arms import fit
from limeguard.decoy.config import REFINED_ARMS, DecoyParams, MinedRefinement
from limeguard.decoy.data import DecoySets, swatch_masks
from limeguard.explain.config import MineParams
from limeguard.explain.groundtruth import mask_recovery
from limeguard.explain.mining import mine_spurious
from limeguard.explain.transfer import refinement_masks
from limeguard.refinement.loss import RefinementLoss
from limeguard.refinement.rounds import accumulated_masks, training_masks
from limeguard.refinement.training_masks import mined_masks
from limeguard.safetensors_io import META_KEY
from limeguard.training.checkpoint import model_digest, run_directory
from limeguard.training.loop import TrainResult

log = logging.getLogger(__name__)


def mine_and_transfer(model: nn.Module, sets: DecoySets, mine: MineParams,
                      device: torch.device) -> dict[str, Any]:
    """Mining's masks of the probe images, with every training image's searched mask."""
    probe = sets.probe
    result = mine_spurious(model, probe.images, probe.labels, probe.ids.tolist(), mine.mining,
                           device, num_classes=probe.num_classes)
    seg = result.segmentation
    masks = {**mined_masks(result, probe.ids, probe.labels, seg.segments, seg.n_segments),
             META_KEY: {"thresholds": result.thresholds, "degenerate_criteria": result.degenerate}}
    return refinement_masks(model, masks, sets.train, mine, device)


def refine_mined(vanilla: nn.Module, sets: DecoySets, params: DecoyParams, mine: MineParams,
                 run_seed: int, device: torch.device,
                 arm: str = "mined") -> tuple[TrainResult, list[dict[str, Any]]]:
    """``arm`` (one of :data:`REFINED_ARMS`: its section ``params.<arm>``, mining with ``mine``):
    the refined model (last round's result, histories of all rounds concatenated by the caller)
    and per round: mining and search seconds, the masks' recovery of the true swatches (probe and
    training images) and what was flagged."""
    if arm not in REFINED_ARMS:
        raise ValueError(f"arm: {arm!r} is not refined from vanilla; use one of {REFINED_ARMS}")
    cfg: MinedRefinement = getattr(params, arm)
    model, earlier, info, result = copy.deepcopy(vanilla), [], [], None
    truth = swatch_masks(sets.train, "train", params.data)
    probe_truth = swatch_masks(sets.probe, "train", params.data)
    for r in range(cfg.rounds):
        start = time.perf_counter()
        latest = mine_and_transfer(model.to(device), sets, mine, device)
        masks = accumulated_masks(latest, earlier) if cfg.accumulate_masks else latest
        earlier.append(latest)
        applied, sensitivity = training_masks(sets.train, masks, cfg.refine, None)
        seconds = time.perf_counter() - start
        train_cfg = cfg.train.for_run(run_seed)
        loss = RefinementLoss(cfg.refine, applied, sensitivity, attack=train_cfg.attack)
        checkpoint = run_directory(params.checkpoint_root, arm, r, run_seed, sets.train,
                                   {"train": repr(train_cfg), "refine": repr(cfg.refine),
                                    "start": model_digest(model), "masks": float(applied.sum())})
        result = fit(model, sets.train, sets.probe, train_cfg, device, checkpoint, loss)
        model = result.model
        info.append({"round": r + 1, "mining_seconds": seconds,
                     "train_seconds": float(result.history["seconds"].sum()),
                     "probe_masks": mask_recovery(masks["pixel_masks"].bool(), probe_truth),
                     "training_masks": mask_recovery(applied[:, 0] > 0.5, truth),
                     "transfer": dict(masks.get(META_KEY, {}).get("transfer", {})),
                     "thresholds": dict(masks.get(META_KEY, {}).get("thresholds", {}))})
        log.info("decoy %s round %d (seed %d): training masks precision %.3f recall %.3f", arm,
                 r + 1, run_seed, info[-1]["training_masks"]["precision"],
                 info[-1]["training_masks"]["recall"])
    return result, info
