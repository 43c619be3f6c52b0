"""Every CIFAR source path: torchvision files, download, the JPEG mirror, and none available."""

from __future__ import annotations

import functools
import http.server
import shutil
import tarfile
import threading
from pathlib import Path

import pytest
import torch

from limeguard.config import ConfigError
from limeguard.images.sources import (
    DataSourceError,
    SourceConfig,
    load_cifar,
    read_jpeg_tarball,
    verify_sha256,
)
from tests.conftest import MIRROR, MIRROR_SUMS, write_torchvision_cifar

UNREACHABLE = "http://127.0.0.1:9/cifar-10-python.tar.gz"


def _cfg(**kw) -> SourceConfig:
    base = dict(root="/nonexistent", mirror_archive="/nonexistent.tar.gz",
                mirror_checksums="/nonexistent.sums", download_url=UNREACHABLE, decoded_cache=None)
    return SourceConfig(**{**base, **kw})


def test_torchvision_files_cifar10(tmp_path: Path) -> None:
    write_torchvision_cifar(tmp_path, "cifar10", per_class=2)
    train, test = load_cifar(_cfg(root=str(tmp_path), verify_checksums=False))
    assert train.images.shape == (5 * 20, 3, 32, 32) and test.images.shape == (20, 3, 32, 32)
    assert train.images.dtype == torch.float32
    assert 0 <= float(train.images.min()) and float(train.images.max()) <= 1
    assert train.meta["source"] == "torchvision_files"
    assert train.classes[0] == "class_0" and sorted(set(test.labels.tolist())) == list(range(10))


def test_torchvision_files_cifar100(tmp_path: Path) -> None:
    write_torchvision_cifar(tmp_path, "cifar100", per_class=1, num_classes=100)
    train, test = load_cifar(_cfg(root=str(tmp_path), dataset="cifar100", verify_checksums=False))
    assert len(train) == len(test) == 100 and train.num_classes == 100
    assert sorted(set(train.labels.tolist())) == list(range(100))


def test_torchvision_md5_mismatch_names_the_file(tmp_path: Path) -> None:
    write_torchvision_cifar(tmp_path, "cifar10", per_class=1)
    with pytest.raises(DataSourceError, match="batches.meta: md5 mismatch"):
        load_cifar(_cfg(root=str(tmp_path)))


def test_torchvision_batch_with_foreign_pickle_is_refused(tmp_path: Path) -> None:
    folder = write_torchvision_cifar(tmp_path, "cifar10", per_class=1)
    import pickle

    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": Path("x")}))
    with pytest.raises(DataSourceError, match="data_batch_1: not a readable CIFAR batch"):
        load_cifar(_cfg(root=str(tmp_path), verify_checksums=False))


def test_torchvision_missing_batch_names_the_file(tmp_path: Path) -> None:
    folder = write_torchvision_cifar(tmp_path, "cifar10", per_class=1)
    (folder / "test_batch").unlink()
    with pytest.raises(DataSourceError, match="test_batch: missing"):
        load_cifar(_cfg(root=str(tmp_path), verify_checksums=False))


def test_download_over_loopback(tmp_path: Path) -> None:
    """The real download path (torchvision's downloader, md5 check, extraction) on a local server."""
    served = tmp_path / "served"
    write_torchvision_cifar(served, "cifar10", per_class=1)
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(served / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    import hashlib

    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/{archive.name}"
        root = tmp_path / "raw"
        train, _ = load_cifar(_cfg(root=str(root), order=("download",), download_url=url,
                                   download_md5=md5, verify_checksums=False))
    finally:
        server.shutdown()
    assert len(train) == 50 and train.meta["source"] == "torchvision_files"
    assert (root / "cifar-10-batches-py" / "data_batch_1").is_file()
    assert not [p for p in root.iterdir() if p.name.startswith(".download-")]


def test_mirror_fixture_is_read_in_place(mirror_fixture: Path) -> None:
    train, test = load_cifar(_cfg(order=("jpeg_mirror",), mirror_archive=str(mirror_fixture),
                                  mirror_checksums=str(mirror_fixture.parent / "SHA256SUMS")))
    assert len(train) == 60 and len(test) == 30
    assert train.meta == {"source": "jpeg_mirror", "split": "train", "note": "CIFAR-10 (JPEG q75 mirror)"}
    assert train.ids[0].item() == 0 and train.ids[-1].item() == 9 * 10**4 + 5


def test_mirror_checksum_mismatch(mirror_fixture: Path) -> None:
    sums = mirror_fixture.parent / "SHA256SUMS"
    sums.write_text("0" * 64 + f"  {mirror_fixture.name}\n")
    with pytest.raises(DataSourceError, match="cifar10_jpg.tar.gz: sha256 mismatch"):
        load_cifar(_cfg(order=("jpeg_mirror",), mirror_archive=str(mirror_fixture),
                        mirror_checksums=str(sums)))


def test_truncated_archive_is_reported(mirror_fixture: Path) -> None:
    data = mirror_fixture.read_bytes()
    mirror_fixture.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataSourceError, match="corrupted or truncated"):
        read_jpeg_tarball(mirror_fixture, ("airplane",))


def test_no_source_lists_every_attempt(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError) as err:
        load_cifar(_cfg(root=str(tmp_path / "raw")))
    text = str(err.value)
    for name in ("torchvision_files", "download", "jpeg_mirror"):
        assert f"- {name}:" in text
    assert "Provide the data" in text


def test_sources_fall_through_in_order(tmp_path: Path, mirror_fixture: Path) -> None:
    train, _ = load_cifar(_cfg(root=str(tmp_path / "empty"), mirror_archive=str(mirror_fixture),
                               mirror_checksums=str(mirror_fixture.parent / "SHA256SUMS")))
    assert train.meta["source"] == "jpeg_mirror"


def test_unknown_source_name() -> None:
    with pytest.raises(ConfigError, match="data.source.order"):
        SourceConfig(order=("torchvision_files", "mirorr"))


@pytest.mark.skipif(not MIRROR.is_file(), reason="the shared CIFAR-10 mirror is not beside the checkout")
def test_real_mirror_checksum() -> None:
    assert verify_sha256(MIRROR, MIRROR_SUMS).startswith("2022")


def test_mirror_unlisted_in_checksums(mirror_fixture: Path, tmp_path: Path) -> None:
    other = tmp_path / "renamed.tar.gz"
    shutil.copy(mirror_fixture, other)
    with pytest.raises(DataSourceError, match="no checksum listed for renamed.tar.gz"):
        verify_sha256(other, mirror_fixture.parent / "SHA256SUMS")
