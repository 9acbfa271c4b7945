"""PyTorch zip checkpoints (`pytorch_model.bin`, `.pt`) read by range, without executing pickle.

The zip's central directory (from the tail) locates `<prefix>/data.pkl`; a restricted pickle interpreter written
here (no `pickle`/`torch` import, no code called) rebuilds only what torch writes for tensors, and any other
global is refused by name. Storage sizes come from the `<prefix>/data/<key>` entries when present.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Any, NamedTuple

from cardscan.errors import FormatError
from cardscan.parse.reader import BufferedReader, ReadAt
from cardscan.tensors import TensorInfo


class UnsupportedFormat(FormatError):
    """A recognised but unsupported file: a legacy (pre-1.6, non-zip) torch pickle."""


MAX_PICKLE = 64 << 20  # data.pkl of a 400B-parameter checkpoint is well under 10 MB
MAX_ENTRIES = 1_000_000
MAX_NDIM = 64
MAX_DIM = 1 << 62
MAX_DEPTH = 32

# --- zip layout (APPNOTE.TXT 4.3) ----------------------------------------------------------------------------
_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_EOCD_MIN, _EOCD_MAX_COMMENT = 22, 0xFFFF
_ZIP64_EXTRA_ID = 0x0001
_STORED, _DEFLATED = 0, 8


class _Entry(NamedTuple):
    name: str
    method: int
    csize: int
    usize: int
    offset: int


# --- dtype facts ---------------------------------------------------------------------------------------------
# torch dtype name → (safetensors dtype string, bytes per torch element). torch `_C` dtype names and aliases.
TORCH_DTYPES: dict[str, tuple[str, int]] = {
    "float32": ("F32", 4), "float": ("F32", 4), "float64": ("F64", 8), "double": ("F64", 8),
    "float16": ("F16", 2), "half": ("F16", 2), "bfloat16": ("BF16", 2),
    "int64": ("I64", 8), "long": ("I64", 8), "int32": ("I32", 4), "int": ("I32", 4),
    "int16": ("I16", 2), "short": ("I16", 2), "int8": ("I8", 1), "uint8": ("U8", 1), "bool": ("BOOL", 1),
    "uint16": ("U16", 2), "uint32": ("U32", 4), "uint64": ("U64", 8),
    "complex64": ("C64", 8), "cfloat": ("C64", 8), "complex128": ("C128", 16), "cdouble": ("C128", 16),
    "complex32": ("C32", 4), "chalf": ("C32", 4),
    "float8_e4m3fn": ("F8_E4M3", 1), "float8_e5m2": ("F8_E5M2", 1), "float8_e4m3fnuz": ("F8_E4M3FNUZ", 1),
    "float8_e5m2fnuz": ("F8_E5M2FNUZ", 1), "float8_e8m0fnu": ("F8_E8M0", 1),
    "float4_e2m1fn_x2": ("F4", 1),  # two fp4 values per torch element
    "qint8": ("I8", 1), "quint8": ("U8", 1), "qint32": ("I32", 4), "quint4x2": ("U8", 1), "quint2x4": ("U8", 1),
    "bits8": ("U8", 1), "bits16": ("U16", 2), "bits1x8": ("U8", 1), "bits2x4": ("U8", 1), "bits4x2": ("U8", 1),
}  # fmt: skip

# Legacy typed storage class → torch dtype name (torch/storage.py `_dtype_to_storage_type_map`).
STORAGE_TYPES: dict[str, str] = {
    "DoubleStorage": "float64", "FloatStorage": "float32", "HalfStorage": "float16", "LongStorage": "int64",
    "IntStorage": "int32", "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
    "BoolStorage": "bool", "BFloat16Storage": "bfloat16", "ComplexDoubleStorage": "complex128",
    "ComplexFloatStorage": "complex64", "QInt8Storage": "qint8", "QInt32Storage": "qint32",
    "QUInt8Storage": "quint8", "QUInt4x2Storage": "quint4x2", "QUInt2x4Storage": "quint2x4",
    "UntypedStorage": "uint8",  # torch ≥ 2.1 new dtypes: bytes, with the dtype passed to _rebuild_tensor_v3
}  # fmt: skip


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


# --- the restricted pickle interpreter -----------------------------------------------------------------------
class _Global(NamedTuple):
    module: str
    name: str


@dataclass
class _Storage:
    key: str
    dtype: str  # torch dtype name
    numel: int


@dataclass
class _Tensor:
    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    dtype: str


_REBUILD = "torch._utils"
# Globals a torch checkpoint may name; anything else is refused. Value: how REDUCE treats a call to it.
ALLOWED_GLOBALS: dict[tuple[str, str], str] = {
    (_REBUILD, "_rebuild_tensor"): "tensor",
    (_REBUILD, "_rebuild_tensor_v2"): "tensor",
    (_REBUILD, "_rebuild_tensor_v3"): "tensor_v3",
    (_REBUILD, "_rebuild_parameter"): "parameter",
    (_REBUILD, "_rebuild_parameter_with_state"): "parameter",
    ("collections", "OrderedDict"): "dict",
    ("torch", "Size"): "size",
    ("torch.serialization", "_get_layout"): "marker",
    ("torch", "strided"): "marker",
    ("torch.storage", "UntypedStorage"): "storage",
    **{("torch", name): "storage" for name in STORAGE_TYPES},
    **{("torch", name): "dtype" for name in TORCH_DTYPES},
}


class _Mark:
    """The MARK sentinel on the stack."""


_MARK = _Mark()


class _Machine:
    """Executes the subset of pickle opcodes torch.save emits (protocols 2–5), with values built from our types."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.stack: list[Any] = []
        self.memo: dict[int, Any] = {}
        self.storages: dict[str, _Storage] = {}

    # reading the opcode stream
    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise FormatError(f"pickle truncated at offset {self.pos} (need {n} bytes)")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def line(self) -> str:
        end = self.data.find(b"\n", self.pos, self.pos + 4096)
        if end < 0:
            raise FormatError(f"pickle GLOBAL without newline at offset {self.pos}")
        text = self.data[self.pos : end].decode("ascii", errors="replace")
        self.pos = end + 1
        return text

    # stack helpers
    def pop(self) -> Any:
        if not self.stack or self.stack[-1] is _MARK:
            raise FormatError(f"pickle stack underflow at offset {self.pos}")
        return self.stack.pop()

    def pop_mark(self) -> list[Any]:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i] is _MARK:
                items = self.stack[i + 1 :]
                del self.stack[i:]
                return items
        raise FormatError(f"pickle MARK missing at offset {self.pos}")

    def top(self) -> Any:
        if not self.stack or self.stack[-1] is _MARK:
            raise FormatError(f"pickle stack underflow at offset {self.pos}")
        return self.stack[-1]

    def run(self) -> Any:
        while True:
            op = self.take(1)
            handler = _OPCODES.get(op)
            if handler is None:
                raise FormatError(f"unsupported pickle opcode {op!r} at offset {self.pos - 1}")
            if handler(self):
                return self.pop()

    # semantics
    def find_global(self, module: str, name: str) -> _Global:
        if (module, name) not in ALLOWED_GLOBALS:
            raise FormatError(f"pickle names a global cardscan does not allow: {module}.{name}")
        return _Global(module, name)

    def get(self, idx: int) -> None:
        if idx not in self.memo:
            raise FormatError(f"pickle memo key {idx} missing")
        self.stack.append(self.memo[idx])

    def persistent(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise FormatError(f"unexpected persistent id {str(pid)[:80]}")
        _, stype, key, _location, numel = pid
        if not isinstance(stype, _Global) or ALLOWED_GLOBALS[stype] != "storage":
            raise FormatError("persistent id without a storage type")
        if not isinstance(key, str) or not _is_count(numel):
            raise FormatError("persistent id with a bad key or size")
        return self.storages.setdefault(key, _Storage(key, STORAGE_TYPES[stype.name], numel))

    def reduce(self, func: Any, args: Any) -> Any:
        if not isinstance(func, _Global) or not isinstance(args, tuple):
            raise FormatError(f"pickle REDUCE of a non-callable at offset {self.pos}")
        kind = ALLOWED_GLOBALS[func]
        if kind in ("tensor", "tensor_v3"):
            return _rebuild_tensor(args, kind == "tensor_v3")
        if kind == "parameter":
            return args[0] if args else None
        if kind == "dict":
            return _ordered_dict(args)
        if kind == "size":
            return tuple(args[0]) if args and isinstance(args[0], tuple | list) else ()
        if kind == "marker":
            return func
        raise FormatError(f"pickle calls {func.module}.{func.name}, which torch checkpoints never call")


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_DIM


def _rebuild_tensor(args: tuple, v3: bool) -> _Tensor:
    if len(args) < (7 if v3 else 4):
        raise FormatError("tensor rebuild with too few arguments")
    storage, offset, shape = args[0], args[1], args[2]
    if not isinstance(storage, _Storage) or not _is_count(offset) or not isinstance(shape, tuple | list):
        raise FormatError("tensor rebuild with a bad storage, offset or shape")
    if len(shape) > MAX_NDIM or not all(_is_count(d) for d in shape):
        raise FormatError("tensor rebuild with a bad shape")
    dtype = storage.dtype
    if v3:
        marker = args[6]
        if not isinstance(marker, _Global) or marker.name not in TORCH_DTYPES:
            raise FormatError("_rebuild_tensor_v3 without a dtype")
        dtype = marker.name
    return _Tensor(storage, offset, tuple(shape), dtype)


def _ordered_dict(args: tuple) -> dict:
    if not args:
        return {}
    out = {}
    for pair in args[0] if isinstance(args[0], list | tuple) else ():
        if isinstance(pair, tuple | list) and len(pair) == 2 and _hashable(pair[0]):
            out[pair[0]] = pair[1]
    return out


def _hashable(key: Any) -> bool:
    return isinstance(key, str | int | float | bool | type(None) | _Global)


# Opcode handlers: return True on STOP. pickletools / Lib/pickle.py opcode values.
def _op_setitems(m: _Machine) -> None:
    items = m.pop_mark()
    target = m.top()
    if not isinstance(target, dict) or len(items) % 2:
        raise FormatError("pickle SETITEMS on a non-dict")
    for k, v in zip(items[::2], items[1::2], strict=True):
        if not _hashable(k):
            raise FormatError("pickle dict key of unsupported type")
        target[k] = v


def _op_setitem(m: _Machine) -> None:
    value, key = m.pop(), m.pop()
    target = m.top()
    if not isinstance(target, dict) or not _hashable(key):
        raise FormatError("pickle SETITEM on a non-dict or with a bad key")
    target[key] = value


def _op_appends(m: _Machine, items: list[Any]) -> None:
    target = m.top()
    if not isinstance(target, list):
        raise FormatError("pickle APPEND on a non-list")
    target.extend(items)


def _op_build(m: _Machine) -> None:
    m.pop()  # state (`_metadata` of a state dict, tensor hooks): irrelevant to sizes
    m.top()


def _op_newobj(m: _Machine) -> None:
    args, cls = m.pop(), m.pop()
    m.stack.append(m.reduce(cls, args))


def _op_put(m: _Machine, idx: int) -> None:
    if len(m.memo) > MAX_ENTRIES:
        raise FormatError("pickle memo too large")
    m.memo[idx] = m.top()


def _op_long(m: _Machine, n: int) -> None:
    if n < 0 or n > 1024:  # torch writes at most 8-byte ints; keep arithmetic on fuzzed input cheap
        raise FormatError(f"pickle LONG of {n} bytes")
    m.stack.append(int.from_bytes(m.take(n), "little", signed=True))


def _op_unicode(m: _Machine, n: int) -> None:
    try:
        m.stack.append(m.take(n).decode("utf-8", errors="surrogatepass"))
    except UnicodeDecodeError as e:
        raise FormatError(f"pickle string is not UTF-8 at offset {m.pos}") from e


def _op_tuple(m: _Machine, n: int) -> None:
    items = [m.pop() for _ in range(n)][::-1]
    m.stack.append(tuple(items))


def _op_stack_global(m: _Machine) -> None:
    name, module = m.pop(), m.pop()
    if not isinstance(name, str) or not isinstance(module, str):
        raise FormatError("pickle STACK_GLOBAL without strings")
    m.stack.append(m.find_global(module, name))


def _op_global(m: _Machine) -> None:
    module = m.line()
    m.stack.append(m.find_global(module, m.line()))


def _op_persid(m: _Machine) -> None:
    m.stack.append(m.persistent(m.pop()))


def _op_reduce(m: _Machine) -> None:
    args, func = m.pop(), m.pop()
    m.stack.append(m.reduce(func, args))


def _push(value_fn: Any) -> Any:
    return lambda m: m.stack.append(value_fn(m))


_OPCODES: dict[bytes, Any] = {
    b"\x80": lambda m: m.take(1) and None,  # PROTO
    b"\x95": lambda m: m.take(8) and None,  # FRAME
    b".": lambda m: True,  # STOP
    b"(": lambda m: m.stack.append(_MARK),  # MARK
    b"}": _push(lambda m: {}),  # EMPTY_DICT
    b"]": _push(lambda m: []),  # EMPTY_LIST
    b")": _push(lambda m: ()),  # EMPTY_TUPLE
    b"N": _push(lambda m: None),  # NONE
    b"\x88": _push(lambda m: True),  # NEWTRUE
    b"\x89": _push(lambda m: False),  # NEWFALSE
    b"J": _push(lambda m: m.unpack("<i")),  # BININT
    b"K": _push(lambda m: m.unpack("<B")),  # BININT1
    b"M": _push(lambda m: m.unpack("<H")),  # BININT2
    b"G": _push(lambda m: m.unpack(">d")),  # BINFLOAT
    b"\x8a": lambda m: _op_long(m, m.unpack("<B")),  # LONG1
    b"\x8b": lambda m: _op_long(m, m.unpack("<i")),  # LONG4
    b"X": lambda m: _op_unicode(m, m.unpack("<I")),  # BINUNICODE
    b"\x8c": lambda m: _op_unicode(m, m.unpack("<B")),  # SHORT_BINUNICODE
    b"\x8d": lambda m: _op_unicode(m, m.unpack("<Q")),  # BINUNICODE8
    b"B": _push(lambda m: m.take(m.unpack("<I"))),  # BINBYTES
    b"C": _push(lambda m: m.take(m.unpack("<B"))),  # SHORT_BINBYTES
    b"\x8e": _push(lambda m: m.take(m.unpack("<Q"))),  # BINBYTES8
    b"t": _push(lambda m: tuple(m.pop_mark())),  # TUPLE
    b"\x85": lambda m: _op_tuple(m, 1),  # TUPLE1
    b"\x86": lambda m: _op_tuple(m, 2),  # TUPLE2
    b"\x87": lambda m: _op_tuple(m, 3),  # TUPLE3
    b"l": _push(lambda m: m.pop_mark()),  # LIST
    b"s": _op_setitem,  # SETITEM
    b"u": _op_setitems,  # SETITEMS
    b"a": lambda m: _op_appends(m, [m.pop()]),  # APPEND
    b"e": lambda m: _op_appends(m, m.pop_mark()),  # APPENDS
    b"q": lambda m: _op_put(m, m.unpack("<B")),  # BINPUT
    b"r": lambda m: _op_put(m, m.unpack("<I")),  # LONG_BINPUT
    b"\x94": lambda m: _op_put(m, len(m.memo)),  # MEMOIZE
    b"h": lambda m: m.get(m.unpack("<B")),  # BINGET
    b"j": lambda m: m.get(m.unpack("<I")),  # LONG_BINGET
    b"c": _op_global,  # GLOBAL
    b"\x93": _op_stack_global,  # STACK_GLOBAL
    b"R": _op_reduce,  # REDUCE
    b"\x81": _op_newobj,  # NEWOBJ
    b"b": _op_build,  # BUILD
    b"Q": _op_persid,  # BINPERSID
    b"0": lambda m: m.pop() and None,  # POP
    b"1": lambda m: m.pop_mark() and None,  # POP_MARK
    b"2": lambda m: m.stack.append(m.top()),  # DUP
}


def load_torch_pickle(data: bytes) -> Any:
    """Run the restricted interpreter over a torch `data.pkl`; tensors come back as opaque records."""
    if len(data) > MAX_PICKLE:
        raise FormatError(f"data.pkl of {len(data)} bytes exceeds {MAX_PICKLE}")
    try:
        return _Machine(data).run()
    except FormatError:
        raise
    except (TypeError, ValueError, struct.error, RecursionError) as e:  # malformed input reaching a builtin
        raise FormatError(f"malformed pickle: {e}") from e


# --- walking the result ----------------------------------------------------------------------------------------
def _walk(obj: Any, prefix: str, out: list[tuple[str, _Tensor]], seen: set[int], depth: int) -> None:
    """Collect tensors under dotted names; cycle- and depth-safe."""
    if isinstance(obj, _Tensor):
        out.append((prefix, obj))
        return
    if depth > MAX_DEPTH or id(obj) in seen:
        return
    if isinstance(obj, dict):
        seen.add(id(obj))
        items = obj.items()
    elif isinstance(obj, list | tuple):
        seen.add(id(obj))
        items = enumerate(obj)
    else:
        return
    for key, value in items:
        _walk(value, f"{prefix}.{key}" if prefix else str(key), out, seen, depth + 1)


def _tensor_info(name: str, t: _Tensor) -> TensorInfo:
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
    found: list[tuple[str, _Tensor]] = []
    _walk(load_torch_pickle(data), "", found, set(), 0)
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
    """(central directory offset, size, entry count) from the end records, ZIP64 when flagged."""
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
        r.seek(struct.unpack("<Q", loc[8:16])[0])
        rec = r.bytes(56)
        if rec[:4] != _ZIP64_EOCD:
            raise FormatError("bad ZIP64 end-of-central-directory record")
        entries, cd_size, cd_offset = struct.unpack("<3Q", rec[32:56])
    if entries > MAX_ENTRIES or cd_offset + cd_size > size:
        raise FormatError(f"zip central directory out of range ({entries} entries, {cd_size} bytes)")
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


def _central_directory(raw: bytes, count: int) -> list[_Entry]:
    entries, i = [], 0
    for _ in range(count):
        if raw[i : i + 4] != _CENTRAL or i + 46 > len(raw):
            raise FormatError(f"bad zip central directory entry at {i}")
        fields = struct.unpack("<4s6H3L5H2L", raw[i : i + 46])
        method, csize, usize = fields[4], fields[8], fields[9]
        nlen, xlen, clen, offset = fields[10], fields[11], fields[12], fields[16]
        name = raw[i + 46 : i + 46 + nlen].decode("utf-8", errors="replace")
        extra = raw[i + 46 + nlen : i + 46 + nlen + xlen]
        usize, csize, offset = _zip64_extra(extra, usize, csize, offset)
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
    """The (inflated) bytes of one zip member, capped at MAX_PICKLE."""
    if entry.csize > MAX_PICKLE or entry.usize > MAX_PICKLE:
        raise FormatError(f"{entry.name} of {max(entry.csize, entry.usize)} bytes exceeds {MAX_PICKLE}")
    r.seek(entry.offset)
    head = r.bytes(30)
    if head[:4] != _LOCAL:
        raise FormatError(f"bad zip local header for {entry.name}")
    nlen, xlen = struct.unpack("<2H", head[26:30])
    r.skip(nlen + xlen)
    raw = r.bytes(entry.csize)
    if entry.method == _STORED:
        return raw
    if entry.method != _DEFLATED:
        raise FormatError(f"{entry.name}: unsupported zip compression method {entry.method}")
    try:
        inflater = zlib.decompressobj(-15)
        out = inflater.decompress(raw, MAX_PICKLE + 1)
    except zlib.error as e:
        raise FormatError(f"{entry.name}: bad deflate data") from e
    if len(out) > MAX_PICKLE:
        raise FormatError(f"{entry.name} inflates past {MAX_PICKLE} bytes")
    return out


def _check_magic(read_at: ReadAt) -> None:
    """Refuse legacy pickles (protocol marker at offset 0) distinctly, and anything not a zip."""
    head = read_at(0, 4)
    if head[:2] == b"\x80\x02" or (head[:1] == b"\x80" and head[1:2] in (b"\x03", b"\x04", b"\x05")):
        raise UnsupportedFormat("legacy (non-zip) torch pickle: unsupported, file size used as stored bytes")
    if head[:2] != b"PK":
        raise FormatError("not a zip file")


def read_torch_zip(read_at: ReadAt, size: int, max_bytes: int = 96 << 20) -> TorchCheckpoint:
    """Tensors of a torch zip checkpoint read by range: tail, central directory, data.pkl. Never runs pickle."""
    if size < _EOCD_MIN:
        raise FormatError(f"file of {size} bytes is too small for a torch checkpoint")
    _check_magic(read_at)
    r = BufferedReader(read_at, size, chunk=256 << 10, max_bytes=max_bytes)
    cd_offset, cd_size, count = _eocd(r, size)
    r.seek(cd_offset)
    entries = _central_directory(r.bytes(cd_size), count)
    pkl = _pickle_entry(entries)
    prefix = pkl.name[: -len("data.pkl")]
    storage_bytes = {e.name[len(prefix) + 5 :]: e.usize for e in entries if e.name.startswith(prefix + "data/")}
    notes = [f"{pkl.name} is deflated"] if pkl.method == _DEFLATED else []
    result = torch_pickle_tensors(_member(r, pkl), storage_bytes)
    byteorder = next((e for e in entries if e.name == prefix + "byteorder"), None)
    if byteorder is not None and byteorder.usize <= 16 and _member(r, byteorder).strip() == b"big":
        notes.append("tensor data is big-endian")
    return TorchCheckpoint(result.tensors, result.stored_bytes, result.shared, (*result.notes, *notes))


def parse_torch_zip(data: bytes) -> TorchCheckpoint:
    """`read_torch_zip` over bytes in memory."""
    view = bytes(data)
    return read_torch_zip(lambda offset, length: view[offset : offset + length], len(view))
