"""GGUF header reader: fixtures, range-read economy, byte order, versions, caps, config mapping, names."""

from __future__ import annotations

import importlib.util
import itertools
import struct
from pathlib import Path

import pytest

from cardscan.errors import FormatError
from cardscan.parse.ggml_types import GGML_TYPES, GGUF_FILE_TYPES, ggml_type
from cardscan.parse.gguf import (
    ArraySummary,
    gguf_config,
    gguf_parameter_count,
    gguf_quant_label,
    parse_gguf,
    read_gguf,
)
from cardscan.parse.reader import BufferedReader

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "gguf"
_spec = importlib.util.spec_from_file_location("make_gguf_fixtures", ROOT / "scripts" / "make_gguf_fixtures.py")
writer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(writer)  # type: ignore[union-attr]

TINY = FIXTURES / "tiny-llama-Q4_K_M.gguf"
# Hand-computed from the fixture's layout (hidden 256, FFN 768, KV dim 128, vocab 1100, 2 layers):
# token_embd Q4_K 1100·144; output Q6_K 1100·210; per layer q/o Q4_K 256·144, k Q4_K 128·144, v Q6_K 128·210,
# gate/up Q4_K 768·144, down Q6_K 768·210, two F32 norms 1024; output_norm 1024.
TINY_BYTES = 158_400 + 231_000 + 1_024 + 2 * (2_048 + 36_864 + 18_432 + 26_880 + 36_864 + 110_592 * 2 + 161_280)
TINY_PARAMS = 2 * 281_600 + 5 * 256 + 2 * (65_536 * 2 + 32_768 * 2 + 196_608 * 3)


def counting(data: bytes):
    """A read_at over `data` that records every (offset, length) asked."""
    calls: list[tuple[int, int]] = []

    def read_at(offset: int, length: int) -> bytes:
        calls.append((offset, length))
        return data[offset : offset + length]

    return read_at, calls


def test_fixture_matches_its_generator():
    assert TINY.read_bytes() == writer.gguf_bytes(writer.llama_kvs(), writer.llama_tensors())


def test_tiny_llama_counts_and_bytes():
    h = parse_gguf(TINY.read_bytes())
    assert (h.version, h.alignment, len(h.tensors)) == (3, 32, 21)
    assert h.tensor_bytes == TINY_BYTES == 1_397_528
    assert gguf_parameter_count(h) == TINY_PARAMS == 2_137_344
    assert h.data_offset % 32 == 0 and h.header_bytes <= h.data_offset < h.header_bytes + 32
    assert h.data_offset == TINY.stat().st_size  # the fixture is the header plus padding
    assert not h.big_endian and h.unknown_types == ()


def test_mixed_types_give_per_tensor_bytes():
    tensors = {t.name: t for t in parse_gguf(TINY.read_bytes()).tensors}
    assert tensors["token_embd.weight"].shape == (256, 1100)  # GGUF order: dims[0] innermost
    assert (tensors["token_embd.weight"].dtype, tensors["token_embd.weight"].nbytes) == ("Q4_K", 158_400)
    assert (tensors["blk.0.attn_v.weight"].dtype, tensors["blk.0.attn_v.weight"].nbytes) == ("Q6_K", 26_880)
    assert (tensors["blk.1.ffn_down.weight"].dtype, tensors["blk.1.ffn_down.weight"].nbytes) == ("Q6_K", 161_280)
    assert (tensors["output_norm.weight"].dtype, tensors["output_norm.weight"].nbytes) == ("F32", 1_024)
    by_type: dict[str, int] = {}
    for t in tensors.values():
        by_type[t.dtype] = by_type.get(t.dtype, 0) + t.nbytes
    q4k = 158_400 + 2 * (36_864 * 2 + 18_432 + 110_592 * 2)
    q6k = 231_000 + 2 * (26_880 + 161_280)
    assert by_type == {"Q4_K": q4k, "Q6_K": q6k, "F32": 5 * 1_024}


def test_metadata_values_and_array_summaries():
    md = parse_gguf(TINY.read_bytes()).metadata
    assert md["general.architecture"] == "llama"
    assert md["llama.block_count"] == 2 and md["general.file_type"] == 15
    assert md["tokenizer.ggml.tokens"] == ArraySummary("STRING", 1100)
    assert md["tokenizer.ggml.scores"] == ArraySummary("F32", 1100)
    assert md["tokenizer.ggml.token_type"] == ArraySummary("I32", 1100)
    assert md["tokenizer.ggml.merges"][:2] == ["t 0", "t 1"] and len(md["tokenizer.ggml.merges"]) == 200
    assert md["llama.attention.layer_norm_rms_epsilon"] == pytest.approx(1e-5)


