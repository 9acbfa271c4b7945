"""GGUF headers: metadata and tensor infos read without the tensor data.

Layout: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md. Every count and length the file declares is
checked against cardscan.parse.limits (and against the file size when known) before it is read or kept.

Large arrays (tokenizer tokens, scores, merges) are summarised and skipped by length, so a remote read fetches only
the small parts of the header. Shapes keep GGUF order: `dims[0]` is the innermost (fastest-varying) dimension, i.e.
a Linear weight of HF shape `(out, in)` is stored as `(in, out)`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from cardscan.errors import FormatError
from cardscan.parse.ggml_types import GGUF_FILE_TYPE_GUESSED, GGUF_FILE_TYPES, ggml_type
from cardscan.parse.limits import (
    GGUF_ARRAY_ITEMS,
    GGUF_KEPT_ITEMS,
    GGUF_KEPT_STRING_BYTES,
    GGUF_METADATA_KEYS,
    GGUF_STRING_BYTES,
    GGUF_TENSORS,
    GGUF_WALKED_ITEMS,
    check,
)
from cardscan.parse.reader import BufferedReader
from cardscan.tensors import TensorInfo

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32  # gguf-py GGUF_DEFAULT_ALIGNMENT

# Structural caps (the size budgets live in cardscan.parse.limits).
MAX_DIMS = 8
MAX_ARRAY_DEPTH = 3
SMALL_ARRAY = 1024
"""Arrays up to this many items are kept as lists; longer ones become an ArraySummary."""
INT64_MAX = (1 << 63) - 1
# Smallest possible encodings, to refuse counts that cannot fit in the file: a kv is a key length (8), a type (4)
# and at least one byte of value; a tensor info a name length (8), n_dims (4), a type (4) and an offset (8).
_MIN_KV_BYTES, _MIN_TENSOR_INFO_BYTES = 13, 24

# GGUF metadata value type id → (name, reader scalar kind; None for STRING / ARRAY). gguf-py `GGUFValueType`.
VALUE_TYPES: dict[int, tuple[str, str | None]] = {
    0: ("U8", "u8"),
    1: ("I8", "i8"),
    2: ("U16", "u16"),
    3: ("I16", "i16"),
    4: ("U32", "u32"),
    5: ("I32", "i32"),
    6: ("F32", "f32"),
    7: ("BOOL", "bool"),
    8: ("STRING", None),
    9: ("ARRAY", None),
    10: ("U64", "u64"),
    11: ("I64", "i64"),
    12: ("F64", "f64"),
}
_SCALAR_BYTES = {"u8": 1, "i8": 1, "bool": 1, "u16": 2, "i16": 2, "u32": 4, "i32": 4, "f32": 4,
                 "u64": 8, "i64": 8, "f64": 8}  # fmt: skip
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True)
class ArraySummary:
    """A metadata array too large to keep (tokenizer vocab, scores, merges): its element type and length."""

    type: str
    """Element type name (`STRING`, `F32`, `I32`, `ARRAY`…)."""
    length: int
    """Number of items."""


Scalar = int | float | bool | str
MetaValue = Scalar | list["MetaValue"] | ArraySummary


@dataclass(frozen=True)
class GGUFHeader:
    """Everything a GGUF file says before its tensor data."""

    version: int
    """GGUF format version (1, 2 or 3)."""
    metadata: dict[str, MetaValue]
    """Key → value; large arrays are ArraySummary, small ones lists."""
    tensors: tuple[TensorInfo, ...]
    """Tensor infos: dtype is the GGML type name, shape in GGUF order (dims[0] innermost), exact bytes from blocks."""
    alignment: int
    """`general.alignment` (default 32)."""
    data_offset: int
    """Offset where tensor data starts (header end rounded up to the alignment)."""
    header_bytes: int
    """Bytes of the header itself, magic to the last tensor info."""
    big_endian: bool = False
    """Whether the file stores numbers big-endian."""
    unknown_types: tuple[str, ...] = ()
    """Names of tensors whose GGML type id is unknown (their nbytes is the gap to the next tensor, or 0)."""
    notes: tuple[str, ...] = ()
    """What the reader noticed (a header-only copy without its tensor data)."""

    @property
    def file_type(self) -> int | None:
        """`general.file_type` when present."""
        value = self.metadata.get("general.file_type")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def tensor_bytes(self) -> int:
        """Sum of the tensors' stored bytes."""
        return sum(t.nbytes for t in self.tensors)


