"""Read what a scan needs, concurrently: config, card, side files and the header of every chosen weight file.

After the one listing call, every read goes out at once on a bounded pool. Shard headers are sized from the shard index
(tensor names per shard), so a typical shard costs one ranged request of about its header size; files without an index
get a small probe first. Nothing past a header is ever read.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cardscan.errors import ErrorCode, FormatError, ScanError
from cardscan.parse.gguf import read_gguf
from cardscan.parse.limits import GGUF_READ_BYTES
from cardscan.parse.quant_formats import QUANT_MARKER_FILES, QUANT_SIDE_FILES
from cardscan.parse.reader import BufferedReader
from cardscan.parse.safetensors import LENGTH_PREFIX, MAX_HEADER_BYTES, header_length, parse_header
from cardscan.parse.torch_zip import UnsupportedFormat, read_torch_zip
from cardscan.repo_files import CARD_FILES, CONFIG, PART_FILES
from cardscan.select import Selection
from cardscan.sources.base import Listing, Source
from cardscan.tensors import TensorInfo

# Small JSON files that change how weights are read or what the repo is: each quantization format's side files
# (its row in parse/quant_formats.py) and the files that name a repo's parts (parts.py). Nothing else is read: each
# read is a request the Hub's resolver quota counts (generation_config.json, say, holds nothing a scan uses).


def side_files() -> tuple[str, ...]:
    """Every side file fetch reads (read at call time: quant_formats.register() can add to it)."""
    return (*QUANT_SIDE_FILES, *PART_FILES)


# A probe read for a safetensors file without an index: enough for small headers, and never more than 4 KiB wasted.
PROBE_BYTES = 4096
# One header entry is `"<name>":{"dtype":"BF16","shape":[4096,4096],"data_offsets":[<a>,<b>]},`. Its length beyond
# the name is this constant + the shape's digits + both offsets' digits (about the shard size's). Calibrated on
# the 214 shards of the emulator corpus (real writers' layout): one read per shard, at most ~3.4 KiB over.
ENTRY_FIXED = 48.5
SHAPE_CHARS_2D, SHAPE_CHARS_1D = 10, 5
# Names of tensors that are (almost always) 1-D or tiny: norms, biases, scales, quantization side tensors.
_SMALL_SHAPE = (".bias", "norm.weight", "layernorm.weight", "absmax", "quant_map", "quant_state", "scales", "_scale",
                "scale_inv", "g_idx", "inv_freq", "sinks", "e_score_correction_bias")  # fmt: skip
# Slack: a fixed part plus a little per entry, so large shards are not cut short by small per-entry errors.
HEADER_SLACK, SLACK_PER_ENTRY = 552, 1.5
GGUF_CHUNK = 1 << 20
T = TypeVar("T")
MAX_WORKERS = 64
"""Reads in flight across every scan of the process. One pool serves them all: a pool per scan started and joined
its threads for every repo (about 0.5 ms of CPU a repo in a batch; bench/peers.py)."""
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _shared_pool() -> ThreadPoolExecutor:
    """The process's read pool, started on first use. Tasks never wait on tasks submitted after them (a header
    waits only on its index, submitted first; the pool is FIFO), so sharing it cannot deadlock."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="cardscan-fetch")
        return _pool


@dataclass(frozen=True)
class FileHeader:
    """The parsed header of one weight file."""

    path: str
    """Repo-relative path."""
    format: str
    """safetensors, gguf or torch."""
    tensors: tuple[TensorInfo, ...]
    """Every tensor the header lists."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """Free-form metadata: safetensors `__metadata__`, GGUF key-values."""
    header_bytes: int = 0
    """Bytes that make up the header (for safetensors 8 + N)."""
    file_size: int | None = None
    """The whole file's size, when known."""
    notes: tuple[str, ...] = ()
    """What the reader noticed (header-only file, legacy pickle…)."""


@dataclass(frozen=True)
class Fetched:
    """Everything read from a source for one scan, before interpretation."""

    listing: Listing
    """The revision's file list."""
    selection: Selection
    """Which weight set was read."""
    config: dict[str, Any] | None
    """config.json, parsed."""
    card: bytes | None
    """README.md bytes."""
    index: dict[str, Any] | None
    """The shard index, parsed."""
    side_files: dict[str, Any]
    """Other small JSON files that were present (quantize_config.json, adapter_config.json, modules.json…)."""
    headers: tuple[FileHeader, ...]
    """One per chosen weight file, in shard order."""
    warnings: tuple[str, ...] = ()
    """Problems that did not stop the scan (a malformed optional file…)."""


