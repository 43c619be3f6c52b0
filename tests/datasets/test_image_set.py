from __future__ import annotations

from pathlib import Path

import pytest
import torch
from kedro.io import DatasetError

from limeguard.datasets.image_set import ImageSetDataset
from tests.images.test_splits import pool


def test_round_trip_is_exact_and_uint8_on_disk(tmp_path: Path) -> None:
    images = pool(2, "train")
    ds = ImageSetDataset(str(tmp_path / "sub" / "train.safetensors"))
    ds.save(images)
    from safetensors.torch import load_file

    assert load_file(tmp_path / "sub" / "train.safetensors")["images"].dtype == torch.uint8
    back = ds.load()
    assert torch.equal(back.images, images.images) and torch.equal(back.ids, images.ids)
    assert back.classes == images.classes and back.meta == images.meta
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["train.safetensors"]


def test_corrupted_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"not a safetensors file")
    with pytest.raises(DatasetError, match="bad.safetensors: not a readable image set"):
        ImageSetDataset(str(path)).load()
