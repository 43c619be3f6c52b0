"""``ModelCheckpointDataset``: the only catalog entry point that reads or writes models."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractDataset
from torch import nn


class ModelCheckpointDataset(AbstractDataset[nn.Module, nn.Module]):
    """A model as a self-describing safetensors checkpoint (see ``limeguard.models.checkpoint``).

    ``save`` writes atomically the model, its spec and its ``checkpoint_metadata`` dict (if the node
    set one, e.g. ``model.checkpoint_metadata = {"epoch": 3}``); ``load`` rebuilds the model on CPU,
    in eval mode, with ``spec`` and ``checkpoint_metadata`` set. Nothing is ever unpickled.

    Example catalog entry::

        "{namespace}.model":
          type: limeguard.datasets.model_checkpoint.ModelCheckpointDataset
          filepath: data/06_models/{namespace}/model.safetensors
    """

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        """Args:
        filepath: local path of the checkpoint (``.safetensors`` by convention).
        metadata: Kedro's free-form dataset metadata (for kedro-viz and plugins); it is not
            written into the checkpoint.
        """
        self._filepath = PurePosixPath(Path(filepath).expanduser().as_posix())
        self.metadata = metadata

    def load(self) -> nn.Module:
        from limeguard.models.checkpoint import load_model

        return load_model(Path(self._filepath), map_location="cpu")

    def save(self, data: nn.Module) -> None:
        from limeguard.models.checkpoint import save_model

        if not isinstance(data, nn.Module):
            raise TypeError(f"expected a torch.nn.Module, got {type(data).__name__}")
        save_model(data, Path(self._filepath))

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()