def test_gguf_config_maps_to_hf_keys():
    config = gguf_config(parse_gguf(TINY.read_bytes()).metadata)
    assert config == {
        "model_type": "llama",
        "num_hidden_layers": 2,
        "hidden_size": 256,
        "intermediate_size": 768,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 2048,
        "rms_norm_eps": pytest.approx(1e-5),
        "rope_theta": 10000.0,
        "vocab_size": 1100,
        "gguf_size_label": "3M",
        "quantized_by": "cardscan-fixtures",
        "gguf_file_type": "Q4_K_M",
        "base_model": ["example/tiny-llama"],
    }


def test_gguf_config_per_layer_lists_mla_and_dtype():
    md = {
        "general.architecture": "deepseek2",
        "general.file_type": 32,
        "deepseek2.attention.head_count_kv": [8, 0, 8, 0],
        "deepseek2.attention.kv_lora_rank": 512,
        "deepseek2.rope.dimension_count": 64,
        "deepseek2.attention.key_length": 192,
        "deepseek2.attention.value_length": 128,
        "deepseek2.expert_count": 64,
        "deepseek2.expert_used_count": 6,
        "deepseek2.vocab_size": 102400,
        "deepseek2.attention.sliding_window": 4096,
    }
    config = gguf_config(md)
    assert config["num_key_value_heads"] == 8
    assert config["num_key_value_heads_per_layer"] == [8, 0, 8, 0]
    assert (config["kv_lora_rank"], config["qk_rope_head_dim"]) == (512, 64)
    assert (config["head_dim"], config["v_head_dim"]) == (192, 128)
    assert (config["num_local_experts"], config["num_experts_per_tok"]) == (64, 6)
    assert (config["vocab_size"], config["sliding_window"]) == (102400, 4096)
    assert (config["torch_dtype"], config["gguf_file_type"]) == ("bfloat16", "BF16")


def test_rope_dims_are_not_qk_rope_without_mla():
    config = gguf_config({"general.architecture": "llama", "llama.rope.dimension_count": 128})
    assert "qk_rope_head_dim" not in config


def test_huge_arrays_are_skipped_without_fetching():
    scores = [0.0] * 1_300_000  # 5.2 MB of F32
    kvs = [*writer.llama_kvs()[:18], ("tokenizer.ggml.scores", "ARRAY", ("F32", scores))]
    kvs.append(("tokenizer.ggml.token_type", "ARRAY", ("I32", [1] * 300_000)))
    data = writer.gguf_bytes(kvs, writer.llama_tensors())
    assert len(data) > 6_000_000
    read_at, calls = counting(data)
    reader = BufferedReader(read_at, len(data), chunk=16 << 10)
    h = read_gguf(reader)
    assert h.metadata["tokenizer.ggml.scores"] == ArraySummary("F32", 1_300_000)
    assert h.tensor_bytes == TINY_BYTES
    assert reader.bytes_fetched < 100_000  # the header's small parts only
    spans = sorted((o, o + n) for o, n in calls)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))  # no refetch


def test_string_arrays_are_not_decoded_but_lengths_walked():
    tokens = [f"t{i}" * 3 for i in range(5000)]
    data = writer.gguf_bytes([("tokenizer.ggml.tokens", "ARRAY", ("STRING", tokens))], [("w", (32,), "F32")])
    h = parse_gguf(data)
    assert h.metadata["tokenizer.ggml.tokens"] == ArraySummary("STRING", 5000)
    assert [t.name for t in h.tensors] == ["w"]


def test_reader_continues_forward_in_chunks():
    data = TINY.read_bytes()
    read_at, calls = counting(data)
    reader = BufferedReader(read_at, None, chunk=4096)  # size unknown: reads until a short reply
    h = read_gguf(reader)
    assert h.tensor_bytes == TINY_BYTES
    offsets = [o for o, _ in calls]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
    assert reader.bytes_fetched <= len(data)


