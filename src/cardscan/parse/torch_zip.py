"""PyTorch zip checkpoints (`pytorch_model.bin`, `.pt`) read by range, without executing pickle.

The zip's central directory (from the tail; layout in PKWARE's APPNOTE.TXT, section 4.3) locates
`<prefix>/data.pkl`, which cardscan.parse.pickle_vm replays without calling or importing anything. Storage sizes come
from the `<prefix>/data/<key>` entries when present. The directory's size and entry count, every entry's offsets and
sizes, and data.pkl's inflated size are checked against the file and cardscan.parse.limits before anything is read,
so zip bombs and ZIP64 records that lie end as errors.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Any, NamedTuple

from cardscan.errors import FormatError
from cardscan.parse.limits import (
    PICKLE_BYTES,
    PICKLE_NESTING,
    ZIP_DIRECTORY_BYTES,
    ZIP_ENTRIES,
    ZIP_READ_BYTES,
    LimitExceeded,
    check,
)
from cardscan.parse.pickle_vm import TORCH_DTYPES, TensorRef, load_pickle
from cardscan.parse.reader import BufferedReader, ReadAt
from cardscan.tensors import TensorInfo

load_torch_pickle = load_pickle
"""The restricted pickle machine (cardscan.parse.pickle_vm), under the name callers have used."""


MAX_NAME_PART = 1024
"""Characters of one key kept in a tensor's dotted name (real keys are tens of characters)."""


class UnsupportedFormat(FormatError):
    """A recognised but unsupported file: a legacy (pre-1.6, non-zip) torch pickle."""


# --- zip layout (APPNOTE.TXT 4.3) ----------------------------------------------------------------------------
_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_EOCD_MIN, _EOCD_MAX_COMMENT = 22, 0xFFFF
_CENTRAL_MIN = 46  # fixed part of a central directory entry
_ZIP64_EXTRA_ID = 0x0001
_STORED, _DEFLATED = 0, 8


class _Entry(NamedTuple):
    name: str
    method: int
    csize: int
    usize: int
    offset: int


# --- results -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TorchCheckpoint:
    """Tensors of a torch zip checkpoint, read from its pickle without running it."""

    tensors: tuple[TensorInfo, ...]
    """Every tensor reachable in the pickled object, named by dotted path (`model.layers.0.weight`)."""
    stored_bytes: int
    """Bytes of the distinct storages (shared storages counted once): what the file really holds."""
    shared: int = 0
    """How many tensors reuse a storage an earlier tensor already uses (tied weights, views)."""
    notes: tuple[str, ...] = ()
    """Human-readable remarks (shared storages, deflated pickle, big-endian data)."""


# --- walking the result ----------------------------------------------------------------------------------------
def _walk(obj: Any, path: list[str], out: list[tuple[str, TensorRef]], seen: set[int]) -> None:
    """Collect tensors under dotted names; cycle-safe, and refusing nesting past the limit rather than missing any.

    Names are joined only for tensors (a hostile key repeated over many items is never copied per item).
    """
    if isinstance(obj, TensorRef):
        out.append((".".join(path), obj))
        return
    if id(obj) in seen or not isinstance(obj, dict | list | tuple):
        return
    if len(path) >= PICKLE_NESTING.value:
        raise LimitExceeded(PICKLE_NESTING, len(path) + 1, "pickled object nesting")
    seen.add(id(obj))
    items = obj.items() if isinstance(obj, dict) else enumerate(obj)
    for key, value in items:
        path.append(str(key)[:MAX_NAME_PART])
        _walk(value, path, out, seen)
        path.pop()


def _tensor_info(name: str, t: TensorRef) -> TensorInfo:
    dtype, itemsize = TORCH_DTYPES[t.dtype]
    shape = t.shape
    if t.dtype == "float4_e2m1fn_x2" and shape:  # report logical fp4 elements, as safetensors does
        shape = (*shape[:-1], shape[-1] * 2)
    numel = 1
    for d in t.shape:
        numel *= d
    return TensorInfo(name=name, dtype=dtype, shape=shape, nbytes=numel * itemsize)


