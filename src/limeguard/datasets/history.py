"""Kedro dataset for a training history: the CSV without wall times, and the wall times beside it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from limeguard.atomic import write_atomically
from limeguard.timings import TIMING_COLUMNS

KEY_COLUMNS = ("epoch", "segment")  # identify a row of the timings (segment: the matched control)


class HistoryDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """One row per epoch in ``filepath`` (CSV); its :data:`TIMING_COLUMNS` go to
    ``<stem without _history>_timings.json`` instead, so that the CSV depends on the run's inputs
    only. ``load`` reads the CSV alone: no stage depends on a wall time."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    @property
    def timings_path(self) -> Path:
        stem = self._filepath.stem.removesuffix("_history")
        return self._filepath.with_name(f"{stem}_timings.json")

    def load(self) -> pd.DataFrame:
        try:
            return pd.read_csv(self._filepath)
        except (OSError, ValueError) as err:
            raise DatasetError(f"{self._filepath}: not a readable history ({err})") from err

    def save(self, data: pd.DataFrame) -> None:
        timed = [c for c in TIMING_COLUMNS if c in data]
        keys = [c for c in KEY_COLUMNS if c in data]
        timings = data[keys + timed].to_dict(orient="records")
        write_atomically(self.timings_path, json.dumps(timings, indent=1).encode())
        write_atomically(self._filepath, data.drop(columns=timed).to_csv(index=False).encode())

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
