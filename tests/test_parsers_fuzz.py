"""Fuzz the byte parsers: random and mutated input may only ever raise FormatError (no crash, hang or blow-up)."""

from __future__ import annotations

import contextlib
import pickle
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardscan.errors import FormatError
from cardscan.parse.gguf import parse_gguf
from cardscan.parse.torch_zip import load_torch_pickle, parse_torch_zip

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