def torch_pickle_tensors(data: bytes, storage_bytes: dict[str, int] | None = None) -> TorchCheckpoint:
    """Tensors from a torch `data.pkl`; `storage_bytes` (key → bytes of `data/<key>`) makes stored_bytes exact."""
    found: list[tuple[str, TensorRef]] = []
    _walk(load_torch_pickle(data), [], found, set())
    storage_bytes = storage_bytes or {}
    seen: dict[str, str] = {}
    stored, shared_by = 0, []
    for name, t in found:
        key = t.storage.key
        if key in seen:
            shared_by.append(f"{name} (shares {seen[key]})")
            continue
        seen[key] = name
        stored += storage_bytes.get(key, t.storage.numel * TORCH_DTYPES[t.storage.dtype][1])
    notes = []
    if shared_by:
        shown = ", ".join(shared_by[:3]) + (" …" if len(shared_by) > 3 else "")
        notes.append(f"{len(shared_by)} tensors share storage with another tensor, counted once: {shown}")
    tensors = tuple(_tensor_info(name, t) for name, t in found)
    return TorchCheckpoint(tensors=tensors, stored_bytes=stored, shared=len(shared_by), notes=tuple(notes))


# --- zip -------------------------------------------------------------------------------------------------------
def _eocd(r: BufferedReader, size: int) -> tuple[int, int, int]:
    """(central directory offset, size, entry count) from the end records, ZIP64 when flagged; lies refused."""
    tail_len = min(size, _EOCD_MIN + _EOCD_MAX_COMMENT + 20)
    r.seek(size - tail_len)
    tail = r.bytes(tail_len)
    i = tail.rfind(_EOCD)
    if i < 0 or i + _EOCD_MIN > len(tail):
        raise FormatError("not a zip file: no end-of-central-directory record")
    _, _, _, _, entries, cd_size, cd_offset, _ = struct.unpack("<4s4H2LH", tail[i : i + _EOCD_MIN])
    if entries == 0xFFFF or 0xFFFFFFFF in (cd_size, cd_offset):
        loc = tail[i - 20 : i] if i >= 20 else b""
        if loc[:4] != _ZIP64_LOCATOR:
            raise FormatError("zip needs ZIP64 but has no ZIP64 locator")
        record_at = struct.unpack("<Q", loc[8:16])[0]
        if record_at + 56 > size:
            raise FormatError(f"ZIP64 locator points past the end of the file (offset {record_at:,})")
        r.seek(record_at)
        rec = r.bytes(56)
        if rec[:4] != _ZIP64_EOCD:
            raise FormatError("bad ZIP64 end-of-central-directory record")
        entries, cd_size, cd_offset = struct.unpack("<3Q", rec[32:56])
    if cd_offset + cd_size > size:
        raise FormatError(f"zip central directory ({cd_size:,} bytes at {cd_offset:,}) runs past the end of the file")
    if entries * _CENTRAL_MIN > cd_size:
        raise FormatError(f"zip claims {entries:,} entries in a {cd_size:,}-byte central directory")
    check(ZIP_ENTRIES, entries, "zip central directory")
    check(ZIP_DIRECTORY_BYTES, cd_size, "zip central directory")
    return cd_offset, cd_size, entries


