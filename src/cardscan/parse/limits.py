"""Per-file budgets every weight-file parser enforces: one table, each limit with the reason for its value.

cardscan reads bytes chosen by strangers. Every count, length and size a header declares is checked against this
table before anything is allocated or fetched for it, so one hostile file costs at most a few tens of MB and a
second or two, and ends as a result (`too_large` or `malformed`) instead of taking a batch down. The values leave a
wide margin over the largest real files we know of (the reason says which); docs/security.md shows this table and
a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from cardscan.errors import ErrorCode, FormatError

MIB = 1 << 20


@dataclass(frozen=True)
class Limit:
    """One budget: a name the error message carries, its value and why it is that value."""

    name: str
    """Stable identifier, printed in the error message (`safetensors.header_bytes`)."""
    value: int
    """The largest allowed count or size (inclusive)."""
    unit: str
    """What is counted (`bytes`, `tensors`, `levels`…)."""
    code: ErrorCode
    """The error a file over the limit gets: `too_large` for sizes a real file could approach, `malformed` for
    structure no valid file has."""
    reason: str
    """One line: why this value."""


class LimitExceeded(FormatError):
    """A file over one of the budgets in `LIMITS`; `code` says which error code the scan result carries."""

    def __init__(self, limit: Limit, got: int | None, what: str) -> None:
        got_text = f"{got:,}" if got is not None else "more"
        super().__init__(f"{what}: {got_text} {limit.unit}, over the limit {limit.name}={limit.value:,}")
        self.limit = limit
        self.code = limit.code
        self._args = (limit, got, what)

    # picklable, so it crosses from an isolated worker (parse/isolate.py) intact
    def __reduce__(self) -> tuple[type[LimitExceeded], tuple[Limit, int | None, str]]:
        return (type(self), self._args)


def check(limit: Limit, got: int, what: str) -> int:
    """`got` when it is within `limit`, else raise LimitExceeded naming the limit."""
    if got > limit.value:
        raise LimitExceeded(limit, got, what)
    return got


_BIG, _BAD = ErrorCode.TOO_LARGE, ErrorCode.MALFORMED

# --- safetensors (https://github.com/huggingface/safetensors#format) -----------------------------------------------
ST_HEADER_BYTES = Limit(
    "safetensors.header_bytes", 8 * MIB, "bytes", _BIG,
    "a header is held ~4 times while read and parsed; shards' are KBs, 65k tensors with typical names ~7 MB",
)  # fmt: skip
ST_TENSORS = Limit(
    "safetensors.tensors", 65_536, "tensors", _BIG,
    "~0.7 KB of memory each while parsing; real shards hold hundreds to a few thousand",
)  # fmt: skip
ST_METADATA_KEYS = Limit(
    "safetensors.metadata_keys", 4_096, "keys", _BIG,
    "__metadata__ holds a handful of string pairs (format, training notes) in real files",
)  # fmt: skip
JSON_DEPTH = Limit(
    "json.depth", 8, "levels", _BAD,
    "the format nests 3 deep (header → tensor → shape); deeper input is not a header, and 8 never recurses far",
)  # fmt: skip
JSON_VALUES = Limit(
    "json.values", 16 * 65_536, "values", _BIG,
    "every JSON value costs ~50-200 B parsed; a tensor entry has ~10 (object, 3 keys, shape dims, 2 offsets)",
)  # fmt: skip
JSON_INT_DIGITS = Limit(
    "json.int_digits", 20, "digits", _BAD,
    "shapes and offsets are u64 (20 digits); longer literals are lies and Python refuses > 4,300 digits anyway",
)  # fmt: skip

# --- GGUF (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md) ----------------------------------------------
GGUF_TENSORS = Limit(
    "gguf.tensors", 65_536, "tensors", _BIG,
    "~300 B each once read; the largest real GGUFs (DeepSeek-V3, Llama 405B) hold ~1,100 (experts are merged)",
)  # fmt: skip
GGUF_METADATA_KEYS = Limit(
    "gguf.metadata_keys", 4_096, "keys", _BIG,
    "real files carry 30-80 key-value pairs",
)  # fmt: skip
GGUF_STRING_BYTES = Limit(
    "gguf.string_bytes", 16 * MIB, "bytes", _BIG,
    "one string (chat templates are ~20 KB); a 2^60 length is refused before any read",
)  # fmt: skip
GGUF_ARRAY_ITEMS = Limit(
    "gguf.array_items", 1 << 24, "items", _BIG,
    "one array; the longest real ones are tokenizer vocabularies and scores (262,144 for Gemma 3)",
)  # fmt: skip
GGUF_WALKED_ITEMS = Limit(
    "gguf.walked_items", 1 << 21, "items", _BIG,
    "string items of large arrays walked one by one, across the file: Llama 3's vocab + merges are ~410k",
)  # fmt: skip
GGUF_KEPT_ITEMS = Limit(
    "gguf.kept_items", 1 << 18, "items", _BIG,
    "array items decoded into memory across the file (small arrays are kept as lists; 1 byte can become 32)",
)  # fmt: skip
GGUF_KEPT_STRING_BYTES = Limit(
    "gguf.kept_string_bytes", 16 * MIB, "bytes", _BIG,
    "metadata string bytes kept in memory across the file",
)  # fmt: skip
GGUF_READ_BYTES = Limit(
    "gguf.read_bytes", 64 * MIB, "bytes", _BIG,
    "bytes a header read may fetch (read in 1 MB chunks, never held at once); big vocabularies take ~8 MB",
)  # fmt: skip

# --- torch zip checkpoints (APPNOTE.TXT; torch/serialization.py) -----------------------------------------------------
ZIP_ENTRIES = Limit(
    "zip.entries", 65_536 + 16, "entries", _BIG,
    "torch writes one entry per storage plus ~5 (data.pkl, version, byteorder…), so the tensor limit bounds it",
)  # fmt: skip
ZIP_DIRECTORY_BYTES = Limit(
    "zip.directory_bytes", 8 * MIB, "bytes", _BIG,
    "~100 B per entry (46 fixed + the name); 65k entries fit in ~7 MB",
)  # fmt: skip
ZIP_READ_BYTES = Limit(
    "zip.read_bytes", 48 * MIB, "bytes", _BIG,
    "tail + central directory + data.pkl, together, that one checkpoint read may fetch",
)  # fmt: skip
PICKLE_BYTES = Limit(
    "pickle.bytes", 16 * MIB, "bytes", _BIG,
    "data.pkl, stored or inflated; ~200 B per tensor, so a 65k-tensor checkpoint needs ~13 MB",
)  # fmt: skip
PICKLE_OPCODES = Limit(
    "pickle.opcodes", 2_000_000, "opcodes", _BIG,
    "~0.5 µs each in the restricted machine; torch.save writes ~25 per tensor",
)  # fmt: skip
PICKLE_STACK = Limit(
    "pickle.stack", 65_536, "items", _BIG,
    "torch's pickles batch 1,000 items per MARK and nest a few levels; MARK bombs push millions",
)  # fmt: skip
PICKLE_MEMO = Limit(
    "pickle.memo", 1 << 18, "entries", _BIG,
    "torch memoizes ~8 objects per tensor; each entry costs ~100 B",
)  # fmt: skip
PICKLE_CONTAINER_ITEMS = Limit(
    "pickle.container_items", 1 << 18, "items", _BIG,
    "one list, tuple or dict (a state dict holds one pair per tensor)",
)  # fmt: skip
PICKLE_BUILT_BYTES = Limit(
    "pickle.built_bytes", 32 * MIB, "bytes", _BIG,
    "estimated memory of every value built (~1.2 KB per tensor for torch.save's pickles: ~28k tensors)",
)  # fmt: skip
PICKLE_LONG_BYTES = Limit(
    "pickle.long_bytes", 1024, "bytes", _BAD,
    "LONG1/LONG4 integers; torch writes at most 8-byte sizes, and 1 KB ones keep any arithmetic cheap",
)  # fmt: skip
PICKLE_NESTING = Limit(
    "pickle.nesting", 32, "levels", _BIG,
    "how deep tensors are looked for in the unpickled object (state dicts nest 1-4 levels)",
)  # fmt: skip

LIMITS: tuple[Limit, ...] = (
    ST_HEADER_BYTES, ST_TENSORS, ST_METADATA_KEYS, JSON_DEPTH, JSON_VALUES, JSON_INT_DIGITS,
    GGUF_TENSORS, GGUF_METADATA_KEYS, GGUF_STRING_BYTES, GGUF_ARRAY_ITEMS, GGUF_WALKED_ITEMS, GGUF_KEPT_ITEMS,
    GGUF_KEPT_STRING_BYTES, GGUF_READ_BYTES,
    ZIP_ENTRIES, ZIP_DIRECTORY_BYTES, ZIP_READ_BYTES,
    PICKLE_BYTES, PICKLE_OPCODES, PICKLE_STACK, PICKLE_MEMO, PICKLE_CONTAINER_ITEMS, PICKLE_BUILT_BYTES,
    PICKLE_LONG_BYTES, PICKLE_NESTING,
)  # fmt: skip
"""Every limit, in the order docs/security.md lists them."""


def limits_table() -> str:
    """The Markdown table docs/security.md embeds (a test checks the file holds exactly this)."""
    rows = ["| limit | value | error | why |", "| --- | --- | --- | --- |"]
    for limit in LIMITS:
        rows.append(f"| `{limit.name}` | {limit.value:,} {limit.unit} | `{limit.code.value}` | {limit.reason} |")
    return "\n".join(rows)


if __name__ == "__main__":  # `python -m cardscan.parse.limits` prints the table for docs/security.md
    print(limits_table())
