"""Mining precision and recall against a known cue."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from limeguard.explain.groundtruth import cue_recovery


def grid_segments(n: int) -> torch.Tensor:
    """(n, 8, 8): four 4x4 superpixels per image, ids 0..3 row-major."""
    rows = torch.arange(8)[:, None] // 4
    cols = torch.arange(8)[None, :] // 4
    return (2 * rows + cols).expand(n, 8, 8).clone()


def table(flags: dict[str, list[list[bool]]], ids: list[int]) -> pd.DataFrame:
    rows = []
    for n, image_id in enumerate(ids):
        for s in range(4):
            rows.append({"image_id": image_id, "segment_id": s,
                         **{c: flags[c][n][s] for c in flags}})
    return pd.DataFrame(rows)


def test_exact_partial_and_chance() -> None:
    ids = [10, 11]
    segments = grid_segments(2)
    cue = torch.zeros(2, 8, 8, dtype=torch.bool)
    cue[0, :4, :4] = True                                   # image 10: its cue is superpixel 0
    flags = {
        "irrelevant": [[True, False, False, False], [False] * 4],   # exactly the cue
        "sensitive": [[True] * 4, [True] * 4],                     # everything
        "unstable": [[False, True, False, False], [False] * 4],    # the wrong superpixel
        "spurious": [[True, True, False, False], [False] * 4],     # cue plus one more
    }
    out = cue_recovery(table(flags, ids), segments, torch.tensor(ids), cue)
    crit = out["criteria"]
    assert out["n_cued_images"] == 1 and out["cue_pixels"] == 16
    assert crit["irrelevant"] == {"precision": 1.0, "recall": 1.0, "flagged_share": 16 / 128,
                                  "flagged_share_cued": 16 / 64, "flagged_share_uncued": 0.0,
                                  "detected": 1.0}
    assert crit["sensitive"]["flagged_share_uncued"] == 1.0
    assert out["n_uncued_images"] == 1 and out["notes"] == {"sensitive": "flags everything"}
    assert crit["sensitive"]["recall"] == 1.0
    assert crit["sensitive"]["precision"] == pytest.approx(out["chance_precision"])
    assert crit["unstable"]["recall"] == 0.0 and crit["unstable"]["detected"] == 0.0
    assert crit["spurious"]["precision"] == 0.5 and crit["spurious"]["recall"] == 1.0


def test_nothing_flagged_has_undefined_precision() -> None:
    ids = [1]
    cue = torch.zeros(1, 8, 8, dtype=torch.bool)
    cue[0, 4:, 4:] = True
    out = cue_recovery(table({"spurious": [[False] * 4]}, ids), grid_segments(1),
                       torch.tensor(ids), cue)
    assert math.isnan(out["criteria"]["spurious"]["precision"])
    assert out["criteria"]["spurious"]["recall"] == 0.0
    assert math.isnan(out["criteria"]["spurious"]["flagged_share_uncued"])  # no uncued image
    assert out["notes"] == {"spurious": "flags nothing"}


def test_mismatched_inputs_are_named() -> None:
    ids = [1]
    with pytest.raises(ValueError, match="cue mask shape"):
        cue_recovery(table({"spurious": [[False] * 4]}, ids), grid_segments(1), torch.tensor(ids),
                     torch.zeros(1, 4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="image_id 1"):
        cue_recovery(table({"spurious": [[False] * 4]}, ids), grid_segments(1), torch.tensor([2]),
                     torch.zeros(1, 8, 8, dtype=torch.bool))
