"""Build safetensors header bytes for tests (names → dtype, shape), laid out as real writers do."""

from __future__ import annotations

import json
import struct

from cardscan.tensors import SAFETENSORS_DTYPES


def header_bytes(tensors: dict[str, tuple[str, list[int]]], metadata: dict | None = None, pad_to: int = 8) -> bytes:
    """8-byte length + JSON header (space-padded to a multiple of `pad_to`), no data section."""
    obj: dict = {"__metadata__": metadata or {"format": "pt"}}
    offset = 0
    for name, (dtype, shape) in sorted(tensors.items()):
        n = 1
        for d in shape:
            n *= d
        size = (n * SAFETENSORS_DTYPES[dtype].bits + 7) // 8
        obj[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(obj, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % pad_to)
    return struct.pack("<Q", len(raw)) + raw


def data_size(header: bytes) -> int:
    """Bytes of the data section a header describes."""
    (n,) = struct.unpack("<Q", header[:8])
    obj = json.loads(header[8 : 8 + n])
    return max((v["data_offsets"][1] for k, v in obj.items() if k != "__metadata__"), default=0)