class _Parser:
    """One pass over a GGUF header; holds the byte order and the width of counts (u32 in v1, u64 after)."""

    def __init__(self, reader: BufferedReader) -> None:
        self.r = reader
        self.count_kind = "u64"
        self.kept_items = 0
        """Array items decoded into lists so far (small arrays of arrays multiply)."""
        self.kept_string_bytes = 0
        """String bytes decoded so far (keys, values, tensor names)."""
        self.walked_items = 0
        """Items of large string/array arrays walked one by one so far."""

    def count(self) -> int:
        return int(self.r.scalar(self.count_kind))

    def remaining(self) -> int | None:
        return None if self.r.size is None else self.r.size - self.r.pos

    def fits(self, n: int, item_bytes: int, what: str) -> None:
        """Refuse a declared length that cannot fit in the rest of the file (a lie, not a big file)."""
        left = self.remaining()
        if left is not None and n * item_bytes > left:
            raise FormatError(f"GGUF {what} of {n:,} claimed at offset {self.r.pos} runs past the end of the file")

    def string(self) -> str:
        n = self.count()
        self.fits(n, 1, "string")
        check(GGUF_STRING_BYTES, n, f"GGUF string at offset {self.r.pos}")
        self.kept_string_bytes += n
        check(GGUF_KEPT_STRING_BYTES, self.kept_string_bytes, "GGUF strings decoded")
        return self.r.bytes(n).decode("utf-8", errors="replace")

    def value(self, type_id: int, depth: int = 0) -> MetaValue:
        if type_id not in VALUE_TYPES:
            raise FormatError(f"unknown GGUF value type {type_id} at offset {self.r.pos}")
        if type_id == _STRING:
            return self.string()
        if type_id == _ARRAY:
            return self.array(depth + 1)
        return self.r.scalar(VALUE_TYPES[type_id][1])  # type: ignore[arg-type]

    def array(self, depth: int) -> list[MetaValue] | ArraySummary:
        if depth > MAX_ARRAY_DEPTH:
            raise FormatError(f"GGUF arrays nested deeper than {MAX_ARRAY_DEPTH}")
        elem = self.r.u32()
        if elem not in VALUE_TYPES:
            raise FormatError(f"unknown GGUF array element type {elem} at offset {self.r.pos}")
        n = self.count()
        name, kind = VALUE_TYPES[elem]
        # every item takes at least one byte (a string its 4- or 8-byte length)
        self.fits(n, _SCALAR_BYTES[kind] if kind else 4, "array")
        check(GGUF_ARRAY_ITEMS, n, f"GGUF array at offset {self.r.pos}")
        if n <= SMALL_ARRAY:
            self.kept_items += n
            check(GGUF_KEPT_ITEMS, self.kept_items, "GGUF array items decoded")
            if kind is not None:
                return list(self.r.scalars(kind, n))
            return [self.value(elem, depth) for _ in range(n)]
        self.skip_items(elem, n, depth)
        return ArraySummary(name, n)

    def skip_items(self, elem: int, n: int, depth: int) -> None:
        """Skip `n` array items without decoding; fixed-width items are skipped in one step, unfetched."""
        kind = VALUE_TYPES[elem][1]
        if kind is not None:
            self.r.skip(n * _SCALAR_BYTES[kind])
            return
        self.walked_items += n
        check(GGUF_WALKED_ITEMS, self.walked_items, "GGUF array items walked")
        if elem == _STRING:
            self.r.skip_counted(n, 4 if self.count_kind == "u32" else 8, GGUF_STRING_BYTES.value)
            return
        for _ in range(n):
            self.array(depth + 1)

    def tensor_info(self) -> tuple[str, tuple[int, ...], int, int]:
        name = self.string()
        n_dims = self.r.u32()
        if n_dims > MAX_DIMS:
            raise FormatError(f"tensor {name[:80]!r}: {n_dims} dims exceeds {MAX_DIMS}")
        dims = tuple(self.count() for _ in range(n_dims))
        numel = 1
        for d in dims:
            numel *= d
        if numel > INT64_MAX:
            raise FormatError(f"tensor {name[:80]!r}: shape {dims} has more elements than int64 can count")
        return name, dims, self.r.u32(), self.r.u64()