def _zip64_extra(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    """Replace 0xFFFFFFFF sizes/offset with the ZIP64 extra field's 8-byte values, in APPNOTE order."""
    i = 0
    while i + 4 <= len(extra):
        tag, length = struct.unpack("<2H", extra[i : i + 4])
        body = extra[i + 4 : i + 4 + length]
        if tag == _ZIP64_EXTRA_ID:
            values = [v for (v,) in struct.iter_unpack("<Q", body[: len(body) // 8 * 8])]
            fields = [usize, csize, offset]
            for j, value in enumerate(fields):
                if value == 0xFFFFFFFF and values:
                    fields[j] = values.pop(0)
            return fields[0], fields[1], fields[2]
        i += 4 + length
    return usize, csize, offset


def _central_directory(raw: bytes, count: int, size: int) -> list[_Entry]:
    entries, i = [], 0
    for _ in range(count):
        if raw[i : i + 4] != _CENTRAL or i + _CENTRAL_MIN > len(raw):
            raise FormatError(f"bad zip central directory entry at {i}")
        fields = struct.unpack("<4s6H3L5H2L", raw[i : i + _CENTRAL_MIN])
        method, csize, usize = fields[4], fields[8], fields[9]
        nlen, xlen, clen, offset = fields[10], fields[11], fields[12], fields[16]
        name = raw[i + 46 : i + 46 + nlen].decode("utf-8", errors="replace")
        extra = raw[i + 46 + nlen : i + 46 + nlen + xlen]
        usize, csize, offset = _zip64_extra(extra, usize, csize, offset)
        if offset + 30 + csize > size:  # a member's data must lie inside the file (ZIP64 fields can say anything)
            raise FormatError(f"zip entry {name[:80]!r} claims {csize:,} bytes at {offset:,}, past the end of the file")
        entries.append(_Entry(name, method, csize, usize, offset))
        i += 46 + nlen + xlen + clen
    return entries


def _pickle_entry(entries: list[_Entry]) -> _Entry:
    """The top-level `<prefix>/data.pkl` (torch writes exactly one)."""
    found = [e for e in entries if e.name.endswith("data.pkl") and e.name.count("/") <= 1]
    if not found:
        raise FormatError("zip has no data.pkl: not a torch checkpoint")
    return min(found, key=lambda e: e.name.count("/"))


def _member(r: BufferedReader, entry: _Entry) -> bytes:
    """The (inflated) bytes of one zip member, within PICKLE_BYTES whatever its header claims (zip bombs)."""
    check(PICKLE_BYTES, max(entry.csize, entry.usize), entry.name[:80])
    r.seek(entry.offset)
    head = r.bytes(30)
    if head[:4] != _LOCAL:
        raise FormatError(f"bad zip local header for {entry.name}")
    nlen, xlen = struct.unpack("<2H", head[26:30])
    r.skip(nlen + xlen)
    raw = r.bytes(entry.csize)
    r.drop_buffer()  # the member is the last thing read: don't hold it twice
    if entry.method == _STORED:
        return raw
    if entry.method != _DEFLATED:
        raise FormatError(f"{entry.name}: unsupported zip compression method {entry.method}")
    try:
        inflater = zlib.decompressobj(-15)
        out = inflater.decompress(raw, PICKLE_BYTES.value + 1)  # never more than the limit, whatever usize says
    except zlib.error as e:
        raise FormatError(f"{entry.name}: bad deflate data") from e
    check(PICKLE_BYTES, len(out), f"{entry.name[:80]} inflated")
    return out


def _check_magic(read_at: ReadAt) -> None:
    """Refuse legacy pickles (protocol marker at offset 0) distinctly, and anything not a zip."""
    head = read_at(0, 4)
    if head[:2] == b"\x80\x02" or (head[:1] == b"\x80" and head[1:2] in (b"\x03", b"\x04", b"\x05")):
        raise UnsupportedFormat("legacy (non-zip) torch pickle: unsupported, file size used as stored bytes")
    if head[:2] != b"PK":
        raise FormatError("not a zip file")


def read_torch_zip(read_at: ReadAt, size: int, max_bytes: int = ZIP_READ_BYTES.value) -> TorchCheckpoint:
    """Tensors of a torch zip checkpoint read by range: tail, central directory, data.pkl. Never runs pickle."""
    if size < _EOCD_MIN:
        raise FormatError(f"file of {size} bytes is too small for a torch checkpoint")
    _check_magic(read_at)
    r = BufferedReader(read_at, size, chunk=256 << 10, max_bytes=max_bytes, limit=ZIP_READ_BYTES)
    cd_offset, cd_size, count = _eocd(r, size)
    r.seek(cd_offset)
    entries = _central_directory(r.bytes(cd_size), count, size)
    pkl = _pickle_entry(entries)
    prefix = pkl.name[: -len("data.pkl")]
    storage_bytes = {e.name[len(prefix) + 5 :]: e.usize for e in entries if e.name.startswith(prefix + "data/")}
    byteorder = next((e for e in entries if e.name == prefix + "byteorder"), None)
    del entries
    notes = [f"{pkl.name} is deflated"] if pkl.method == _DEFLATED else []
    if byteorder is not None and byteorder.usize <= 16 and _member(r, byteorder).strip() == b"big":
        notes.append("tensor data is big-endian")
    result = torch_pickle_tensors(_member(r, pkl), storage_bytes)
    return TorchCheckpoint(result.tensors, result.stored_bytes, result.shared, (*result.notes, *notes))


def parse_torch_zip(data: bytes) -> TorchCheckpoint:
    """`read_torch_zip` over bytes in memory."""
    view = bytes(data)
    return read_torch_zip(lambda offset, length: view[offset : offset + length], len(view))