def fetch(source: Source, listing: Listing, selection: Selection, *, max_header: int = MAX_HEADER_BYTES) -> Fetched:
    """Read config, card, side files and weight headers concurrently; raise ScanError if a weight header fails."""
    present = {f.path for f in listing.files}
    warnings: list[str] = []
    chosen = selection.chosen
    pool = _Submitted(_shared_pool())
    with pool:
        # The index is submitted first: header tasks wait on it, and the pool runs tasks in order, so it never starves.
        index_f = pool.submit(_read_index, source, chosen.index) if chosen and chosen.index in present else None
        config_f = pool.submit(_read_object, source, CONFIG) if CONFIG in present else None
        card_name = next((c for c in CARD_FILES if c in present), None)
        card_f = pool.submit(source.read_file, card_name) if card_name else None
        # Side files are objects, except sentence-transformers' modules.json (a list).
        side_f = {name: pool.submit(_read_json, source, name, (dict, list)) for name in side_files() if name in present}
        header_fs = [
            pool.submit(_read_header, source, listing, path, chosen.format, index_f, max_header)
            for path in chosen.files
        ] if chosen else []  # fmt: skip
        headers = tuple(f.result() for f in header_fs)
        config = _optional(config_f, CONFIG, warnings)
        card = _optional(card_f, card_name or "", warnings)
        shard = _optional(index_f, chosen.index or "" if chosen else "", warnings)
        index = shard.raw if shard else None
        side = {name: v for name, f in side_f.items() if (v := _optional(f, name, warnings)) is not None}
        side |= {name: {} for name in QUANT_MARKER_FILES if name in present}  # presence is the fact; never read
    return Fetched(listing, selection, config, card, index, side, headers, tuple(warnings))


