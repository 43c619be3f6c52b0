"""A toy tuning setup (tiny net, 64 images of 12x12, 3 classes) that runs a trial in ~1 s on CPU.

Also the entry point of the worker subprocesses of the multi-worker tests.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from limeguard.config import from_params
from limeguard.images.imageset import ImageSet
from limeguard.tuning import TuneConfig, TuneData
from tests.refinement.conftest import NUM_CLASSES, images, random_masks, tiny_net

BASE: dict[str, dict[str, Any]] = {
    "refine": {"augment": "fgsm_rs", "lambda_reg": 1.0, "mask_fraction": 0.5, "fill": "blur"},
    "train": {"method": "fgsm_rs", "epochs": 2, "batch_size": 32, "lr": 0.05, "val_steps": 1,
              "val_max_images": 16, "co_guard": False},
    "mining": {},
}
SPACE = {
    "refine": {"lambda_reg": {"type": "float", "low": 0.01, "high": 10.0, "log": True},
               "mask_fraction": {"type": "float", "low": 0.1, "high": 0.9},
               "fill": {"type": "categorical", "choices": ["blur", "mean", "zero"]}},
    "train": {"epochs": {"type": "int", "low": 1, "high": 2}},
}
FAST_HEARTBEAT = {"heartbeat_s": 1, "grace_s": 2}  # a killed worker's trial is stale after 2 s


def toy_data() -> TuneData:
    tx, ty = images(64, seed=1)
    vx, vy = images(24, seed=2)
    classes = tuple(f"c{i}" for i in range(NUM_CLASSES))
    train = ImageSet(tx, ty, torch.arange(64), classes)
    val = ImageSet(vx, vy, torch.arange(1000, 1024), classes)
    probed = torch.arange(0, 64, 4)  # 16 probed training images
    masks = {"pixel_masks": random_masks(16, seed=3).to(torch.uint8),
             "class_masks": torch.full((NUM_CLASSES, 12, 12), 0.3),
             "sensitivity": torch.rand(16, 1, 12, 12, generator=torch.Generator().manual_seed(4)),
             "ids": probed, "labels": ty[probed]}
    return TuneData(tiny_net(0), train, val, masks)


def toy_config(storage: str, n_trials: int, **overrides: Any) -> TuneConfig:
    params = {"study": {"name": "toy", "storage": storage, "n_trials": n_trials},
              "objective": {"mode": "constrained", "val_images": 16, "steps": 2},
              "sampler": {"seed": 0, "n_startup_trials": 2},
              "pruner": {"kind": "median", "n_startup_trials": 1},
              "space": copy.deepcopy(SPACE)}
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(params.get(key), dict):
            params[key] = {**params[key], **value}
        else:
            params[key] = value
    return from_params(TuneConfig, params, "tune")


def run_worker(storage: str, n_trials: int, ran_path: str) -> None:
    """Subprocess entry point: one worker of the toy study on ``storage``; writes the numbers of
    the trials it ran to ``ran_path`` (JSON)."""
    import json
    import logging
    from pathlib import Path

    from limeguard.tuning import tune_refinement

    logging.basicConfig(level=logging.INFO)
    torch.set_num_threads(1)
    result = tune_refinement(toy_data(), toy_config(storage, n_trials), BASE, "cpu")
    Path(ran_path).write_text(json.dumps(list(result.ran)))


def run_hung_worker(storage: str, n_trials: int, started: str) -> None:
    """Subprocess entry point: a worker whose first trial hangs in training after touching
    ``started`` (the test then kills it with SIGKILL)."""
    import time
    from pathlib import Path

    from limeguard.tuning import objective as objective_module
    from limeguard.tuning import tune_refinement

    def hang(*args: Any, **kwargs: Any) -> None:
        Path(started).touch()
        time.sleep(600)

    objective_module.refine_model = hang
    tune_refinement(toy_data(), toy_config(storage, n_trials, study=FAST_HEARTBEAT), BASE, "cpu")
