"""Kedro dataset for a named set of tensors (masks, segments, scores) in one safetensors file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from limeguard.atomic import write_atomically
from limeguard.safetensors_io import META_KEY, dump

__all__ = ["META_KEY", "TensorsDataset"]


class TensorsDataset(AbstractDataset[dict[str, Any], dict[str, Any]]):
    """``{name: tensor, ..., "__meta__": {json}}`` <-> one safetensors file, written atomically."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> dict[str, Any]:
        from safetensors import SafetensorError
        from safetensors.torch import load_file, safe_open

        try:
            tensors: dict[str, Any] = load_file(self._filepath)
            with safe_open(self._filepath, framework="pt") as fh:
                header = fh.metadata() or {}
            tensors[META_KEY] = json.loads(header.get("meta", "{}"))
        except (SafetensorError, OSError, json.JSONDecodeError) as err:
            raise DatasetError(f"{self._filepath}: not a readable tensors file ({err})") from err
        return tensors

    def save(self, data: dict[str, Any]) -> None:
        tensors = {k: v.detach().cpu().contiguous() for k, v in data.items() if k != META_KEY}
        header = {"meta": json.dumps(data.get(META_KEY, {}), sort_keys=True)}
        write_atomically(self._filepath, dump(tensors, header))

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
