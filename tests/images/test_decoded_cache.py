"""The JPEG mirror's decoded copy: read back, the same images; decoded again whenever the copy is
not the archive's (another sha256, damaged)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from limeguard.images.decoded_cache import cached_pools
from limeguard.images.sources import (
    CIFAR10_CLASSES as CLASSES,
)
from limeguard.images.sources import (
    SourceConfig,
    load_cifar,
    read_jpeg_tarball,
    verify_sha256,
)


def _cfg(mirror: Path, cache: Path | None) -> SourceConfig:
    return SourceConfig(order=("jpeg_mirror",), mirror_archive=str(mirror),
                        mirror_checksums=str(mirror.parent / "SHA256SUMS"),
                        decoded_cache=None if cache is None else str(cache))


def _same(a, b) -> None:
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x.images, y.images) and x.images.stride() == y.images.stride()
        assert torch.equal(x.labels, y.labels) and torch.equal(x.ids, y.ids)
        assert (x.classes, x.meta) == (y.classes, y.meta)


class Decoder:
    def __init__(self, mirror: Path) -> None:
        self.mirror, self.calls = mirror, 0

    def __call__(self):
        self.calls += 1
        return read_jpeg_tarball(self.mirror, CLASSES)


def test_the_copy_gives_the_decoded_images_without_decoding(mirror_fixture, tmp_path) -> None:
    cache = str(tmp_path / "cache")
    digest = verify_sha256(mirror_fixture, mirror_fixture.parent / "SHA256SUMS")
    decoded = load_cifar(_cfg(mirror_fixture, None))
    first = load_cifar(_cfg(mirror_fixture, tmp_path / "cache"))
    assert len(list((tmp_path / "cache").glob("cifar10-jpeg-*.safetensors"))) == 1
    decode = Decoder(mirror_fixture)
    second = cached_pools(cache, "cifar10-jpeg", digest, decode)
    assert decode.calls == 0  # this archive's copy: read, not decoded
    again = cached_pools(cache, "cifar10-jpeg", digest[:16] + "0" * 48, decode)
    assert decode.calls == 1  # another archive (same file name): not this copy
    _same(decoded, first)
    _same(decoded, second)
    _same(decoded, again)


def test_a_damaged_copy_is_decoded_again_and_rewritten(mirror_fixture, tmp_path, caplog) -> None:
    cache = tmp_path / "cache"
    decoded = load_cifar(_cfg(mirror_fixture, cache))
    (copy,) = cache.iterdir()
    copy.write_bytes(copy.read_bytes()[:1000])
    with caplog.at_level("WARNING"):
        _same(decoded, load_cifar(_cfg(mirror_fixture, cache)))
    assert "not a usable decoded copy" in caplog.text
    _same(decoded, load_cifar(_cfg(mirror_fixture, cache)))  # the rewritten copy
    assert copy.stat().st_size > 1000


def test_an_unwritable_folder_only_warns(mirror_fixture, tmp_path, caplog) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with caplog.at_level("WARNING"):
        train, _ = load_cifar(_cfg(mirror_fixture, blocker / "cache"))
    assert len(train) == 60 and "could not save the decoded images" in caplog.text


def test_no_folder_decodes_every_time(mirror_fixture) -> None:
    decode = Decoder(mirror_fixture)
    for _ in range(2):
        cached_pools(None, "cifar10-jpeg", "0" * 64, decode)
    assert decode.calls == 2


@pytest.mark.parametrize("value", [None, "auto", "~/somewhere"])
def test_the_setting_parses(value) -> None:
    assert SourceConfig(decoded_cache=value).decoded_cache == value


def test_auto_is_the_env_var_then_xdg_then_home(monkeypatch, tmp_path) -> None:
    from limeguard.images.decoded_cache import cache_folder

    monkeypatch.setenv("LIMEGUARD_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_folder("auto") == tmp_path / "mine"
    monkeypatch.delenv("LIMEGUARD_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_folder("auto") == tmp_path / "xdg" / "limeguard"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_folder("auto") == tmp_path / "home" / ".cache" / "limeguard"
    assert cache_folder("~/x") == tmp_path / "home" / "x"


def test_the_fixture_mirror_has_the_same_bytes_every_time(tmp_path) -> None:
    from tests.conftest import write_jpeg_mirror

    for name in "ab":
        (tmp_path / name).mkdir()
    a = write_jpeg_mirror(tmp_path / "a" / "m.tar.gz", CLASSES, 2, 1)
    b = write_jpeg_mirror(tmp_path / "b" / "m.tar.gz", CLASSES, 2, 1)
    assert a.read_bytes() == b.read_bytes()
