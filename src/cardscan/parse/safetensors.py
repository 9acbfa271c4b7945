"""Safetensors headers: 8-byte little-endian length N, then N bytes of JSON describing every tensor.

Format: https://github.com/huggingface/safetensors#format. Parsing is strict (known dtypes, integer shapes,
contiguous data offsets matching the shape), because a header that lies about its tensors would make every figure
downstream wrong. It is also bounded (cardscan.parse.limits): the JSON is pre-scanned for its nesting depth and
size before the standard library's parser builds anything, and integers are refused past 20 digits.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass, replace
from typing import Any

from cardscan.errors import FormatError
from cardscan.parse.limits import (
    JSON_DEPTH,
    JSON_INT_DIGITS,
    JSON_VALUES,
    ST_HEADER_BYTES,
    ST_METADATA_KEYS,
    ST_TENSORS,
    LimitExceeded,
    check,
)
from cardscan.tensors import SAFETENSORS_DTYPES, TensorInfo

# huggingface_hub refuses headers over 25 MB and the reference Rust crate over 100 MB; we stop at the limit table's
# value, which keeps one parse within the per-repo memory budget (docs/security.md).
MAX_HEADER_BYTES = ST_HEADER_BYTES.value
LENGTH_PREFIX = 8
INT64_MAX = (1 << 63) - 1
"""Shapes, element counts and offsets are u64 in the format; anything past int64 is a lie about a real file."""

# The pre-scan works on the JSON with its strings removed, with C-speed string operations only (no Python loop per
# byte); it bounds what json may build, and json itself then does the real parse, so no JSON parser is written here.
# Without escaped quotes, quotes delimit strings exactly and splitting on them is the fast way; otherwise (and for
# big headers) a regex in which a string runs to its closing quote or to the end of the text, so every attempt that
# starts at a quote succeeds and the engine never retries from inside a string (`"\"\"\"…` was quadratic).
_SPLIT_MAX = 1 << 20
"""Up to this size a header is split on quotes (4x faster); beyond, the regex (no object per string: the split's
list would cost ~10 MB at the header limit)."""
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_INNERMOST_PAIR = re.compile(r"\[\]|\{\}")
_DIGITS_TO_ZERO = str.maketrans("123456789", "000000000")
_TOO_MANY_DIGITS = "0" * (JSON_INT_DIGITS.value + 1)
"""With every digit made a 0, a number over the digit limit is a plain substring search (a regex is 20x slower)."""
_KEEP_BRACKETS = str.maketrans("", "", "".join(chr(c) for c in range(128) if chr(c) not in "[]{}"))
"""Deletes every ASCII character but brackets (anything else left outside strings is not JSON)."""
_TENSOR_KEYS = frozenset(("dtype", "shape", "data_offsets"))
_DTYPE_NAMES = {name: name for name in SAFETENSORS_DTYPES}
"""Canonical dtype strings, so 65k tensors share one "BF16" instead of holding 65k copies."""


_RawTensor = tuple[object, tuple[Any, ...], list[Any]]
"""A tensor entry compacted as json hands it over, `(dtype, shape, data_offsets)`: a dict per entry costs 3x the
memory. json itself never makes tuples, so a tuple in the parsed object is always one of these."""


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
    limit = ST_HEADER_BYTES if max_header == ST_HEADER_BYTES.value else replace(ST_HEADER_BYTES, value=max_header)
    return check(limit, n, "safetensors header")


def parse_header(
    data: bytes, *, file: str = "", file_size: int | None = None, max_header: int = MAX_HEADER_BYTES
) -> SafetensorsHeader:
    """Parse a safetensors header from the file's first 8 + N bytes (more bytes are ignored).

    `file_size`, when known, checks that the data section the header describes fits in the file. Callers pass
    None for a header-only copy (a file of exactly 8 + N bytes, which cardscan accepts and notes as such).
    """
    n = header_length(data, max_header)
    if len(data) - LENGTH_PREFIX < n:
        raise FormatError(f"header truncated: {max(len(data) - LENGTH_PREFIX, 0):,} of {n:,} bytes")
    obj = _load_json(memoryview(data)[LENGTH_PREFIX : LENGTH_PREFIX + n])
    metadata = _metadata(obj.pop("__metadata__", None))
    check(ST_TENSORS, len(obj), "safetensors header")
    entries = sorted((*e[2], name, e) for name, e in ((k, _entry(k, v)) for k, v in obj.items()))
    del obj
    tensors, data_bytes = _layout(entries, file)
    if file_size is not None and LENGTH_PREFIX + n + data_bytes > file_size:
        raise FormatError(
            f"header describes {data_bytes:,} data bytes but the file holds {file_size - LENGTH_PREFIX - n:,}"
        )
    return SafetensorsHeader(tensors, metadata, n, data_bytes)


def _load_json(raw: memoryview) -> dict[str, Any]:
    """The header's JSON object, parsed only after a pre-scan bounds its depth and size."""
    try:
        text = str(raw, "utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"safetensors header is not valid UTF-8 JSON: {exc}") from None
    _prescan(text)
    try:
        obj = json.loads(text, object_pairs_hook=_object, parse_constant=_no_constant)
    except ValueError as exc:  # JSONDecodeError, or int() refusing > 4,300 digits (the pre-scan stops > 20 first)
        raise FormatError(f"safetensors header is not valid JSON: {exc}") from None
    except RecursionError:  # unreachable after the depth pre-scan; kept so no input can become an internal error
        raise LimitExceeded(JSON_DEPTH, None, "safetensors header nesting") from None
    if not isinstance(obj, dict):
        raise FormatError("safetensors header is not a JSON object")
    return obj


def _prescan(text: str) -> None:
    """Refuse JSON nested deeper than JSON_DEPTH or holding more values than the limits allow, cheaply."""
    small_and_plain = len(text) <= _SPLIT_MAX and '\\"' not in text
    bare = "".join(text.split('"')[::2]) if small_and_plain else _STRING.sub("", text)
    check(JSON_VALUES, bare.count(",") + 1, "safetensors header JSON")
    check(ST_TENSORS, max(bare.count("{") - 2, 0), "safetensors header (objects)")
    zeros = bare.translate(_DIGITS_TO_ZERO)
    if (at := zeros.find(_TOO_MANY_DIGITS)) >= 0:  # json would build it (up to 4,300 digits) before we look
        run = len(zeros) - at - len(zeros[at:].lstrip("0"))
        raise LimitExceeded(JSON_INT_DIGITS, run, "safetensors header number")
    del zeros
    brackets = bare.translate(_KEEP_BRACKETS)
    del bare
    for _ in range(JSON_DEPTH.value):  # each pass removes exactly one level of innermost pairs
        if not brackets:
            return
        brackets = _INNERMOST_PAIR.sub("", brackets)
    if brackets:
        if _INNERMOST_PAIR.search(brackets) is None:
            raise FormatError("safetensors header is not valid JSON: unbalanced brackets or text outside strings")
        raise LimitExceeded(JSON_DEPTH, None, "safetensors header nesting")


def _object(pairs: list[tuple[str, object]]) -> dict[str, object] | _RawTensor:
    """json's object_pairs_hook: refuse duplicate names (they would silently merge two tensors or two metadata
    values), and compact tensor entries (an object with exactly dtype, shape and data_offsets, the last two lists:
    never valid metadata, whose values are strings)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise FormatError(f"safetensors header names {dup[:80]!r} twice")
    if len(obj) == 3 and obj.keys() == _TENSOR_KEYS:
        dtype, shape, offsets = obj["dtype"], obj["shape"], obj["data_offsets"]
        if isinstance(shape, list) and isinstance(offsets, list):
            return (_DTYPE_NAMES.get(dtype, dtype) if isinstance(dtype, str) else dtype, tuple(shape), offsets)
    return obj


def _no_constant(name: str) -> float:
    raise FormatError(f"safetensors header holds {name}, which is not JSON")


def _metadata(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise FormatError("__metadata__ must map strings to strings")
    check(ST_METADATA_KEYS, len(value), "safetensors __metadata__")
    return dict(value)


def _entry(name: str, raw: object) -> _RawTensor:
    """One tensor entry, validated."""
    if isinstance(raw, dict):  # an entry with extra keys (tolerated, as the reference parser does) or missing ones
        raw = (raw.get("dtype"), raw.get("shape"), raw.get("data_offsets"))
    if not isinstance(raw, tuple):
        raise FormatError(f"tensor {name[:80]!r}: entry is not an object")
    dtype, shape, offsets = raw
    if not isinstance(dtype, str) or dtype not in SAFETENSORS_DTYPES:
        shown = dtype[:40] if isinstance(dtype, str) else f"a {type(dtype).__name__}"
        raise FormatError(f"tensor {name[:80]!r}: unknown dtype {shown!r}")
    if not isinstance(shape, tuple | list):
        raise FormatError(f"tensor {name[:80]!r}: shape must be a list of non-negative integers")
    numel = 1
    for d in shape:  # the hot loop of a big header: plain type checks, no helper calls
        if type(d) is not int or not 0 <= d <= INT64_MAX:
            raise FormatError(f"tensor {name[:80]!r}: shape must be a list of non-negative integers")
        numel *= d
        if numel > INT64_MAX:  # checked per step so a long shape never builds a huge integer
            raise FormatError(f"tensor {name[:80]!r}: shape {list(shape[:8])} has more elements than int64 can count")
    if not (isinstance(offsets, tuple | list) and len(offsets) == 2):
        raise FormatError(f"tensor {name[:80]!r}: data_offsets must be two non-negative integers")
    begin, end = offsets
    if type(begin) is not int or type(end) is not int or not 0 <= begin <= INT64_MAX or not 0 <= end <= INT64_MAX:
        raise FormatError(f"tensor {name[:80]!r}: data_offsets must be two non-negative integers")
    if end < begin:
        raise FormatError(f"tensor {name[:80]!r}: data_offsets end before they begin")
    expected = (numel * SAFETENSORS_DTYPES[dtype].bits + 7) // 8  # sub-byte dtypes (F4, F6) round up
    if expected != end - begin:
        raise FormatError(
            f"tensor {name[:80]!r}: {end - begin} bytes stored but {dtype} {list(shape[:8])} needs {expected}"
        )
    return raw


def _layout(entries: list[tuple[int, int, str, _RawTensor]], file: str) -> tuple[tuple[TensorInfo, ...], int]:
    """Tensors in data order; data must be covered exactly: no holes, no overlaps (the safetensors rule)."""
    position, out = 0, []
    for begin, end, name, raw in entries:
        if begin != position:
            kind = "overlaps the previous tensor" if begin < position else "leaves a hole before it"
            raise FormatError(f"tensor {name[:80]!r} {kind} (offset {begin}, expected {position})")
        dtype = str(raw[0])  # validated in _entry: one of SAFETENSORS_DTYPES' (shared) key strings
        out.append(TensorInfo(name=name, dtype=dtype, shape=tuple(raw[1]), nbytes=end - begin, file=file))
        position = end
    return tuple(out), position