def _read_preamble(p: _Parser) -> tuple[int, int, int]:
    """Magic, version (detecting byte order) and the two counts."""
    if p.r.bytes(4) != GGUF_MAGIC:
        raise FormatError("not a GGUF file (magic is not 'GGUF')")
    version = p.r.u32()
    if version & 0xFFFF == 0 and version:  # written on a big-endian host: the u32 reads byte-swapped
        p.r.big_endian = True
        version = int.from_bytes(version.to_bytes(4, "little"), "big")
    if version not in (1, 2, 3):
        raise FormatError(f"unsupported GGUF version {version}")
    if version == 1:
        p.count_kind = "u32"
    n_tensors, n_kv = p.count(), p.count()
    left = p.remaining()
    if left is not None and n_tensors * _MIN_TENSOR_INFO_BYTES + n_kv * _MIN_KV_BYTES > left:
        raise FormatError(f"GGUF tensor_count {n_tensors:,} and kv_count {n_kv:,} cannot fit in the file")
    check(GGUF_TENSORS, n_tensors, "GGUF tensor_count")
    check(GGUF_METADATA_KEYS, n_kv, "GGUF kv_count")
    return version, n_tensors, n_kv


def _alignment(metadata: dict[str, MetaValue]) -> int:
    value = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0 or value & (value - 1):
        raise FormatError(f"general.alignment must be a power of two, got {value!r}")
    return value


def _tensor(name: str, dims: tuple[int, ...], type_id: int) -> TensorInfo:
    gtype = ggml_type(type_id)
    numel = 1
    for d in dims:
        numel *= d
    nbytes = gtype.nbytes(numel)
    if gtype.known and nbytes is None:
        raise FormatError(f"tensor {name[:80]!r}: {numel} elements is not a whole number of {gtype.name} blocks")
    return TensorInfo(name=name, dtype=gtype.name, shape=dims, nbytes=nbytes or 0)


def _size_unknown(
    tensors: list[TensorInfo], offsets: list[int], unknown: set[int], data_size: int | None
) -> list[TensorInfo]:
    """Give unknown-type tensors the gap to the next tensor's data (an upper bound: includes padding)."""
    ends = sorted(set(offsets))
    out = []
    for i, t in enumerate(tensors):
        if i in unknown:
            j = bisect.bisect_right(ends, offsets[i])
            end = ends[j] if j < len(ends) else data_size
            if end is not None and end >= offsets[i]:
                t = TensorInfo(t.name, t.dtype, t.shape, end - offsets[i], t.file)
        out.append(t)
    return out


