"""The ``fashion_mnist`` source: IDX fixtures written by the tests, and the shared offline copy."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from limeguard.images.idx import FASHION_CLASSES, FILES, read_idx
from limeguard.images.load import load_pools
from limeguard.images.source_config import DataSourceError, SourceConfig
from tests.conftest import SHARED

FASHION = SHARED / "datasets" / "fashion-mnist"
NOWHERE = "http://127.0.0.1:9/"  # refused at once: the download is attempted and fails


def _idx(values: np.ndarray) -> bytes:
    magic = {3: 0x00000803, 1: 0x00000801}[values.ndim]
    dims = b"".join(int(d).to_bytes(4, "big") for d in values.shape)
    return magic.to_bytes(4, "big") + dims + values.astype(np.uint8).tobytes()


def write_idx_files(folder: Path, n_train: int = 30, n_test: int = 10, gz: bool = True) -> Path:
    """The four IDX files (``.gz`` with a SHA256SUMS, or plain as torchvision keeps them)."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    sums = []
    for split, n in (("train", n_train), ("test", n_test)):
        pixels = rng.integers(0, 256, (n, 28, 28))
        labels = np.arange(n) % 10
        for name, values in zip(FILES[split], (pixels, labels), strict=True):
            data = gzip.compress(_idx(values)) if gz else _idx(values)
            path = folder / (name + (".gz" if gz else ""))
            path.write_bytes(data)
            sums.append(f"{hashlib.sha256(data).hexdigest()}  {path.name}")
    if gz:
        (folder / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    return folder


def _cfg(tmp_path: Path, **kw) -> SourceConfig:
    base = {"dataset": "fashion_mnist", "order": ("torchvision_files", "download", "idx_folder"),
            "root": str(tmp_path / "raw"), "folder": str(tmp_path / "copy"),
            "download_url": NOWHERE}
    return SourceConfig(**{**base, **kw})


def test_offline_copy_fixture_after_download_fails(tmp_path: Path) -> None:
    write_idx_files(tmp_path / "copy")
    train, test = load_pools(_cfg(tmp_path))
    assert train.images.shape == (30, 1, 28, 28) and len(test) == 10
    assert train.classes == FASHION_CLASSES and train.labels[:3].tolist() == [0, 1, 2]
    assert train.meta["source"] == "idx_folder" and train.meta["dataset"] == "fashion_mnist"
    assert not (tmp_path / "raw" / "FashionMNIST").exists()  # the failed download left nothing


def test_torchvision_files_are_read_first(tmp_path: Path) -> None:
    write_idx_files(tmp_path / "raw" / "FashionMNIST" / "raw", gz=False)
    train, _ = load_pools(_cfg(tmp_path))
    assert train.meta["source"] == "torchvision_files" and len(train) == 30


def test_resized_to_rgb_when_asked(tmp_path: Path) -> None:
    write_idx_files(tmp_path / "copy")
    train, _ = load_pools(_cfg(tmp_path, order=("idx_folder",), image_size=32, channels=3))
    assert train.images.shape == (30, 3, 32, 32)
    assert '"channels 1->3": 30' in train.meta["conversions"]


def test_checksum_mismatch_is_named(tmp_path: Path) -> None:
    folder = write_idx_files(tmp_path / "copy")
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"tampered"))
    with pytest.raises(DataSourceError, match="t10k-labels-idx1-ubyte.gz: sha256 mismatch"):
        load_pools(_cfg(tmp_path, order=("idx_folder",)))


def test_truncated_idx_is_named(tmp_path: Path) -> None:
    folder = write_idx_files(tmp_path / "raw" / "FashionMNIST" / "raw", gz=False)
    path = folder / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DataSourceError, match="train-images-idx3-ubyte: truncated IDX file"):
        read_idx(path, 3)


def test_no_source_lists_every_attempt(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError) as err:
        load_pools(_cfg(tmp_path))
    text = str(err.value)
    assert "no source could provide fashion_mnist" in text
    assert "- download: download from ['http://127.0.0.1:9/'] failed" in text
    assert "- idx_folder:" in text and "- torchvision_files:" in text


@pytest.mark.skipif(not FASHION.is_dir(), reason="the shared Fashion-MNIST copy is not beside the checkout")
def test_shared_offline_copy(tmp_path: Path) -> None:
    train, test = load_pools(_cfg(tmp_path, order=("idx_folder",), folder=str(FASHION)))
    assert train.images.shape == (60000, 1, 28, 28) and test.images.shape == (10000, 1, 28, 28)
    assert train.labels.bincount().tolist() == [6000] * 10
    assert abs(float(train.images.mean()) - 0.2860) < 1e-3  # the statistics conf/fashion_mnist uses
