"""Safetensors headers: 8-byte little-endian length N, then N bytes of JSON describing every tensor.

Parsing is strict (known dtypes, integer shapes, contiguous data offsets matching the shape), because a header
that lies about its tensors would make every figure downstream wrong.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

from cardscan.errors import FormatError
from cardscan.tensors import SAFETENSORS_DTYPES, TensorInfo

# huggingface_hub refuses headers over 25 MB; the reference Rust crate over 100 MB. We follow the crate: DeepSeek-scale
# shards stay far below it, and anything larger is not a real checkpoint.
MAX_HEADER_BYTES = 100_000_000
LENGTH_PREFIX = 8


@dataclass(frozen=True)
class SafetensorsHeader:
    """The parsed header of one safetensors file."""

    tensors: tuple[TensorInfo, ...]
    """Every tensor in the file, in data order."""
    metadata: dict[str, str]
    """The free-form `__metadata__` map (e.g. `{"format": "pt"}`)."""
    header_length: int
    """N, the JSON length; the data section starts at 8 + N."""
    data_bytes: int
    """Bytes of the data section the header describes (max end offset)."""


def header_length(prefix: bytes, max_header: int = MAX_HEADER_BYTES) -> int:
    """Read N from the first 8 bytes; reject impossible sizes before anyone fetches them."""
    if len(prefix) < LENGTH_PREFIX:
        raise FormatError(f"file too small for a safetensors header ({len(prefix)} bytes)")
    (n,) = struct.unpack("<Q", prefix[:LENGTH_PREFIX])
    if n < 2:
        raise FormatError(f"safetensors header length {n} is too small")
    if n > max_header:
        raise FormatError(f"safetensors header is {n:,} bytes, over the {max_header:,}-byte limit")
    return n


def parse_header(
    data: bytes, *, file: str = "", file_size: int | None = None, max_header: int = MAX_HEADER_BYTES
) -> SafetensorsHeader:
    """Parse a safetensors header from the file's first 8 + N bytes (more bytes are ignored).

    `file_size`, when known, checks that the data section the header describes fits in the file.
    """
    n = header_length(data, max_header)
    raw = data[LENGTH_PREFIX : LENGTH_PREFIX + n]
    if len(raw) < n:
        raise FormatError(f"header truncated: {len(raw):,} of {n:,} bytes")
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"safetensors header is not valid UTF-8 JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise FormatError("safetensors header is not a JSON object")
    metadata = _metadata(obj.pop("__metadata__", None))
    tensors = sorted((_tensor(name, entry, file) for name, entry in obj.items()), key=lambda t: t[1])
    data_bytes = _check_layout(tensors)
    if file_size is not None and LENGTH_PREFIX + n + data_bytes > file_size:
        raise FormatError(
            f"header describes {data_bytes:,} data bytes but the file holds {file_size - LENGTH_PREFIX - n:,}"
        )
    return SafetensorsHeader(tuple(t for t, _ in tensors), metadata, n, data_bytes)


def _metadata(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise FormatError("__metadata__ must map strings to strings")
    return dict(value)


def _tensor(name: str, entry: object, file: str) -> tuple[TensorInfo, tuple[int, int]]:
    if not isinstance(entry, dict):
        raise FormatError(f"tensor {name!r}: entry is not an object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in SAFETENSORS_DTYPES:
        raise FormatError(f"tensor {name!r}: unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(_is_uint(d) for d in shape):
        raise FormatError(f"tensor {name!r}: shape must be a list of non-negative integers")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_uint(o) for o in offsets)):
        raise FormatError(f"tensor {name!r}: data_offsets must be two non-negative integers")
    begin, end = offsets
    if end < begin:
        raise FormatError(f"tensor {name!r}: data_offsets end before they begin")
    info = TensorInfo(name=name, dtype=dtype, shape=tuple(shape), nbytes=end - begin, file=file)
    expected = _expected_bytes(info)
    if expected != info.nbytes:
        raise FormatError(f"tensor {name!r}: {info.nbytes} bytes stored but {dtype} {shape} needs {expected}")
    return info, (begin, end)


def _is_uint(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _expected_bytes(t: TensorInfo) -> int:
    # Sub-byte dtypes (F4, F6) pack along the flattened tensor and round up to whole bytes.
    return (t.numel * SAFETENSORS_DTYPES[t.dtype].bits + 7) // 8


def _check_layout(tensors: list[tuple[TensorInfo, tuple[int, int]]]) -> int:
    """Data must be covered exactly: no holes, no overlaps (the safetensors rule)."""
    position = 0
    for info, (begin, end) in tensors:
        if begin != position:
            kind = "overlaps the previous tensor" if begin < position else "leaves a hole before it"
            raise FormatError(f"tensor {info.name!r} {kind} (offset {begin}, expected {position})")
        position = end
    return position