def test_big_endian_reads_the_same():
    le = parse_gguf(writer.gguf_bytes(writer.llama_kvs(), writer.llama_tensors()))
    be = parse_gguf(writer.gguf_bytes(writer.llama_kvs(), writer.llama_tensors(), big_endian=True))
    assert be.big_endian and be.version == 3
    assert be.metadata == le.metadata and be.tensors == le.tensors


@pytest.mark.parametrize("version", [1, 2])
def test_older_versions(version):
    h = parse_gguf(writer.gguf_bytes(writer.llama_kvs(), writer.llama_tensors(), version=version))
    assert h.version == version and h.tensor_bytes == TINY_BYTES


def test_unknown_type_id_is_reported_not_fatal():
    tensors = [("a", (32,), "F32"), ("mystery", (256, 4), 42), ("b", (32,), "F32")]
    h = parse_gguf(writer.gguf_bytes([], tensors))
    t = {x.name: x for x in h.tensors}
    assert t["mystery"].dtype == "unknown(42)"
    assert h.unknown_types == ("mystery",)
    assert t["mystery"].nbytes == 64  # the gap to the next tensor's offset
    assert t["a"].nbytes == 128


def test_ggml_type_table():
    assert len(GGML_TYPES) >= 39
    assert ggml_type(12).bits_per_weight == 4.5 and ggml_type(14).bits_per_weight == 6.5625
    assert ggml_type(39).bits_per_weight == 4.25 and ggml_type(40).bits_per_weight == 4.5
    assert ggml_type(41).bits_per_weight == 1.125 and ggml_type(30).name == "BF16"
    unknown = ggml_type(42)
    assert unknown.name == "unknown(42)" and unknown.nbytes(256) is None and not unknown.known
    assert ggml_type(12).nbytes(16_777_216) == 9_437_184  # Llama-2-7B q_proj at Q4_K (ggml block 256, 144 bytes)
    assert ggml_type(10).nbytes(16_777_216) == 5_505_024  # Q2_K
    assert GGUF_FILE_TYPES[15] == "Q4_K_M" and GGUF_FILE_TYPES[38] == "MXFP4_MOE"


def test_truncated_header_raises_format_error():
    data = TINY.read_bytes()
    for cut in (0, 3, 4, 10, 23, 100, 5_000, 20_000, len(data) - 40):
        with pytest.raises(FormatError):
            parse_gguf(data[:cut])


def test_bad_magic_and_version():
    with pytest.raises(FormatError, match="magic"):
        parse_gguf(b"GGML" + bytes(60))
    with pytest.raises(FormatError, match="version"):
        parse_gguf(b"GGUF" + struct.pack("<I", 7) + bytes(16))


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (struct.pack("<IQQ", 3, 2_000_000, 0), "tensor_count"),
        (struct.pack("<IQQ", 3, 0, 200_000), "kv_count"),
        (struct.pack("<IQQQ", 3, 0, 1, 17 << 20), "string"),
        (struct.pack("<IQQQ", 3, 1, 0, 1) + b"w" + struct.pack("<I", 9), "dims"),
    ],
)
def test_caps(head, message):
    with pytest.raises(FormatError, match=message):
        parse_gguf(b"GGUF" + head + bytes(64))


def test_bad_alignment():
    with pytest.raises(FormatError, match="alignment"):
        parse_gguf(writer.gguf_bytes([("general.alignment", "U32", 24)], []))


def test_nested_arrays_are_bounded():
    # arrays of arrays, built by hand: depth 6 > MAX_ARRAY_DEPTH
    inner = struct.pack("<IQ", 1, 1) + b"\x01"  # array of one I8
    for _ in range(5):
        inner = struct.pack("<IQ", 9, 1) + inner
    body = struct.pack("<Q", 1) + b"k" + struct.pack("<I", 9) + inner
    with pytest.raises(FormatError, match="nested"):
        parse_gguf(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + body)
    ok = (
        struct.pack("<Q", 1)
        + b"k"
        + struct.pack("<I", 9)
        + struct.pack("<IQ", 9, 1)
        + struct.pack("<IQ", 1, 2)
        + b"\x01\x02"
    )
    assert parse_gguf(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + ok).metadata["k"] == [[1, 2]]


def test_block_mismatch_is_an_error():
    data = writer.gguf_bytes([], [("w", (100, 3), "Q4_K")])  # 300 elements: not whole 256-blocks
    with pytest.raises(FormatError, match="blocks"):
        parse_gguf(data)


