"""``fashion_mnist``: the four IDX files, tried in a configured order: torchvision's files under
``root``, torchvision's download, the offline copy (``folder``, checked against its SHA256SUMS).

IDX is a big-endian header (magic, dimension sizes) followed by uint8 values, read with numpy: nothing
is unpickled. The offline copy is checked against its own ``SHA256SUMS``, not torchvision's MD5s
of the compressed files (its gzip wrappers were re-made: see its README).
"""

from __future__ import annotations

import gzip
import logging
import tempfile
from pathlib import Path

import numpy as np
import torch

from limeguard.images.imageset import ImageSet, from_uint8_nhwc
from limeguard.images.source_config import DataSourceError, SourceConfig
from limeguard.images.sources import _Unavailable, first_available, verify_sha256

log = logging.getLogger(__name__)

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
_NOTES = {"idx_folder": "offline IDX copy, sha256-checked", "torchvision_files": "torchvision's files"}
_MAGIC = {3: 0x00000803, 1: 0x00000801}  # uint8 data, number of dimensions


def read_idx(path: Path, dims: int) -> np.ndarray:
    """The uint8 array of an IDX file (``.gz`` or plain) with ``dims`` dimensions.

    Raises:
        DataSourceError: a bad header, or fewer bytes than the header promises (names the file).
    """
    try:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise DataSourceError(f"{path}: unreadable or truncated IDX file ({err})") from err
    header = 4 + 4 * dims
    if len(data) < header or int.from_bytes(data[:4], "big") != _MAGIC[dims]:
        raise DataSourceError(f"{path}: not a {dims}-d uint8 IDX file (bad magic number)")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    if len(data) - header != int(np.prod(shape)):
        raise DataSourceError(f"{path}: truncated IDX file ({len(data) - header} values, the "
                              f"header promises {shape})")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


def read_idx_pair(folder: Path, split: str, source: str, suffix: str = "") -> ImageSet:
    """The ``split`` images and labels of the IDX files in ``folder`` (names + ``suffix``)."""
    images_file, labels_file = (folder / (name + suffix) for name in FILES[split])
    pixels, labels = read_idx(images_file, 3), read_idx(labels_file, 1)
    if len(pixels) != len(labels) or labels.size and labels.max() >= len(FASHION_CLASSES):
        raise DataSourceError(f"{labels_file}: {len(labels)} labels (max {labels.max(initial=0)}) "
                              f"for {len(pixels)} images in {images_file.name}")
    meta = {"source": source, "split": split, "dataset": "fashion_mnist",
            "note": f"Fashion-MNIST ({_NOTES[source]})"}
    return ImageSet(from_uint8_nhwc(pixels[..., None]), torch.as_tensor(labels, dtype=torch.long),
                    torch.arange(len(labels), dtype=torch.long), FASHION_CLASSES, meta)


def read_idx_folder(cfg: SourceConfig) -> tuple[ImageSet, ImageSet]:
    """The offline copy: the four ``.gz`` files, each checked against the folder's SHA256SUMS."""
    if not cfg.folder or not Path(cfg.folder).is_dir():
        raise _Unavailable(f"{cfg.folder} does not exist (data.source.folder)")
    folder = Path(cfg.folder)
    sums = folder / "SHA256SUMS"
    if not sums.is_file():
        raise DataSourceError(f"{sums}: checksum file missing; refusing unverified IDX files")
    for names in FILES.values():
        for name in names:
            verify_sha256(folder / f"{name}.gz", sums)
    return (read_idx_pair(folder, "train", "idx_folder", ".gz"),
            read_idx_pair(folder, "test", "idx_folder", ".gz"))


def read_torchvision_idx(cfg: SourceConfig) -> tuple[ImageSet, ImageSet]:
    """torchvision's decompressed files under ``root/FashionMNIST/raw/``."""
    folder = Path(cfg.root) / "FashionMNIST" / "raw"
    if not all((folder / name).is_file() for names in FILES.values() for name in names):
        raise _Unavailable(f"{folder} does not hold torchvision's four IDX files")
    return (read_idx_pair(folder, "train", "torchvision_files"),
            read_idx_pair(folder, "test", "torchvision_files"))


def download_idx(cfg: SourceConfig) -> tuple[ImageSet, ImageSet]:
    """torchvision's download (its md5-checked archives; ``download_url`` replaces its mirrors)
    into ``root``, then the reader of torchvision's files."""
    from torchvision.datasets import FashionMNIST

    mirrors = [cfg.download_url] if cfg.download_url else FashionMNIST.mirrors
    fetcher = type("FashionMNISTFrom", (FashionMNIST,), {"mirrors": mirrors})
    Path(cfg.root).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cfg.root, prefix=".download-") as tmp:
        try:
            fetcher(tmp, train=True, download=True)
        except Exception as err:  # noqa: BLE001 - any network or archive failure: unavailable
            raise _Unavailable(f"download from {mirrors} failed: {type(err).__name__}: "
                               f"{err}") from err
        raw = Path(cfg.root) / "FashionMNIST" / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        for names in FILES.values():
            for name in names:
                (Path(tmp) / "FashionMNISTFrom" / "raw" / name).replace(raw / name)
    return read_torchvision_idx(cfg)


def load_fashion_mnist(cfg: SourceConfig) -> tuple[ImageSet, ImageSet]:
    """Try each source in ``cfg.order``; the first that has the files wins.

    Raises:
        DataSourceError: every source failed (each listed with why), or a file is damaged.
    """
    readers = {"torchvision_files": read_torchvision_idx, "download": download_idx,
               "idx_folder": read_idx_folder}
    loaded, failures = first_available(readers, cfg)
    if loaded is not None:
        return loaded
    raise DataSourceError("no source could provide fashion_mnist. Tried, in order:\n"
                          + "\n".join(failures) + "\nPoint data.source.folder at the offline "
                          "copy (four IDX .gz files and their SHA256SUMS), or allow the download.")