def read_gguf(reader: BufferedReader) -> GGUFHeader:
    """Parse a GGUF header from `reader` (positioned at offset 0); raises FormatError on anything malformed."""
    p = _Parser(reader)
    version, n_tensors, n_kv = _read_preamble(p)
    metadata: dict[str, MetaValue] = {}
    for _ in range(n_kv):
        key = p.string()
        if key in metadata:  # a second value would silently overwrite the first (gguf-py refuses duplicates too)
            raise FormatError(f"GGUF key {key[:80]!r} appears twice")
        metadata[key] = p.value(reader.u32())
    tensors, offsets, unknown, names = [], [], set(), set()
    for i in range(n_tensors):
        name, dims, type_id, offset = p.tensor_info()
        if name in names:
            raise FormatError(f"GGUF tensor {name[:80]!r} appears twice")
        names.add(name)
        tensor = _tensor(name, dims, type_id)
        if tensor.dtype.startswith("unknown("):
            unknown.add(i)
        tensors.append(tensor)
        offsets.append(offset)
    alignment = _alignment(metadata)
    header_bytes = reader.pos
    data_offset = -(-header_bytes // alignment) * alignment
    data_size = None if reader.size is None else reader.size - data_offset
    notes: tuple[str, ...] = ()
    if data_size is not None and data_size <= 0:  # a header-only copy: accepted, and said so
        notes = ("header-only file: tensor data not present",) if tensors else ()
        data_size = None
    _check_data_layout(tensors, offsets, unknown, data_size)
    if unknown:
        tensors = _size_unknown(tensors, offsets, unknown, data_size)
    return GGUFHeader(
        version=version,
        metadata=metadata,
        tensors=tuple(tensors),
        alignment=alignment,
        data_offset=data_offset,
        header_bytes=header_bytes,
        big_endian=reader.big_endian,
        unknown_types=tuple(tensors[i].name for i in sorted(unknown)),
        notes=notes,
    )


def _check_data_layout(tensors: list[TensorInfo], offsets: list[int], unknown: set[int], data_size: int | None) -> None:
    """Tensor data may not overlap, nor run past the end of the file when its size is known (not header-only)."""
    spans = sorted((offsets[i], offsets[i] + t.nbytes, t.name) for i, t in enumerate(tensors) if i not in unknown)
    end = 0
    for begin, stop, name in spans:
        if begin < end:
            raise FormatError(f"GGUF tensor {name[:80]!r} overlaps the previous tensor's data (offset {begin:,})")
        end = stop
    if data_size is not None and end > data_size:
        raise FormatError(f"GGUF tensors describe {end:,} data bytes but the file holds {data_size:,}")


def parse_gguf(data: bytes) -> GGUFHeader:
    """Parse a GGUF header from bytes in memory (a prefix is enough if it covers the header)."""
    return read_gguf(BufferedReader.from_bytes(data))


def gguf_parameter_count(header: GGUFHeader) -> int:
    """Parameters = Σ elements over all tensors (huggingface.js gguf.ts; the Hub's GGUF count)."""
    return sum(t.numel for t in header.tensors)


# HF config key ← GGUF key under `{arch}.` (llama.cpp `LLM_KV_*`, gguf-py `Keys.LLM` / `Keys.Attention`).
ARCH_KEY_MAP: dict[str, str] = {
    "num_hidden_layers": "block_count",
    "hidden_size": "embedding_length",
    "intermediate_size": "feed_forward_length",
    "moe_intermediate_size": "expert_feed_forward_length",
    "num_attention_heads": "attention.head_count",
    "num_key_value_heads": "attention.head_count_kv",
    "head_dim": "attention.key_length",
    "v_head_dim": "attention.value_length",
    "max_position_embeddings": "context_length",
    "sliding_window": "attention.sliding_window",
    "num_local_experts": "expert_count",
    "num_experts_per_tok": "expert_used_count",
    "n_shared_experts": "expert_shared_count",
    "kv_lora_rank": "attention.kv_lora_rank",
    "q_lora_rank": "attention.q_lora_rank",
    "rms_norm_eps": "attention.layer_norm_rms_epsilon",
    "rope_theta": "rope.freq_base",
    "vocab_size": "vocab_size",
}

# general.file_type → torch_dtype, only for unquantized files (quantized ones carry gguf_file_type instead).
FILE_TYPE_TORCH_DTYPE: dict[int, str] = {0: "float32", 1: "float16", 32: "bfloat16"}

HF_URL_PREFIX = "https://huggingface.co/"


def _base_models(metadata: dict[str, MetaValue]) -> list[str]:
    """`general.base_model.N.*` → repo ids (from repo_url when it is a Hub URL, else organization/name)."""
    count = metadata.get("general.base_model.count")
    out = []
    for i in range(count if isinstance(count, int) and 0 < count <= SMALL_ARRAY else 0):
        url = metadata.get(f"general.base_model.{i}.repo_url")
        name = metadata.get(f"general.base_model.{i}.name")
        org = metadata.get(f"general.base_model.{i}.organization")
        if isinstance(url, str) and url.startswith(HF_URL_PREFIX):
            out.append(url[len(HF_URL_PREFIX) :].strip("/"))
        elif isinstance(name, str):
            out.append(f"{org}/{name}" if isinstance(org, str) else name)
    return out


def _vocab_size(metadata: dict[str, MetaValue]) -> int | None:
    tokens = metadata.get("tokenizer.ggml.tokens")
    if isinstance(tokens, ArraySummary):
        return tokens.length
    return len(tokens) if isinstance(tokens, list) else None


# llama.cpp caches MLA as the compact latent only for files converted with the split attention tensors and the
# `*_mla` keys (convert_hf_to_gguf.py since ggml-org/llama.cpp#12801); older DeepSeek-V2 GGUFs run as plain MHA.
MLA_SPLIT_TENSORS = ("attn_k_b.weight", "attn_v_b.weight")


def _numbers(value: MetaValue | None) -> list[int | float] | None:
    """A per-layer list's items when it is a non-empty list of numbers, else None."""
    if not isinstance(value, list) or not value:
        return None
    numbers = [v for v in value if isinstance(v, int | float)]
    return numbers if len(numbers) == len(value) else None


def gguf_config(metadata: dict[str, MetaValue], tensor_names: Iterable[str] = ()) -> dict[str, Any]:
    """HF-config-style facts from GGUF metadata, so one estimator serves both (see ARCH_KEY_MAP).

    Per-layer lists (e.g. `head_count_kv` with 0 on non-attention layers) map to the max under the HF key and the
    full list under `<key>_per_layer`. `rope.dimension_count` becomes `qk_rope_head_dim` only for MLA models
    (those with `kv_lora_rank`). `vocab_size` falls back to the tokenizer array length. `general.*` gives
    `model_type`, `gguf_size_label`, `gguf_file_type`, `quantized_by`, `base_model` and, for F32/F16/BF16 files,
    `torch_dtype`. MLA files also get `qk_nope_head_dim` / `v_head_dim` (per-head sizes) and
    `gguf_mla_latent_cache`: whether the file has the split `attn_k_b`/`attn_v_b` tensors (`tensor_names`) or the
    `attention.key_length_mla` key, i.e. whether llama.cpp can cache the latent.
    """
    arch = metadata.get("general.architecture")
    config: dict[str, Any] = {}
    if isinstance(arch, str):
        config["model_type"] = arch
        for hf_key, suffix in ARCH_KEY_MAP.items():
            value = metadata.get(f"{arch}.{suffix}")
            if (numbers := _numbers(value)) is not None:
                config[hf_key], config[f"{hf_key}_per_layer"] = max(numbers), numbers
            elif isinstance(value, int | float) and not isinstance(value, bool):
                config[hf_key] = value
        rope_dims = metadata.get(f"{arch}.rope.dimension_count")
        if "kv_lora_rank" in config and isinstance(rope_dims, int):
            config["qk_rope_head_dim"] = rope_dims
            _mla_config(metadata, arch, rope_dims, tensor_names, config)
    if "vocab_size" not in config and (vocab := _vocab_size(metadata)) is not None:
        config["vocab_size"] = vocab
    _general_config(metadata, config)
    return config


def _mla_config(
    metadata: dict[str, MetaValue], arch: str, rope: int, tensor_names: Iterable[str], config: dict[str, Any]
) -> None:
    """Per-head MLA sizes and the latent-cache fact. Split files give the per-head sizes under `*_mla` (their plain
    `key_length` / `value_length` are the latent's); older files give them under the plain keys."""
    key_mla = metadata.get(f"{arch}.attention.key_length_mla")
    split = isinstance(key_mla, int) or any(n.endswith(MLA_SPLIT_TENSORS) for n in tensor_names)
    suffix = "_mla" if split else ""
    key = metadata.get(f"{arch}.attention.key_length{suffix}")
    value = metadata.get(f"{arch}.attention.value_length{suffix}")
    config.pop("v_head_dim", None)
    if isinstance(key, int) and key > rope:
        config["qk_nope_head_dim"] = key - rope
    if isinstance(value, int):
        config["v_head_dim"] = value
    config["gguf_mla_latent_cache"] = split


def _general_config(metadata: dict[str, MetaValue], config: dict[str, Any]) -> None:
    for hf_key, key in (("gguf_size_label", "general.size_label"), ("quantized_by", "general.quantized_by")):
        if isinstance(metadata.get(key), str):
            config[hf_key] = metadata[key]
    file_type = metadata.get("general.file_type")
    if isinstance(file_type, int) and not isinstance(file_type, bool):
        base = file_type & ~GGUF_FILE_TYPE_GUESSED
        if base in GGUF_FILE_TYPES:
            config["gguf_file_type"] = GGUF_FILE_TYPES[base]
        if base in FILE_TYPE_TORCH_DTYPE:
            config["torch_dtype"] = FILE_TYPE_TORCH_DTYPE[base]
    if bases := _base_models(metadata):
        config["base_model"] = bases


# GGUF type names in file names, as llama.cpp's quantize tool writes them (`Q4_K_M`, `IQ2_XXS`, `BF16`…; the
# names of `LlamaFileType` in https://github.com/ggml-org/llama.cpp/blob/master/gguf-py/gguf/constants.py).
_QUANT_NAME_RE = re.compile(
    r"(?<![A-Za-z0-9])(?:I?Q[1-8]_(?:0|1|K(?:_[SML])?|XXS|XS|S|M|NL)|TQ[12]_0|MXFP4(?:_MOE)?|BF16|F16|F32)"
    r"(?![A-Za-z0-9])",
    re.IGNORECASE,
)


def gguf_quant_label(path: str, header: GGUFHeader | None) -> str | None:
    """The quant label: `general.file_type` when stated, else the file name's (`Q4_K_M`), else a guessed type."""
    file_type = header.file_type if header is not None else None
    named = None
    if file_type is not None:
        named = GGUF_FILE_TYPES.get(file_type & ~GGUF_FILE_TYPE_GUESSED)
        if named and not file_type & GGUF_FILE_TYPE_GUESSED:
            return named
    matches = _QUANT_NAME_RE.findall(PurePosixPath(path).name)
    if matches:
        label: str = matches[-1]  # re.findall is typed list[Any]; one group, so each match is a str
        return label.upper()
    return named