def test_split_pair():
    first = parse_gguf((FIXTURES / "tiny-llama-Q4_K_M-00001-of-00002.gguf").read_bytes())
    second = parse_gguf((FIXTURES / "tiny-llama-Q4_K_M-00002-of-00002.gguf").read_bytes())
    assert (first.metadata["split.no"], first.metadata["split.count"]) == (0, 2)
    assert (second.metadata["split.no"], second.metadata["split.count"]) == (1, 2)
    assert first.metadata["split.tensors.count"] == len(first.tensors) + len(second.tensors) == 21
    assert first.tensor_bytes + second.tensor_bytes == TINY_BYTES
    assert "general.architecture" not in second.metadata


def test_quant_label():
    h = parse_gguf(TINY.read_bytes())
    assert gguf_quant_label("whatever.gguf", h) == "Q4_K_M"
    bare = parse_gguf(writer.gguf_bytes([], []))
    assert gguf_quant_label("Llama-3-8B-Instruct.Q5_K_S.gguf", bare) == "Q5_K_S"
    assert gguf_quant_label("org/x-iq2_xxs.gguf", None) == "IQ2_XXS"
    assert gguf_quant_label("model.gguf", bare) is None
    guessed = parse_gguf(writer.gguf_bytes([("general.file_type", "U32", 1024 | 7)], []))
    assert gguf_quant_label("model.gguf", guessed) == "Q8_0"
    assert gguf_quant_label("model-Q6_K.gguf", guessed) == "Q6_K"  # a guessed type yields to the name


def test_buffered_reader_basics():
    r = BufferedReader.from_bytes(struct.pack("<BHIQf", 1, 2, 3, 4, 0.5) + b"xyz")
    assert (r.u8(), r.u16(), r.u32(), r.u64(), r.f32()) == (1, 2, 3, 4, 0.5)
    assert r.bytes(3) == b"xyz"
    with pytest.raises(FormatError, match="end of file"):
        r.u8()
    r.seek(1)
    assert r.u16() == 2
    with pytest.raises(FormatError):
        r.skip(100)


def test_buffered_reader_budget_and_short_reads():
    data = bytes(1000)
    read_at, _ = counting(data)
    r = BufferedReader(read_at, None, chunk=100, max_bytes=300)
    r.bytes(250)
    with pytest.raises(FormatError, match="budget"):
        r.bytes(100)
    r2 = BufferedReader(read_at, None, chunk=64)
    r2.skip(990)
    with pytest.raises(FormatError, match="end of file"):
        r2.bytes(20)


def test_skip_past_buffer_fetches_nothing_until_read():
    data = bytes(range(256)) * 100
    read_at, calls = counting(data)
    r = BufferedReader(read_at, len(data), chunk=64)
    r.u8()
    r.skip(10_000)
    assert r.bytes_fetched == 64
    assert r.u8() == data[10_001]
    assert calls == [(0, 64), (10_001, 64)]


def test_duplicates_overlaps_and_header_only_copies():
    def kv(key: bytes) -> bytes:
        return struct.pack("<Q", len(key)) + key + struct.pack("<II", 4, 1)

    def info(name: bytes, n: int, offset: int) -> bytes:
        return struct.pack("<Q", len(name)) + name + struct.pack("<IQIQ", 1, n, 0, offset)

    def file(kvs: list[bytes], infos: list[bytes], data: int) -> bytes:
        body = b"GGUF" + struct.pack("<IQQ", 3, len(infos), len(kvs)) + b"".join(kvs) + b"".join(infos)
        return body + bytes(-len(body) % 32) + bytes(data)

    with pytest.raises(FormatError, match="twice"):
        parse_gguf(file([kv(b"a"), kv(b"a")], [], 0))
    with pytest.raises(FormatError, match="twice"):
        parse_gguf(file([], [info(b"w", 2, 0), info(b"w", 2, 32)], 64))
    with pytest.raises(FormatError, match="overlaps"):
        parse_gguf(file([], [info(b"a", 8, 0), info(b"b", 8, 16)], 64))
    with pytest.raises(FormatError, match="file holds"):
        parse_gguf(file([], [info(b"a", 1 << 30, 0)], 64))
    header_only = parse_gguf(file([], [info(b"a", 1 << 30, 0)], 0))
    assert header_only.tensors[0].nbytes == 4 << 30 and "header-only" in header_only.notes[0]