class _Submitted:
    """One scan's share of the read pool: on the way out every read of this scan has finished or been cancelled,
    as leaving a pool of its own used to guarantee (a failed header must not leave reads running)."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool
        self.futures: list[Future[Any]] = []

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        future = self.pool.submit(fn, *args)
        self.futures.append(future)
        return future

    def __enter__(self) -> _Submitted:
        return self

    def __exit__(self, *exc: object) -> None:
        for future in self.futures:
            future.cancel()
        for future in self.futures:
            if not future.cancelled():
                future.exception()  # waits; a read's error was already taken by whoever needed it


def _optional(future: Future[T] | None, name: str, warnings: list[str]) -> T | None:
    """Config, card and side files are optional: a bad one is a warning, not a failed scan."""
    if future is None:
        return None
    try:
        return future.result()
    except ScanError as exc:
        if exc.code in (ErrorCode.MALFORMED,):
            warnings.append(f"{name}: {exc.message}")
            return None
        raise


def _read_object(source: Source, path: str) -> dict[str, Any] | None:
    """A JSON file that must hold an object."""
    value = _read_json(source, path, (dict,))
    return value if isinstance(value, dict) else None


def _read_json(source: Source, path: str, shapes: tuple[type, ...] = (dict,)) -> Any:
    data = source.read_file(path)
    if data is None:
        return None
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScanError(ErrorCode.MALFORMED, f"not valid JSON ({exc})") from None
    if not isinstance(value, shapes):
        raise ScanError(ErrorCode.MALFORMED, "not a JSON object" if shapes == (dict,) else "unexpected JSON shape")
    return value


def _read_header(
    source: Source, listing: Listing, path: str, fmt: str, index_f: Future[ShardIndex | None] | None, max_header: int
) -> FileHeader:
    reader = HEADER_READERS.get(fmt)
    if reader is None:
        raise ScanError(ErrorCode.UNSUPPORTED, f"{path}: cannot read {fmt} weight files")
    entry = listing.file(path)
    size = entry.size if entry else None
    try:
        return reader(source, path, size, index_f, max_header)
    except FormatError as exc:
        # A file over a parse budget carries `too_large` (cardscan.parse.limits.LimitExceeded); the rest are malformed.
        raise ScanError(getattr(exc, "code", ErrorCode.MALFORMED), f"{path}: {exc}") from None


def _read_safetensors(
    source: Source, path: str, size: int | None, index_f: Future[ShardIndex | None] | None, max_header: int
) -> FileHeader:
    prepare = getattr(source, "prepare", None)  # the Hub resolves its CDN hop while the index is still in flight
    if index_f is not None and prepare is not None and not index_f.done():
        prepare(path)
    first = LENGTH_PREFIX + _estimate_header(index_f, path, size) if index_f else PROBE_BYTES
    if size is not None:
        first = min(first, size)
    chunk = source.read_range(path, 0, first)
    data, total = chunk.data, chunk.total if chunk.total is not None else size
    n = header_length(data, max_header)
    if total is not None and LENGTH_PREFIX + n > total:
        raise FormatError(f"header length {n:,} runs past the end of the {total:,}-byte file")
    if len(data) < LENGTH_PREFIX + n:
        rest = source.read_range(path, len(data), LENGTH_PREFIX + n).data
        data += rest
        if len(data) < LENGTH_PREFIX + n:
            raise FormatError(f"file ends inside its header ({len(data):,} of {LENGTH_PREFIX + n:,} bytes)")
    header_only = total is not None and total == LENGTH_PREFIX + n
    parsed = parse_header(data[: LENGTH_PREFIX + n], file=path, file_size=None if header_only else total)
    notes = ("header-only file: data section not present",) if header_only and parsed.data_bytes else ()
    return FileHeader(path, "safetensors", parsed.tensors, parsed.metadata, LENGTH_PREFIX + n, total, notes)


def _estimate_header(index_f: Future[ShardIndex | None], path: str, size: int | None) -> int:
    """Expected JSON length of one shard's header, from its tensor names in the index and the shard's size."""
    try:
        index = index_f.result()
    except ScanError:
        index = None
    names = index.names_by_file.get(path.rsplit("/", 1)[-1], ()) if index else ()
    if not names:
        return PROBE_BYTES - LENGTH_PREFIX
    # Most offsets are about as long as the shard size; a header-only copy (a few KB) says nothing, assume GB shards.
    offset_digits = len(str(size)) - 0.2 if size and size > 1 << 24 else 10
    fixed = ENTRY_FIXED + 2 * offset_digits
    total = sum(len(n) + fixed + (SHAPE_CHARS_1D if n.endswith(_SMALL_SHAPE) else SHAPE_CHARS_2D) for n in names)
    return int(total + HEADER_SLACK + SLACK_PER_ENTRY * len(names))


@dataclass(frozen=True)
class ShardIndex:
    """A parsed `*.safetensors.index.json` with its tensor names grouped by shard (once: DeepSeek-V3 has 92k)."""

    raw: dict[str, Any]
    """The index as read."""
    names_by_file: dict[str, list[str]]
    """Shard file name → tensor names it holds."""


def _read_index(source: Source, path: str) -> ShardIndex | None:
    raw = _read_object(source, path)
    return shard_index(raw) if raw is not None else None


def shard_index(raw: dict[str, Any]) -> ShardIndex:
    """Group an index's tensor names by shard file."""
    grouped: dict[str, list[str]] = {}
    for name, file in (raw.get("weight_map") or {}).items():
        grouped.setdefault(str(file).rsplit("/", 1)[-1], []).append(name)
    return ShardIndex(raw, grouped)


def _read_gguf(
    source: Source, path: str, size: int | None, index_f: Future[ShardIndex | None] | None, max_header: int
) -> FileHeader:
    # GGUF headers carry whole vocabularies (several MB), so their read budget is their own, not the JSON header's.
    budget = max(max_header, GGUF_READ_BYTES.value)
    reader = BufferedReader(_read_at(source, path), size, chunk=GGUF_CHUNK, max_bytes=budget)
    header = read_gguf(reader)
    return FileHeader(path, "gguf", header.tensors, dict(header.metadata), header.header_bytes, size, header.notes)


def _read_torch(
    source: Source, path: str, size: int | None, index_f: Future[ShardIndex | None] | None, max_header: int
) -> FileHeader:
    if size is None:
        size = source.read_range(path, 0, 1).total
    if size is None:
        raise FormatError("file size unknown; cannot locate the zip directory")
    try:
        checkpoint = read_torch_zip(_read_at(source, path), size)
    except UnsupportedFormat as exc:
        return FileHeader(path, "torch", (), {}, 0, size, (str(exc),))
    return FileHeader(path, "torch", checkpoint.tensors, {}, 0, size, tuple(checkpoint.notes))


def _read_at(source: Source, path: str) -> Callable[[int, int], bytes]:
    return lambda offset, length: source.read_range(path, offset, offset + length).data


HEADER_READERS: dict[str, Callable[..., FileHeader]] = {
    "safetensors": _read_safetensors,
    "gguf": _read_gguf,
    "torch": _read_torch,
}
