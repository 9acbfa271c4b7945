"""Build the hostile corpus: weight files that lie, explode or try to run code (tests/fixtures/hostile/).

Run: `python scripts/make_hostile.py` writes the small cases into tests/fixtures/hostile/ (the repo keeps them);
`python scripts/make_hostile.py --big DIR` also writes the large ones (up to ~100 MB each) into DIR. The tests and
bench/hostile.py import CASES from here and generate the large ones in a temporary folder.

Every case names the result the CLI must give: an error code (`malformed`, `too_large`) or `ok` (at-limit files
that are valid and must still fit the budget). Pickle payloads would create the file CANARY in the working
directory if anything ever executed them; the tests assert it never appears. Formats: safetensors
https://github.com/huggingface/safetensors#format, GGUF https://github.com/ggml-org/ggml/blob/master/docs/gguf.md,
pickle opcodes CPython Lib/pickletools.py, zip PKWARE APPNOTE.TXT.
"""

from __future__ import annotations

import argparse
import io
import json
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "hostile"
CANARY = "cardscan-canary"
"""A file the payloads would create in the working directory, had they run."""
SMALL = 256 << 10
"""Cases whose file is at most this size are kept in the repo; larger ones are built at test time."""
MIB = 1 << 20


@dataclass(frozen=True)
class Case:
    """One hostile input and the outcome the CLI must report for it."""

    name: str
    """File stem; the extension comes from `suffix`."""
    suffix: str
    """`.safetensors`, `.gguf` or `.bin` (what makes cardscan pick the parser)."""
    expect: str
    """`malformed`, `too_large` or `ok`."""
    build: Callable[[], bytes]
    """Makes the file's bytes."""
    what: str
    """One line: what the file does."""
    big: bool = False
    """Built at test time instead of kept in the repo."""

    @property
    def filename(self) -> str:
        return self.name + self.suffix


