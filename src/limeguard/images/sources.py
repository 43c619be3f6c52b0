"""CIFAR sources, tried in a configured order: torchvision files, download, the JPEG mirror.

Every reader returns ``(train, test)`` :class:`ImageSet` pairs whose ``meta['source']`` records where
the pixels came from. Nothing here unpickles arbitrary objects: torchvision's python batches go
through a restricted unpickler that only admits numpy arrays and builtins, after their md5 is checked.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import pickle
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from limeguard.images.decoded_cache import cached_pools
from limeguard.images.imageset import ImageSet, from_uint8_nhwc
from limeguard.images.source_config import (  # noqa: F401 - re-exported
    DATASETS,
    SOURCES,
    DataSourceError,
    SourceConfig,
)

log = logging.getLogger(__name__)

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)


def load_cifar(cfg: SourceConfig) -> tuple[ImageSet, ImageSet]:
    """Try each source in ``cfg.order``; return the first that provides the data.

    Raises:
        DataSourceError: listing every source tried, why it failed, and how to provide the data.
    """
    readers: dict[str, Callable[[SourceConfig], tuple[ImageSet, ImageSet]]] = {
        "torchvision_files": read_torchvision_files,
        "download": download_torchvision,
        "jpeg_mirror": read_jpeg_mirror,
    }
    loaded, failures = first_available(readers, cfg)
    if loaded is not None:
        return loaded
    raise DataSourceError(
        f"no source could provide {cfg.dataset}. Tried, in order:\n" + "\n".join(failures)
        + f"\nProvide the data by placing torchvision's files under {cfg.root} (e.g. "
        f"{_TV[cfg.dataset].folder}/), by allowing network access for torchvision's download, "
        "or (CIFAR-10) by pointing data.source.mirror_archive at the JPEG mirror tarball."
    )


def first_available(readers: dict[str, Callable[[SourceConfig], tuple[ImageSet, ImageSet]]],
                    cfg: SourceConfig) -> tuple[tuple[ImageSet, ImageSet] | None, list[str]]:
    """The (train, test) pools of the first reader in ``cfg.order`` that has them, else None;
    and one line per reader that could not, saying why."""
    failures = []
    for name in cfg.order:
        try:
            train, test = readers[name](cfg)
        except _Unavailable as why:
            failures.append(f"  - {name}: {why}")
            log.info("data source %s unavailable: %s", name, why)
            continue
        log.info("%s loaded from %s (%d train, %d test)", cfg.dataset, name, len(train), len(test))
        return (train, test), failures
    return None, failures


class _Unavailable(Exception):
    """A source is absent (not an error unless every source is)."""


@dataclass(frozen=True)
class _TorchvisionLayout:
    folder: str
    train: tuple[tuple[str, str], ...]  # (file name, md5)
    test: tuple[tuple[str, str], ...]
    label_key: str
    meta: tuple[str, str, str]  # (file, md5, key of class names)
    url: str
    archive_md5: str


def _tv_layout(dataset: str) -> _TorchvisionLayout:
    from torchvision.datasets import CIFAR10, CIFAR100

    tv = CIFAR10 if dataset == "cifar10" else CIFAR100
    return _TorchvisionLayout(
        tv.base_folder, tuple(map(tuple, tv.train_list)), tuple(map(tuple, tv.test_list)),
        "labels" if dataset == "cifar10" else "fine_labels",
        (tv.meta["filename"], tv.meta["md5"], tv.meta["key"]), tv.url, tv.tgz_md5,
    )


class _LazyLayouts(dict):
    def __missing__(self, key: str) -> _TorchvisionLayout:
        self[key] = _tv_layout(key)
        return self[key]


_TV = _LazyLayouts()


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Admits only what CIFAR's python batches contain: numpy arrays, dtypes and builtins."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"forbidden global {module}.{name}")
        return super().find_class(module, name)


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_batch(path: Path, md5: str | None) -> dict:
    if not path.is_file():
        raise DataSourceError(f"{path}: missing from torchvision's CIFAR folder")
    if md5 is not None and _md5(path) != md5:
        raise DataSourceError(f"{path}: md5 mismatch (damaged or not torchvision's file)")
    try:
        with path.open("rb") as fh:
            raw = _NumpyOnlyUnpickler(fh, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError) as err:
        raise DataSourceError(f"{path}: not a readable CIFAR batch ({err})") from err
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in raw.items()}


def read_torchvision_batches(
    root: Path, dataset: str, verify_md5: bool = True
) -> tuple[ImageSet, ImageSet]:
    """Read torchvision's python-format files under ``root/<folder>/`` (absent -> ``_Unavailable``)."""
    layout = _TV[dataset]
    folder = Path(root) / layout.folder
    if not folder.is_dir():
        raise _Unavailable(f"{folder} does not exist")
    meta_file, meta_md5, meta_key = layout.meta
    classes = tuple(_read_batch(folder / meta_file, meta_md5 if verify_md5 else None)[meta_key])
    sets = []
    for split, files in (("train", layout.train), ("test", layout.test)):
        parts = [_read_batch(folder / f, md5 if verify_md5 else None) for f, md5 in files]
        pixels = np.concatenate([_pixels(p, folder / f) for p, (f, _) in zip(parts, files, strict=True)])
        labels = np.concatenate([np.asarray(p[layout.label_key]) for p in parts])
        sets.append(_imageset(pixels.transpose(0, 2, 3, 1), labels, classes, split, "torchvision_files"))
    return sets[0], sets[1]


