"""Kedro dataset for :class:`ImageSet`: uint8 NCHW on disk (safetensors), float32 [0, 1] in memory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from kedro.io import AbstractDataset, DatasetError

from limeguard.atomic import write_atomically
from limeguard.images.imageset import ImageSet, to_uint8
from limeguard.safetensors_io import dump


class ImageSetDataset(AbstractDataset[ImageSet, ImageSet]):
    """An image split as ``images`` (uint8 NCHW), ``labels`` and ``ids`` (int64) in safetensors.

    Class names and provenance travel in the safetensors metadata. Saving writes a temporary file
    and renames it, so an interrupted run never leaves a half-written split.
    """

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> ImageSet:
        from safetensors import SafetensorError
        from safetensors.torch import load_file, safe_open

        try:
            tensors = load_file(self._filepath)
            with safe_open(self._filepath, framework="pt") as fh:
                header = fh.metadata() or {}
            classes = tuple(json.loads(header["classes"]))
            meta = json.loads(header.get("meta", "{}"))
            images, labels, ids = tensors["images"], tensors["labels"], tensors["ids"]
        except (SafetensorError, KeyError, OSError, json.JSONDecodeError) as err:
            raise DatasetError(f"{self._filepath}: not a readable image set ({err})") from err
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise DatasetError(
                f"{self._filepath}: expected uint8 NCHW images, got {images.dtype} {tuple(images.shape)}"
            )
        return ImageSet(images.float().div_(255), labels.long(), ids.long(), classes, meta)

    def save(self, data: ImageSet) -> None:
        tensors = {
            "images": to_uint8(data.images).contiguous(),
            "labels": data.labels.long().contiguous(),
            "ids": data.ids.long().contiguous(),
        }
        header = {"classes": json.dumps(list(data.classes)),
                  "meta": json.dumps(data.meta, sort_keys=True)}
        write_atomically(self._filepath, dump(tensors, header))

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
