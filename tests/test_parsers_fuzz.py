"""Fuzz the byte parsers: random and mutated input may only ever raise FormatError (no crash, hang or blow-up)."""

from __future__ import annotations

import contextlib
import json
import pickle
import struct
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardscan.errors import FormatError
from cardscan.parse.gguf import parse_gguf
from cardscan.parse.safetensors import parse_header
from cardscan.parse.torch_zip import load_torch_pickle, parse_torch_zip
from cardscan.tensors import SAFETENSORS_DTYPES
from tests.st_builder import data_size, header_bytes

FIXTURES = Path(__file__).parent / "fixtures"
GGUF = (FIXTURES / "gguf" / "tiny-llama-Q4_K_M.gguf").read_bytes()
GGUF_SPLIT = (FIXTURES / "gguf" / "tiny-llama-Q4_K_M-00002-of-00002.gguf").read_bytes()
TORCH = (FIXTURES / "torch" / "gpt2_tiny.bin").read_bytes()
with zipfile.ZipFile(FIXTURES / "torch" / "gpt2_tiny.bin") as _z:
    PICKLE = _z.read("gpt2_tiny/data.pkl")

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def only_format_errors(fn, data: bytes) -> None:
    with contextlib.suppress(FormatError):
        fn(data)


@st.composite
def mutated(draw, base: bytes, head: int | None = None) -> bytes:
    """`base` with a few bytes overwritten (biased to the first `head` bytes), maybe truncated or extended."""
    data = bytearray(base)
    limit = min(len(data), head or len(data))
    for _ in range(draw(st.integers(1, 8))):
        i = draw(st.integers(0, limit - 1))
        data[i] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        del data[draw(st.integers(0, len(data))) :]
    if draw(st.booleans()):
        data += draw(st.binary(max_size=64))
    return bytes(data)


@FUZZ
@given(st.binary(max_size=512))
def test_gguf_random_bytes(data):
    only_format_errors(parse_gguf, data)
    only_format_errors(parse_gguf, b"GGUF\x03\x00\x00\x00" + data)


@FUZZ
@given(mutated(GGUF_SPLIT))
def test_gguf_mutated_small_header(data):
    only_format_errors(parse_gguf, data)


@FUZZ
@given(mutated(GGUF, head=2048))
def test_gguf_mutated_fixture(data):
    only_format_errors(parse_gguf, data)


@FUZZ
@given(st.binary(max_size=512))
def test_pickle_random_bytes(data):
    only_format_errors(load_torch_pickle, data)
    only_format_errors(load_torch_pickle, b"\x80\x02" + data)


@FUZZ
@given(mutated(PICKLE))
def test_pickle_mutated_fixture(data):
    only_format_errors(load_torch_pickle, data)


@FUZZ
@given(mutated(TORCH))
def test_torch_zip_mutated(data):
    only_format_errors(parse_torch_zip, data)


_plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5) | st.tuples(inner, inner) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)


@FUZZ
@given(_plain, st.integers(2, 5))
def test_pickle_interpreter_agrees_with_pickle_on_plain_values(value, protocol):
    assert load_torch_pickle(pickle.dumps(value, protocol=protocol)) == value


# --- safetensors headers -----------------------------------------------------------------------------------------
ST_HEADER = header_bytes(
    {"model.embed.weight": ("BF16", [32, 8]), "model.norm.weight": ("F32", [8]), "lm_head.weight": ("F4", [3, 3])},
    {"format": "pt", "note": "x"},
)


def with_length(raw: bytes) -> bytes:
    return struct.pack("<Q", len(raw)) + raw


@FUZZ
@given(st.binary(max_size=512))
def test_safetensors_random_bytes(data):
    only_format_errors(parse_header, data)
    only_format_errors(parse_header, with_length(data))
    only_format_errors(parse_header, with_length(b"{" + data + b"}"))


@FUZZ
@given(mutated(ST_HEADER))
def test_safetensors_mutated_header(data):
    only_format_errors(parse_header, data)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=24,
)
_field = st.sampled_from(["dtype", "shape", "data_offsets", "__metadata__", "x"])
_entry = st.fixed_dictionaries(
    {},
    optional={
        "dtype": st.sampled_from([*SAFETENSORS_DTYPES, "Q4", ""]) | _json,
        "shape": st.lists(st.integers(-2, 2**70), max_size=4) | _json,
        "data_offsets": st.lists(st.integers(-2, 2**70), max_size=3) | _json,
    },
)


@FUZZ
@given(st.dictionaries(st.text(max_size=8) | _field, _entry | _json, max_size=5), st.integers(0, 2**40) | st.none())
def test_safetensors_structured_json(obj, file_size):
    """JSON-shaped lies (wrong types, huge ints, floats, NaN, nesting) only ever raise FormatError."""
    only_format_errors(lambda d: parse_header(d, file_size=file_size), with_length(json.dumps(obj).encode()))


@FUZZ
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=16).filter(lambda n: n != "__metadata__"),
        st.tuples(st.sampled_from(sorted(SAFETENSORS_DTYPES)), st.lists(st.integers(0, 64), max_size=3)),
        max_size=12,
    ),
    st.dictionaries(st.text(max_size=8), st.text(max_size=16), max_size=4),
)
def test_safetensors_valid_headers_round_trip(tensors, metadata):
    """Whatever a writer lays out correctly parses back to the same tensors, bytes and metadata."""
    raw = header_bytes({name: (dtype, shape) for name, (dtype, shape) in tensors.items()}, metadata)
    h = parse_header(raw, file_size=len(raw) + data_size(raw))
    assert {t.name: (t.dtype, list(t.shape)) for t in h.tensors} == tensors
    assert h.data_bytes == data_size(raw) == sum(t.nbytes for t in h.tensors)
    assert h.metadata == (metadata or {"format": "pt"})