# --- safetensors -----------------------------------------------------------------------------------------------
def st(header: bytes | dict, data: bytes = b"") -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def _entry(dtype: str, shape: list, begin: int, end: int) -> dict:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def st_nested(depth: int, in_metadata: bool) -> bytes:
    deep = b"[" * depth + b"]" * depth
    if in_metadata:
        return st(b'{"__metadata__":{"x":' + deep + b'},"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\0")
    return st(b'{"w":{"dtype":"U8","shape":' + deep + b',"data_offsets":[0,1]}}', b"\0")


def st_tiny_tensors(count: int) -> bytes:
    """`count` one-byte tensors with the shortest names: the most objects per header byte."""
    body = b",".join(b'"%d":{"dtype":"U8","shape":[1],"data_offsets":[%d,%d]}' % (i, i, i + 1) for i in range(count))
    return st(b"{" + body + b"}", bytes(count))


def st_duplicate_names() -> bytes:
    return st(
        b'{"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"w":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}',
        bytes(8),
    )


def st_long_names(count: int = 65_536, header_bytes: int = 8 * MIB) -> bytes:
    """`count` one-byte tensors whose names are padded so the header is `header_bytes` long (both limits at once)."""
    shortest = len(st_tiny_tensors(count)) - count - 8
    pad = b"n" * ((header_bytes - shortest) // count)
    body = b",".join(
        b'"%s%d":{"dtype":"U8","shape":[1],"data_offsets":[%d,%d]}' % (pad, i, i, i + 1) for i in range(count)
    )
    return st(b"{" + body + b"}", bytes(count))


def st_big_metadata_string(header_bytes: int = 8 * MIB) -> bytes:
    """A valid header of exactly `header_bytes` (the safetensors.header_bytes limit), nearly all one string."""
    shell = json.dumps({"__metadata__": {"notes": ""}, "w": _entry("U8", [1], 0, 1)}, separators=(",", ":"))
    return st({"__metadata__": {"notes": "x" * (header_bytes - len(shell))}, "w": _entry("U8", [1], 0, 1)}, b"\0")


SAFETENSORS: list[Case] = [
    Case("st_empty_file", ".safetensors", "malformed", lambda: b"", "a 0-byte file"),
    Case("st_seven_byte_file", ".safetensors", "malformed", lambda: b"\x07" + bytes(6), "a 7-byte file"),
    Case("st_length_0", ".safetensors", "malformed", lambda: st(b""), "header length 0"),
    Case("st_length_7", ".safetensors", "malformed", lambda: st(b"[1,2,3]"), "header length 7, not an object"),
    Case("st_length_2_63", ".safetensors", "too_large", lambda: struct.pack("<Q", 1 << 63) + b"{}", "length 2^63"),
    Case("st_length_past_eof", ".safetensors", "malformed", lambda: struct.pack("<Q", 4096) + b"{}", "past EOF"),
    Case("st_not_utf8", ".safetensors", "malformed", lambda: st(b'{"\xff\xfe":1}'), "header is not UTF-8"),
    Case("st_not_object", ".safetensors", "malformed", lambda: st(b'"just a string"'), "header is a JSON string"),
    Case("st_not_json", ".safetensors", "malformed", lambda: st(b"{'w': 1}"), "header is not JSON"),
    Case("st_nan", ".safetensors", "malformed", lambda: st(b'{"w":{"dtype":"F32","shape":[NaN]}}'), "NaN literal"),
    Case(
        "st_overlapping_offsets",
        ".safetensors",
        "malformed",
        lambda: st({"a": _entry("U8", [4], 0, 4), "b": _entry("U8", [4], 2, 6)}, bytes(6)),
        "two tensors overlap",
    ),
    Case(
        "st_negative_offset",
        ".safetensors",
        "malformed",
        lambda: st({"a": _entry("U8", [4], -4, 0)}, bytes(4)),
        "a negative data offset",
    ),
    Case(
        "st_reversed_offsets",
        ".safetensors",
        "malformed",
        lambda: st({"a": _entry("U8", [4], 4, 0)}, bytes(4)),
        "end before begin",
    ),
    Case(
        "st_hole",
        ".safetensors",
        "malformed",
        lambda: st({"a": _entry("U8", [4], 8, 12)}, bytes(12)),
        "data starting past a hole",
    ),
    Case(
        "st_unknown_dtype",
        ".safetensors",
        "malformed",
        lambda: st({"a": _entry("Q4", [4], 0, 2)}, bytes(2)),
        "dtype Q4",
    ),
    Case(
        "st_dtype_not_string",
        ".safetensors",
        "malformed",
        lambda: st({"a": _entry(["F16"], [4], 0, 8)}, bytes(8)),
        "dtype is a list (unhashable)",  # type: ignore[arg-type]
    ),
    Case(
        "st_int_5000_digits",
        ".safetensors",
        "malformed",
        lambda: st(b'{"a":{"dtype":"U8","shape":[' + b"9" * 5000 + b'],"data_offsets":[0,1]}}'),
        "a shape dimension of 5,000 digits",
    ),
    Case(
        "st_float_overflow",
        ".safetensors",
        "malformed",
        lambda: st(b'{"a":{"dtype":"U8","shape":[1e400],"data_offsets":[0,1]}}', b"\0"),
        "a shape of 1e400",
    ),
    Case(
        "st_shape_overflows_int64",
        ".safetensors",
        "malformed",
        lambda: st({"a": _entry("U8", [1 << 32, 1 << 32], 0, 1 << 64)}),
        "4294967296 × 4294967296 elements: 2^64, with offsets to match",
    ),
    Case(
        "st_shape_overflows_float",
        ".safetensors",
        "malformed",
        lambda: st({"a": _entry("U8", [10**19] * 40, 0, 1)}, b"\0"),
        "a product of 10^760 elements",
    ),
    Case("st_duplicate_names", ".safetensors", "malformed", st_duplicate_names, "the same tensor name twice"),
    Case(
        "st_duplicate_metadata",
        ".safetensors",
        "malformed",
        lambda: st(b'{"__metadata__":{"k":"a","k":"b"}}'),
        "the same metadata key twice",
    ),
    Case(
        "st_metadata_not_strings",
        ".safetensors",
        "malformed",
        lambda: st({"__metadata__": {"k": {"x": 1}}}),
        "a metadata value that is an object",
    ),
    Case(
        "st_offsets_past_size",
        ".safetensors",
        "malformed",
        lambda: st({"a": _entry("U8", [1 << 40], 0, 1 << 40)}, bytes(5000)),
        "a 5 KB file whose header claims 1 TB of tensor data",
    ),
    Case(
        "st_escaped_quotes",
        ".safetensors",
        "malformed",
        lambda: st(b'{"a":"' + b'\\"' * 100_000),
        "an unterminated string of 100k escaped quotes (a quadratic trap for naive string regexes)",
    ),
    Case("st_nested_1e5", ".safetensors", "malformed", lambda: st_nested(100_000, False), "a shape 10^5 deep"),
    Case(
        "st_nested_1e6_metadata",
        ".safetensors",
        "malformed",
        lambda: st_nested(1_000_000, True),
        "__metadata__ holding a value nested 10^6 deep",
        big=True,
    ),
    Case(
        "st_1_45m_tiny_tensors",
        ".safetensors",
        "too_large",
        lambda: st_tiny_tensors(1_450_000),
        "a ~73 MB header of 1.45 M one-byte tensors",
        big=True,
    ),
    Case(
        "st_65537_tensors",
        ".safetensors",
        "too_large",
        lambda: st_tiny_tensors(65_537),
        "one tensor over the safetensors.tensors limit",
        big=True,
    ),
    Case(
        "st_at_limit_65536_tensors",
        ".safetensors",
        "ok",
        lambda: st_tiny_tensors(65_536),
        "exactly the tensor limit (valid): must still fit the memory budget",
        big=True,
    ),
    Case(
        "st_at_limit_long_names",
        ".safetensors",
        "ok",
        st_long_names,
        "65,536 tensors with names filling an 8 MiB header (both limits): must still fit the memory budget",
        big=True,
    ),
    Case(
        "st_at_limit_metadata_string",
        ".safetensors",
        "ok",
        st_big_metadata_string,
        "a valid 8 MiB header (the limit), one metadata string: must still fit the memory budget",
        big=True,
    ),
    Case(
        "st_values_bomb",
        ".safetensors",
        "too_large",
        lambda: st(b'{"a":{"dtype":"U8","shape":[' + b"1," * 2_000_000 + b'1],"data_offsets":[0,1]}}'),
        "a shape of 2 M ones (a JSON value per 2 bytes)",
        big=True,
    ),
]


# --- GGUF ----------------------------------------------------------------------------------------------------------
def gstr(s: bytes) -> bytes:
    return struct.pack("<Q", len(s)) + s


def gguf(kvs: list[bytes], tensors: list[bytes], *, n_kv: int | None = None, n_tensors: int | None = None,
         version: int = 3, tail: bytes = b"") -> bytes:  # fmt: skip
    head = b"GGUF" + struct.pack("<IQQ", version, len(tensors) if n_tensors is None else n_tensors,
                                 len(kvs) if n_kv is None else n_kv)  # fmt: skip
    body = head + b"".join(kvs) + b"".join(tensors)
    return body + bytes(-len(body) % 32) + tail


def kv_u32(key: bytes, value: int) -> bytes:
    return gstr(key) + struct.pack("<II", 4, value)


def tinfo(name: bytes, dims: tuple[int, ...], type_id: int = 0, offset: int = 0) -> bytes:
    return (
        gstr(name)
        + struct.pack("<I", len(dims))
        + struct.pack(f"<{len(dims)}Q", *dims)
        + struct.pack("<IQ", type_id, offset)
    )


def gguf_amplify() -> bytes:
    """One kv: an array of 1,024 arrays of 1,024 empty arrays (12 MB that decode into 1 M lists)."""
    empty = struct.pack("<IQ", 0, 0)
    middle = struct.pack("<IQ", 9, 1024) + empty * 1024
    value = struct.pack("<I", 9) + struct.pack("<IQ", 9, 1024) + middle * 1024
    return gguf([gstr(b"amplify") + value], [])


def gguf_walk_bomb() -> bytes:
    """A 2^21 + 1 item array of empty strings: every item must be walked one by one."""
    n = (1 << 21) + 1
    return gguf([gstr(b"tokens") + struct.pack("<IIQ", 9, 8, n) + bytes(8 * n)], [])


def gguf_million_tensors() -> bytes:
    return gguf([], [tinfo(b"t", (1,))] * 1_000_000)


def gguf_unknown_types(count: int) -> bytes:
    infos = [tinfo(b"t%d" % i, (1,), type_id=999, offset=32 * i) for i in range(count)]
    return gguf([], infos, tail=bytes(32 * count))


GGUF: list[Case] = [
    Case("gguf_bad_magic", ".gguf", "malformed", lambda: b"GGML" + bytes(60), "magic GGML"),
    Case("gguf_bad_version", ".gguf", "malformed", lambda: gguf([], [], version=99), "version 99"),
    Case("gguf_version_0", ".gguf", "malformed", lambda: gguf([], [], version=0), "version 0"),
    Case("gguf_truncated", ".gguf", "malformed", lambda: gguf([kv_u32(b"a", 1)], [])[:30], "cut in a key"),
    Case(
        "gguf_string_2_60",
        ".gguf",
        "malformed",
        lambda: gguf([struct.pack("<Q", 1 << 60) + b"key"], []),
        "a key of 2^60 bytes",
    ),
    Case(
        "gguf_array_2_60",
        ".gguf",
        "malformed",
        lambda: gguf([gstr(b"a") + struct.pack("<IIQ", 9, 8, 1 << 60)], []),
        "an array of 2^60 strings",
    ),
    Case(
        "gguf_counts_lie",
        ".gguf",
        "malformed",
        lambda: gguf([], [], n_kv=10**6, n_tensors=10**6),
        "10^6 kvs and tensors claimed in a 56-byte file",
    ),
    Case(
        "gguf_duplicate_keys",
        ".gguf",
        "malformed",
        lambda: gguf([kv_u32(b"general.alignment", 32), kv_u32(b"general.alignment", 64)], []),
        "a key twice",
    ),
    Case(
        "gguf_duplicate_tensors",
        ".gguf",
        "malformed",
        lambda: gguf([], [tinfo(b"w", (8,)), tinfo(b"w", (8,), offset=32)], tail=bytes(64)),
        "a tensor twice",
    ),
    Case(
        "gguf_overlapping_tensors",
        ".gguf",
        "malformed",
        lambda: gguf([], [tinfo(b"a", (8,)), tinfo(b"b", (8,), offset=16)], tail=bytes(64)),
        "data overlaps",
    ),
    Case(
        "gguf_data_past_size",
        ".gguf",
        "malformed",
        lambda: gguf([], [tinfo(b"a", (1 << 38,))], tail=bytes(5000)),
        "5 KB of data for a 1 TB tensor",
    ),
    Case(
        "gguf_shape_overflows_int64",
        ".gguf",
        "malformed",
        lambda: gguf([], [tinfo(b"a", (1 << 40, 1 << 40))]),
        "2^80 elements",
    ),
    Case("gguf_too_many_dims", ".gguf", "malformed", lambda: gguf([], [tinfo(b"a", (1,) * 9)]), "9 dimensions"),
    Case(
        "gguf_nested_arrays",
        ".gguf",
        "malformed",
        lambda: gguf([gstr(b"a") + struct.pack("<I", 9) + struct.pack("<IQ", 9, 1) * 6 + struct.pack("<IQ", 0, 0)], []),
        "arrays nested 7 deep",
    ),
    Case("gguf_amplifying_arrays", ".gguf", "too_large", gguf_amplify, "1 M empty arrays in 12 MB", big=True),
    Case("gguf_walk_bomb", ".gguf", "too_large", gguf_walk_bomb, "2 M empty strings in one array", big=True),
    Case("gguf_1e6_tensors", ".gguf", "too_large", gguf_million_tensors, "10^6 tensor infos", big=True),
    Case(
        "gguf_65536_unknown_types",
        ".gguf",
        "ok",
        lambda: gguf_unknown_types(65_536),
        "the tensor limit, every type unknown (sizes from gaps: was quadratic)",
        big=True,
    ),
]


# --- torch zip / pickle ---------------------------------------------------------------------------------------------
def torch_zip(pkl: bytes, *, deflate: bool = False) -> bytes:
    out = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(out, "w") as z:  # fixed timestamps: the kept files must be reproducible byte for byte
        pkl_info = zipfile.ZipInfo("archive/data.pkl", date_time=(1980, 1, 1, 0, 0, 0))
        z.writestr(pkl_info, pkl, compress_type=method, compresslevel=9 if deflate else None)
        z.writestr(zipfile.ZipInfo("archive/version", date_time=(1980, 1, 1, 0, 0, 0)), "3\n")
    return out.getvalue()


def lie_usize(data: bytes, usize: int) -> bytes:
    """Rewrite data.pkl's uncompressed size (local header and central directory) to `usize`."""
    buf = bytearray(data)
    local = buf.find(b"PK\x03\x04")
    struct.pack_into("<I", buf, local + 22, usize)
    central = buf.find(b"PK\x01\x02")
    struct.pack_into("<I", buf, central + 24, usize)
    return bytes(buf)


TOUCH = f"touch {CANARY}"
OS_SYSTEM = b"\x80\x02cos\nsystem\nq\x00X" + struct.pack("<I", len(TOUCH)) + TOUCH.encode() + b"\x85R."
EVAL = f"open('{CANARY}', 'w')".encode()
BUILTINS_EVAL = b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c" + bytes([len(EVAL)]) + EVAL + b"\x85R."


def reduce_payload() -> bytes:
    """What `pickle.dumps` writes for an object whose __reduce__ returns (os.system, (cmd,)), written by hand."""
    cmd = TOUCH.encode()
    return b"\x80\x02cposix\nsystem\nq\x00X" + struct.pack("<I", len(cmd)) + cmd + b"\x85q\x01Rq\x02."


INST = b"(X" + struct.pack("<I", len(TOUCH)) + TOUCH.encode() + b"ios\nsystem\n."
OBJ = b"\x80\x02(cos\nsystem\nX" + struct.pack("<I", len(TOUCH)) + TOUCH.encode() + b"o."
OBJ_ALLOWED = b"\x80\x02(ctorch\nFloatStorage\no."
NEWOBJ = b"\x80\x02csubprocess\nPopen\n]X" + struct.pack("<I", len(TOUCH)) + TOUCH.encode() + b"a\x85\x81."


def zip_directory_bomb(entries: int) -> bytes:
    """A zip whose central directory really holds `entries` records (all naming the same stored member)."""
    name = b"archive/data/0"
    local = b"PK\x03\x04" + struct.pack("<5H3L2H", 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0) + name
    record = b"PK\x01\x02" + struct.pack("<6H3L5H2L", 20, 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0, 0, 0, 0, 0, 0)
    directory = (record + name) * entries
    eocd64 = b"PK\x06\x06" + struct.pack("<QHHLLQQQQ", 44, 45, 45, 0, 0, entries, entries, len(directory), len(local))
    locator = b"PK\x06\x07" + struct.pack("<LQL", 0, len(local) + len(directory), 1)
    eocd = b"PK\x05\x06" + struct.pack("<4H2LH", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return local + directory + eocd64 + locator + eocd


def zip64_lie(entries: int, cd_size: int, cd_offset: int) -> bytes:
    """A real torch zip whose end records are replaced by ZIP64 ones claiming the given directory."""
    base = torch_zip(b"\x80\x02}.")
    i = base.rfind(b"PK\x05\x06")
    eocd64 = b"PK\x06\x06" + struct.pack("<QHHLLQQQQ", 44, 45, 45, 0, 0, entries, entries, cd_size, cd_offset)
    locator = b"PK\x06\x07" + struct.pack("<LQL", 0, i, 1)
    eocd = b"PK\x05\x06" + struct.pack("<4H2LH", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return base[:i] + eocd64 + locator + eocd


def zip64_extra_lie() -> bytes:
    """data.pkl's central record says 0xFFFFFFFF and a ZIP64 extra field gives 2^62 bytes."""
    base = bytearray(torch_zip(b"\x80\x02}."))
    c = base.find(b"PK\x01\x02")
    nlen, xlen = struct.unpack_from("<2H", base, c + 28)
    assert xlen == 0
    struct.pack_into("<2L", base, c + 20, 0xFFFFFFFF, 0xFFFFFFFF)
    extra = struct.pack("<2H2Q", 1, 16, 1 << 62, 1 << 62)
    struct.pack_into("<H", base, c + 30, len(extra))
    head, tail = bytes(base[: c + 46 + nlen]), bytes(base[c + 46 + nlen :])
    out = bytearray(head + extra + tail)
    e = out.rfind(b"PK\x05\x06")
    cd_size = struct.unpack_from("<L", out, e + 12)[0]
    struct.pack_into("<L", out, e + 12, cd_size + len(extra))
    return bytes(out)


def deflated_bomb(pattern: bytes, total: int, usize: int | None = None, prefix: bytes = b"") -> bytes:
    """data.pkl of `pattern` repeated to `total` bytes, deflated (a ~1000:1 zip bomb); `usize` may lie."""
    pkl = b"\x80\x02" + prefix + pattern * (total // len(pattern)) + b"."
    data = torch_zip(pkl, deflate=True)
    return lie_usize(data, usize) if usize is not None else data


def _corrupt_deflate() -> bytes:
    data = bytearray(torch_zip(b"\x80\x02" + b"}" * 1000 + b".", deflate=True))
    local = data.find(b"PK\x03\x04")
    nlen, xlen = struct.unpack_from("<2H", data, local + 26)
    start = local + 30 + nlen + xlen
    data[start : start + 8] = b"\xff" * 8
    return bytes(data)


TORCH: list[Case] = [
    Case("pk_os_system", ".bin", "malformed", lambda: torch_zip(OS_SYSTEM), "GLOBAL os.system + REDUCE"),
    Case("pk_builtins_eval", ".bin", "malformed", lambda: torch_zip(BUILTINS_EVAL), "STACK_GLOBAL builtins.eval"),
    Case("pk_reduce", ".bin", "malformed", lambda: torch_zip(reduce_payload()), "__reduce__ → posix.system"),
    Case("pk_inst", ".bin", "malformed", lambda: torch_zip(INST), "INST os system"),
    Case("pk_obj", ".bin", "malformed", lambda: torch_zip(OBJ), "OBJ with os.system"),
    Case("pk_obj_allowed_class", ".bin", "malformed", lambda: torch_zip(OBJ_ALLOWED), "OBJ on an allowed global"),
    Case("pk_newobj_popen", ".bin", "malformed", lambda: torch_zip(NEWOBJ), "NEWOBJ subprocess.Popen"),
    Case("pk_legacy_os_system", ".bin", "no_weights", lambda: OS_SYSTEM, "a bare (legacy) pickle: never parsed, nothing counted"),
    Case(
        "pk_empty_lists_64mb", ".bin", "too_large", lambda: torch_zip(b"\x80\x02" + b"]" * (64 * MIB) + b"."),
        "a stored 64 MB pickle of empty lists", big=True,
    ),
    Case(
        "pk_empty_lists_deflated", ".bin", "too_large", lambda: deflated_bomb(b"]", 64 * MIB),
        "the same, deflated to ~64 KB (its size is declared)",
    ),
    Case(
        "pk_zip_bomb_lying_size", ".bin", "too_large", lambda: deflated_bomb(b"]", 64 * MIB, usize=100),
        "deflated data.pkl claiming 100 bytes that inflates to 64 MB",
    ),
    Case(
        "pk_empty_lists_at_limit", ".bin", "too_large", lambda: deflated_bomb(b"]", 16 * MIB - 16),
        "16 MB of empty lists (within pickle.bytes): the stack limit stops it",
    ),
    Case(
        "pk_list_of_lists", ".bin", "too_large", lambda: deflated_bomb(b"]a", 16 * MIB - 16, prefix=b"]"),
        "one list of 8 M empty lists: container and built-bytes limits",
    ),
    Case("pk_mark_bomb", ".bin", "too_large", lambda: deflated_bomb(b"(", 16 * MIB - 16), "16 M MARKs"),
    Case(
        "pk_deep_nesting", ".bin", "too_large", lambda: deflated_bomb(b"\x85", 4 * MIB, prefix=b"]"),
        "TUPLE1 4 M times: a tuple nested millions deep",
    ),
    Case("pk_memo_bomb", ".bin", "too_large", lambda: deflated_bomb(b"N\x94", 2 * MIB), "1 M MEMOIZE entries"),
    Case("pk_no_stop", ".bin", "too_large", lambda: deflated_bomb(b"N0", 8 * MIB), "4 M opcodes, never STOP"),
    Case(
        "pk_long_bomb", ".bin", "malformed",
        lambda: torch_zip(b"\x80\x02\x8b" + struct.pack("<i", 1 << 20) + b"\xff" * (1 << 20) + b"."),
        "a 1 MB LONG4 integer", big=True,
    ),
    Case(
        "pk_string_2_60", ".bin", "malformed",
        lambda: torch_zip(b"\x80\x04\x8d" + struct.pack("<Q", 1 << 60) + b"x."), "BINUNICODE8 of 2^60 bytes",
    ),
    Case(
        "zip_1e6_directory_entries", ".bin", "too_large", lambda: zip_directory_bomb(1_000_000),
        "a central directory of 10^6 real records (60 MB)", big=True,
    ),
    Case(
        "zip_entries_lie", ".bin", "malformed", lambda: zip64_lie(10**6, 100, 0), "10^6 entries in 100 bytes"
    ),
    Case("zip64_offset_lie", ".bin", "malformed", lambda: zip64_lie(1, 46, 1 << 63), "directory at 2^63"),
    Case("zip64_extra_lie", ".bin", "malformed", zip64_extra_lie, "ZIP64 extra field: data.pkl of 2^62 bytes"),
    Case(
        "zip64_locator_lie", ".bin", "malformed",
        lambda: zip64_lie(1, 46, 0)[:-42] + struct.pack("<LQL", 0, 1 << 62, 1) + zip64_lie(1, 46, 0)[-22:],
        "ZIP64 locator pointing at 2^62",
    ),
    Case("zip_no_directory", ".bin", "malformed", lambda: b"PK\x03\x04" + bytes(200), "no end record"),
    Case(
        "zip_bad_deflate", ".bin", "malformed",
        lambda: _corrupt_deflate(),
        "data.pkl whose deflate stream is garbage",
    ),
]  # fmt: skip


CASES: list[Case] = [*SAFETENSORS, *GGUF, *TORCH]


def write(cases: list[Case], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for case in cases:
        path = out / case.filename
        path.write_bytes(case.build())
        paths.append(path)
    return paths


def manifest() -> str:
    """tests/fixtures/hostile/README.md: every case, where it lives and what it must give."""
    lines = [
        "# Hostile corpus (generated by scripts/make_hostile.py: do not edit)",
        "",
        f"Large cases are built at test time (`python scripts/make_hostile.py --big DIR`). `{CANARY}` is the file",
        "the pickle payloads would create in the working directory, had anything executed them.",
        "",
        "| file | expected | kept | what |",
        "| --- | --- | --- | --- |",
    ]
    for c in CASES:
        lines.append(f"| `{c.filename}` | `{c.expect}` | {'built at test time' if c.big else 'here'} | {c.what} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=Path, help="also write the large cases into this folder")
    args = parser.parse_args()
    small = [c for c in CASES if not c.big]
    for path, case in zip(write(small, OUT), small, strict=True):
        assert path.stat().st_size <= SMALL, f"{case.name} is {path.stat().st_size} bytes: mark it big"
    (OUT / "README.md").write_text(manifest())
    if args.big:
        write([c for c in CASES if c.big], args.big)
    kept = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"{len(small)} cases in {OUT} ({kept:,} bytes); {len(CASES) - len(small)} large ones built at test time")


if __name__ == "__main__":
    main()