def _pixels(batch: dict, path: Path) -> np.ndarray:
    data = np.asarray(batch.get("data"))
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DataSourceError(f"{path}: expected uint8 (N, 3072) pixels, got {data.dtype} {data.shape}")
    return data.reshape(-1, 3, 32, 32)


def read_torchvision_files(cfg: SourceConfig) -> tuple[ImageSet, ImageSet]:
    return read_torchvision_batches(Path(cfg.root), cfg.dataset, cfg.verify_checksums)


def download_torchvision(cfg: SourceConfig) -> tuple[ImageSet, ImageSet]:
    """torchvision's download (md5-checked archive) into ``cfg.root``, then the safe reader."""
    from torchvision.datasets.utils import download_and_extract_archive

    layout = _TV[cfg.dataset]
    url = cfg.download_url or layout.url
    root = Path(cfg.root)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=".download-") as tmp:
        try:
            md5 = cfg.download_md5 or layout.archive_md5
            download_and_extract_archive(url, tmp, md5=md5, remove_finished=True)
        except Exception as err:  # noqa: BLE001 - any network or archive failure: unavailable
            raise _Unavailable(f"download from {url} failed: {type(err).__name__}: {err}") from err
        os.replace(Path(tmp) / layout.folder, root / layout.folder)  # complete files only
    return read_torchvision_batches(root, cfg.dataset, cfg.verify_checksums)


def _imageset(
    pixels_nhwc: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], split: str, source: str
) -> ImageSet:
    labels_t = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    ids = torch.arange(len(labels_t), dtype=torch.long)
    meta = {"source": source, "split": split}
    return ImageSet(from_uint8_nhwc(pixels_nhwc), labels_t, ids, tuple(classes), meta)


def verify_sha256(archive: Path, checksums: Path) -> str:
    """Check ``archive`` against its line in a ``SHA256SUMS`` file; return the digest."""
    expected = None
    for line in checksums.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and Path(parts[1].lstrip("*")).name == archive.name:
            expected = parts[0].lower()
    if expected is None:
        raise DataSourceError(f"{checksums}: no checksum listed for {archive.name}")
    digest = hashlib.sha256()
    with archive.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise DataSourceError(
            f"{archive}: sha256 mismatch (expected {expected[:12]}..., got "
            f"{digest.hexdigest()[:12]}...): the archive is damaged or not the mirror"
        )
    return expected


def read_jpeg_mirror(cfg: SourceConfig) -> tuple[ImageSet, ImageSet]:
    """The offline CIFAR-10 JPEG q75 mirror, read in place after its sha256 is verified (its
    decoded pixels from ``cfg.decoded_cache`` when a copy for that sha256 is there)."""
    archive, sums = Path(cfg.mirror_archive), Path(cfg.mirror_checksums)
    if cfg.dataset != "cifar10":
        raise _Unavailable("the JPEG mirror holds CIFAR-10 only")
    if not archive.is_file():
        raise _Unavailable(f"{archive} does not exist")
    if not sums.is_file():
        raise DataSourceError(f"{sums}: checksum file missing; refusing an unverified archive")
    digest = verify_sha256(archive, sums)
    return cached_pools(cfg.decoded_cache, "cifar10-jpeg", digest,
                        lambda: read_jpeg_tarball(archive, CIFAR10_CLASSES))


def read_jpeg_tarball(archive: Path, classes: tuple[str, ...]) -> tuple[ImageSet, ImageSet]:
    """Decode ``{train,test}/<class>/NNNN.jpg`` members; ids are ``class * 10**4 + NNNN``."""
    from PIL import Image

    from limeguard.runtime import progress

    found: dict[str, list[tuple[int, int, np.ndarray]]] = {"train": [], "test": []}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in progress(tar, desc=f"decode {archive.name}", unit="img"):
                key = _mirror_key(member, classes)
                if key is None:
                    continue
                split, label, number = key
                with Image.open(io.BytesIO(tar.extractfile(member).read())) as img:
                    pixels = np.asarray(img.convert("RGB"), dtype=np.uint8)
                found[split].append((label, number, pixels))
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DataSourceError(f"{archive}: corrupted or truncated archive ({err})") from err
    return tuple(_mirror_split(found[s], s, classes) for s in ("train", "test"))  # type: ignore[return-value]


def _mirror_key(member: tarfile.TarInfo, classes: tuple[str, ...]) -> tuple[str, int, int] | None:
    parts = Path(member.name).parts
    if not member.isfile() or len(parts) < 3 or not parts[-1].endswith(".jpg"):
        return None
    split, cls, name = parts[-3:]
    if split not in ("train", "test") or cls not in classes:
        return None
    return split, classes.index(cls), int(Path(name).stem)


def _mirror_split(rows: list, split: str, classes: tuple[str, ...]) -> ImageSet:
    if not rows:
        raise DataSourceError(f"JPEG mirror: no {split} images found in the archive")
    rows.sort(key=lambda r: (r[0], r[1]))
    labels = np.array([r[0] for r in rows])
    shapes = {r[2].shape for r in rows}
    if shapes != {(32, 32, 3)}:
        raise DataSourceError(f"JPEG mirror {split}: unexpected image shapes {sorted(shapes)}")
    images = _imageset(np.stack([r[2] for r in rows]), labels, classes, split, "jpeg_mirror")
    ids = torch.tensor([r[0] * 10**4 + r[1] for r in rows], dtype=torch.long)
    meta = {**images.meta, "note": "CIFAR-10 (JPEG q75 mirror)"}
    return ImageSet(images.images, images.labels, ids, images.classes, meta)
