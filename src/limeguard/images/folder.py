"""``image_folder``: the user's own images, one sub-folder per class (torchvision's ImageFolder layout).

Two layouts, told apart by the folder itself (``meta['layout']``, in the data manifest):
``<root>/<class>/...``, whose classes are split into a train and a test pool by a hash of each
image's path (so adding images to a class keeps the others' pool), or a given split,
``<root>/train/<class>/...`` and ``<root>/test/<class>/...`` with the same classes, read as the
train and test pools. Images are read with Pillow (never unpickled), converted to the configured
channel count and resized (squashed, not cropped) to ``image_size`` x ``image_size``; what was
converted is recorded in ``meta['conversions']`` (JSON) for the data manifest. Any bad input stops
here, before anything trains, with an error naming the file or folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from limeguard.images.imageset import ImageSet, from_uint8_nhwc
from limeguard.images.source_config import DataSourceError, SourceConfig

log = logging.getLogger(__name__)

# torchvision's IMG_EXTENSIONS: what ImageFolder accepts
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
SPLIT_FOLDERS = ("train", "test")
CLASS_LAYOUT, SPLIT_LAYOUT = "one folder per class", "train/ and test/ folders"


def read_image_folder(cfg: SourceConfig) -> tuple[ImageSet, ImageSet]:
    """The train and test pools of ``cfg.folder`` at ``cfg.shape``.

    With ``train/`` and ``test/`` (:func:`given_split`), those are the pools and
    ``cfg.test_fraction`` is not used.

    Raises:
        DataSourceError: a missing folder, fewer than two classes, an empty class folder, a
            non-image file, an unreadable or truncated image, a class with one image (one per
            split folder in a given split), or ``train/`` and ``test/`` with different classes
            (each names the path).
    """
    root = Path(cfg.folder)
    files, in_test = split_files(root) if given_split(root) else (class_files(root), None)
    channels, side, _ = cfg.shape
    classes = tuple(files)
    pixels, conversions = [], Counter()
    for cls in classes:
        for path in files[cls]:
            array, done = read_image(path, channels, side)
            pixels.append(array)
            conversions.update(done)
    labels = np.repeat(np.arange(len(classes)), [len(files[c]) for c in classes])
    paths = [p for c in classes for p in files[c]]
    if in_test is None:
        test = held_out(paths, labels, root, cfg.test_fraction)
    else:
        test = np.array([p in in_test for p in paths], dtype=bool)
    meta = {"dataset": "image_folder", "folder": str(root),
            "layout": CLASS_LAYOUT if in_test is None else SPLIT_LAYOUT,
            "note": f"image folder {root} ({len(paths)} images, {len(classes)} classes)",
            "conversions": json.dumps(_summary(conversions, len(paths), channels, side),
                                      sort_keys=True)}
    images = ImageSet(from_uint8_nhwc(np.stack(pixels)), torch.as_tensor(labels, dtype=torch.long),
                      torch.arange(len(paths), dtype=torch.long), classes,
                      {"source": "image_folder", **meta})
    log.info("image folder %s: %d images, %d classes, %d held out for test", root, len(paths),
             len(classes), int(test.sum()))
    return (images.subset(np.flatnonzero(~test), split="train"),
            images.subset(np.flatnonzero(test), split="test"))


def given_split(root: Path) -> bool:
    """Whether ``root`` holds ``train/`` and ``test/``, each with sub-folders (the classes).

    Raises:
        DataSourceError: other folders beside ``train/`` and ``test/`` (naming them).
    """
    if not all((root / name).is_dir() and _subfolders(root / name) for name in SPLIT_FOLDERS):
        return False
    others = [p.name for p in _subfolders(root) if p.name not in SPLIT_FOLDERS]
    if others:
        raise DataSourceError(f"{root}: holds train/ and test/ (a given split) and also {others}; "
                              "move those into train/<class>/ or test/<class>/, or out")
    return True


def split_files(root: Path) -> tuple[dict[str, list[Path]], set[Path]]:
    """Class name -> its image files in ``train/`` then ``test/``, and the set of test files.

    Raises:
        DataSourceError: the two hold different classes (naming both folders and the classes).
    """
    train, test = (class_files(root / name, min_images=1) for name in SPLIT_FOLDERS)
    if set(train) != set(test):
        raise DataSourceError(
            f"{root / 'test'}: class folders {sorted(test)} differ from those of "
            f"{root / 'train'} {sorted(train)}; both need the same classes "
            f"(only in train: {sorted(set(train) - set(test))}, "
            f"only in test: {sorted(set(test) - set(train))})")
    return {c: train[c] + test[c] for c in train}, {p for c in test for p in test[c]}


def _subfolders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def class_files(root: Path, min_images: int = 2) -> dict[str, list[Path]]:
    """Class name -> its image files (sorted, sub-folders included, hidden entries skipped);
    each class needs ``min_images`` (2: one to train on, one held out)."""
    if not root.is_dir():
        raise DataSourceError(f"{root}: image folder does not exist (data.source.folder)")
    folders = _subfolders(root)
    if len(folders) < 2:
        raise DataSourceError(f"{root}: found {len(folders)} class folder(s) "
                              f"{[p.name for p in folders]}; a classifier needs at least two "
                              "(one sub-folder per class)")
    files = {}
    for folder in folders:
        entries = sorted(p for p in folder.rglob("*") if p.is_file()
                         and not any(part.startswith(".") for part in p.relative_to(root).parts))
        others = [p for p in entries if p.suffix.lower() not in IMAGE_EXTENSIONS]
        if others:
            raise DataSourceError(f"{others[0]}: not an image file (extension "
                                  f"{others[0].suffix or 'none'!r}; images are "
                                  f"{', '.join(IMAGE_EXTENSIONS)}); move it out of {folder}")
        if not entries:
            raise DataSourceError(f"{folder}: empty class folder (no image files)")
        if len(entries) < min_images:
            raise DataSourceError(f"{folder}: class has {len(entries)} image; it needs at least "
                                  "two (one for training, one held out for testing)")
        files[folder.name] = entries
    return files


def read_image(path: Path, channels: int, side: int) -> tuple[np.ndarray, list[str]]:
    """(side, side, channels) uint8 pixels of one image and what was converted."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()  # decodes every byte: a truncated file raises here
            size, mode = img.size, img.mode
            target = "L" if channels == 1 else "RGB"
            converted = img.convert(target) if mode != target else img.copy()
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError,
            Image.DecompressionBombError) as err:
        raise DataSourceError(f"{path}: unreadable or truncated image ({err})") from err
    done = [] if mode == target else [f"mode {mode}->{target}"]
    if size != (side, side):
        converted = converted.resize((side, side), Image.Resampling.BILINEAR)
        done.append(f"resized from {size[0]}x{size[1]}")
    pixels = np.asarray(converted, dtype=np.uint8)
    return pixels.reshape(side, side, channels), done


def held_out(paths: list[Path], labels: np.ndarray, root: Path, fraction: float) -> np.ndarray:
    """(N,) bool: per class, the ``max(1, round(fraction * n))`` images (at most n - 1) whose
    relative path ranks first under a hash: the test pool."""
    keys = np.array([_rank(p.relative_to(root).as_posix()) for p in paths])
    test = np.zeros(len(paths), dtype=bool)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        count = min(max(1, round(fraction * len(members))), len(members) - 1)
        test[members[np.argsort(keys[members], kind="stable")[:count]]] = True
    return test


def class_folder(meta: dict[str, str], name: str) -> Path:
    """The folder of class ``name`` in the split ``meta['split']`` of an image folder's pool."""
    root = Path(meta["folder"])
    return root / meta.get("split", "") / name if meta.get("layout") == SPLIT_LAYOUT else root / name


def _rank(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big")


def _summary(conversions: Counter, total: int, channels: int, side: int) -> dict:
    """What the manifest says about the conversions, e.g. ``{"mode L->RGB": 20}``."""
    return {"images": total, "target": f"{channels}x{side}x{side}",
            "converted": dict(sorted(conversions.items()))}
