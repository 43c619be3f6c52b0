"""safetensors bytes that depend on their content only.

``safetensors.torch.save`` keeps the header metadata in a Rust ``HashMap``, so its keys come out in
an order that changes from one process to the next, and two runs that computed the same tensors
wrote different files. :func:`dump` writes the metadata keys sorted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import torch

# the key of a tensor dict's JSON metadata (``TensorsDataset`` writes it as the file's header)
META_KEY = "__meta__"
_LENGTH_BYTES = 8  # the header's length, little-endian u64, starts the file
_ALIGN = 8  # safetensors pads its header with spaces to a multiple of 8 bytes


def dump(tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str] | None = None) -> bytes:
    """``safetensors.torch.save(tensors, metadata)`` with the metadata keys in sorted order."""
    from safetensors.torch import save

    return sorted_header(save(dict(tensors), metadata=dict(metadata) if metadata else None))


def sorted_header(blob: bytes) -> bytes:
    """``blob`` (a safetensors file) with its ``__metadata__`` keys sorted; tensors untouched."""
    length = int.from_bytes(blob[:_LENGTH_BYTES], "little")
    header = json.loads(blob[_LENGTH_BYTES:_LENGTH_BYTES + length])
    metadata = header.pop("__metadata__", None)
    ordered = ({"__metadata__": dict(sorted(metadata.items()))} if metadata else {}) | header
    text = json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % _ALIGN)
    return len(text).to_bytes(_LENGTH_BYTES, "little") + text + blob[_LENGTH_BYTES + length:]
