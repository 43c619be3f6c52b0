"""``params:data.source``: which images, from where, at what size and channel count."""

from __future__ import annotations

from dataclasses import dataclass

from limeguard.config import ConfigError, check_int_range

SOURCES = ("torchvision_files", "download", "jpeg_mirror")
DATASETS = ("cifar10", "cifar100")
OTHER_DATASETS = ("image_folder", "fashion_mnist")  # read by images/folder.py and images/idx.py
IDX_SOURCES = ("torchvision_files", "download", "idx_folder")  # fashion_mnist's sources
NATIVE_SHAPE = {"cifar10": (3, 32), "cifar100": (3, 32), "fashion_mnist": (1, 28),
                "image_folder": (3, None)}  # (channels, side) when data.source leaves them null


class DataSourceError(RuntimeError):
    """No configured source could provide the data, or a source's files are damaged."""


@dataclass(frozen=True)
class SourceConfig:
    """``params:data.source``.

    Attributes:
        dataset: ``cifar10``, ``cifar100``, ``fashion_mnist`` or ``image_folder``.
        order: sources tried in order; see :data:`SOURCES` (``fashion_mnist``: :data:`IDX_SOURCES`).
        root: folder holding torchvision's files (``cifar-10-batches-py/`` ...), download target.
        mirror_archive: the JPEG q75 mirror tarball (CIFAR-10 only), read in place.
        mirror_checksums: ``SHA256SUMS`` file listing the archive's sha256.
        download_url: torchvision's archive URL (fashion_mnist: its mirror's base URL); null uses
            torchvision's own.
        download_md5: the archive's md5; null uses torchvision's own.
        verify_checksums: check torchvision's files against torchvision's md5 list.
        folder: ``image_folder``: one sub-folder per class; ``fashion_mnist``: the offline copy
            of the four IDX files with its ``SHA256SUMS`` (source ``idx_folder``).
        image_size: side in px the images are resized to (square); null: the dataset's own
            (CIFAR 32, Fashion-MNIST 28; required for ``image_folder``).
        channels: 1 (grayscale) or 3 (RGB); null: the dataset's own (Fashion-MNIST 1, else 3).
        test_fraction: ``image_folder``: share of each class held out as the test pool (not used
            when the folder holds ``train/`` and ``test/``: a given split).
        decoded_cache: folder keeping the JPEG mirror's decoded pixels, keyed by the archive's
            sha256 (``images/decoded_cache.py``); ``auto``: ``$LIMEGUARD_CACHE_DIR``, else
            ``$XDG_CACHE_HOME/limeguard``, else ``~/.cache/limeguard``; null decodes every run.
    """

    dataset: str = "cifar10"
    order: tuple[str, ...] = SOURCES
    root: str = "data/01_raw"
    mirror_archive: str = "../shared/datasets/cifar10-jpeg/cifar10_jpg.tar.gz"
    mirror_checksums: str = "../shared/datasets/cifar10-jpeg/SHA256SUMS"
    download_url: str | None = None
    download_md5: str | None = None
    verify_checksums: bool = True
    folder: str | None = None
    image_size: int | None = None
    channels: int | None = None
    test_fraction: float = 0.2
    decoded_cache: str | None = "auto"

    def __post_init__(self) -> None:
        known = DATASETS + OTHER_DATASETS
        if self.dataset not in known:
            raise ConfigError(f"data.source.dataset: unknown {self.dataset!r}; use one of {known}")
        allowed = IDX_SOURCES if self.dataset == "fashion_mnist" else SOURCES
        unknown = [s for s in self.order if s not in allowed]
        if self.dataset != "image_folder" and (unknown or not self.order):
            raise ConfigError(f"data.source.order: unknown or empty {unknown or '[]'} for "
                              f"{self.dataset}; use {allowed}")
        _check_shape_keys(self)

    @property
    def shape(self) -> tuple[int, int, int] | None:
        """(C, H, W) of the images this source yields; None where only the data can tell."""
        channels, side = NATIVE_SHAPE[self.dataset]
        side = self.image_size or side
        return None if side is None else (self.channels or channels, side, side)


def _check_shape_keys(cfg: SourceConfig) -> None:
    if cfg.channels is not None and cfg.channels not in (1, 3):
        raise ConfigError(f"data.source.channels: 1 (grayscale) or 3 (RGB), got {cfg.channels!r}")
    if cfg.image_size is not None:
        check_int_range("data.source.image_size", cfg.image_size, 8, 4096)
    if cfg.dataset in DATASETS and (cfg.image_size, cfg.channels) not in ((None, None), (32, 3)):
        raise ConfigError("data.source.image_size / channels: CIFAR is read as it is (32 px, RGB); "
                          "leave them null")
    if cfg.dataset == "image_folder":
        if not cfg.folder:
            raise ConfigError("data.source.folder: required for image_folder (one sub-folder "
                              "per class)")
        if cfg.image_size is None:
            raise ConfigError("data.source.image_size: required for image_folder (the side in "
                              "px every image is resized to)")
    if not 0.0 < cfg.test_fraction < 1.0:
        raise ConfigError(f"data.source.test_fraction: must be in (0, 1), got {cfg.test_fraction}")
