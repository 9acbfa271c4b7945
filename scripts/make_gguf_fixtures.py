"""Write small GGUF header fixtures (our own writer, no gguf package) into tests/fixtures/gguf/.

Run: `python scripts/make_gguf_fixtures.py`. The tests also import `gguf_bytes` from here to build
edge cases (big-endian, huge arrays, unknown type ids) in memory.
Files hold the header plus alignment padding only: parsers never read tensor data.
"""

from __future__ import annotations

import struct
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "gguf"

# Value type name → (id, struct code) — gguf-py GGUFValueType.
VTYPES = {
    "U8": (0, "B"), "I8": (1, "b"), "U16": (2, "H"), "I16": (3, "h"), "U32": (4, "I"), "I32": (5, "i"),
    "F32": (6, "f"), "BOOL": (7, "?"), "STRING": (8, None), "ARRAY": (9, None), "U64": (10, "Q"),
    "I64": (11, "q"), "F64": (12, "d"),
}  # fmt: skip
# GGML type name → (id, block size, bytes per block) — the subset the fixtures use.
GTYPES = {"F32": (0, 1, 4), "F16": (1, 1, 2), "Q4_K": (12, 256, 144), "Q6_K": (14, 256, 210), "Q8_0": (8, 32, 34)}


class _Writer:
    def __init__(self, big_endian: bool, version: int) -> None:
        self.e = ">" if big_endian else "<"
        self.count = "I" if version == 1 else "Q"
        self.buf = bytearray()

    def pack(self, code: str, *values: object) -> None:
        self.buf += struct.pack(self.e + code, *values)

    def string(self, s: str) -> None:
        raw = s.encode()
        self.pack(self.count, len(raw))
        self.buf += raw

    def value(self, vtype: str, value: object) -> None:
        if vtype == "STRING":
            self.string(value)  # type: ignore[arg-type]
        elif vtype == "ARRAY":
            elem, items = value  # type: ignore[misc]
            self.pack("I", VTYPES[elem][0])
            self.pack(self.count, len(items))
            code = VTYPES[elem][1]
            if code is not None:
                self.pack(f"{len(items)}{code}", *items)
            else:
                for item in items:
                    self.value(elem, item)
        else:
            self.pack(VTYPES[vtype][1], value)  # type: ignore[arg-type]


def tensor_nbytes(gtype: str, dims: tuple[int, ...]) -> int:
    _, block, size = GTYPES[gtype]
    n = 1
    for d in dims:
        n *= d
    return n // block * size


def gguf_bytes(
    kvs: list[tuple[str, str, object]],
    tensors: list[tuple[str, tuple[int, ...], str | int]],
    version: int = 3,
    big_endian: bool = False,
    alignment: int = 32,
) -> bytes:
    """A GGUF header: kvs are (key, value type, value), ARRAY values are (element type, items); tensors are
    (name, dims in GGUF order, GGML type name or raw id). Offsets are laid out aligned; output is padded."""
    w = _Writer(big_endian, version)
    w.buf += b"GGUF"
    w.pack("I", version)
    w.pack(w.count, len(tensors))
    w.pack(w.count, len(kvs))
    for key, vtype, value in kvs:
        w.string(key)
        w.pack("I", VTYPES[vtype][0])
        w.value(vtype, value)
    offset = 0
    for name, dims, gtype in tensors:
        w.string(name)
        w.pack("I", len(dims))
        for d in dims:
            w.pack(w.count, d)
        w.pack("I", gtype if isinstance(gtype, int) else GTYPES[gtype][0])
        w.pack("Q", offset)
        size = tensor_nbytes(gtype, dims) if isinstance(gtype, str) else 64
        offset += -(-size // alignment) * alignment
    w.buf += b"\0" * (-len(w.buf) % alignment)
    return bytes(w.buf)


# A Llama-like model: 2 layers, hidden 256, 4 heads × 64, 2 KV heads, FFN 768, vocab 1100.
HIDDEN, FFN, KV_DIM, LAYERS, VOCAB = 256, 768, 128, 2, 1100


def llama_kvs() -> list[tuple[str, str, object]]:
    tokens = [f"tok{i}" for i in range(VOCAB)]
    return [
        ("general.architecture", "STRING", "llama"),
        ("general.name", "STRING", "Tiny Llama"),
        ("general.size_label", "STRING", "3M"),
        ("general.quantized_by", "STRING", "cardscan-fixtures"),
        ("general.file_type", "U32", 15),  # Q4_K_M
        ("general.base_model.count", "U32", 1),
        ("general.base_model.0.name", "STRING", "Tiny Llama"),
        ("general.base_model.0.organization", "STRING", "Example"),
        ("general.base_model.0.repo_url", "STRING", "https://huggingface.co/example/tiny-llama"),
        ("llama.block_count", "U32", LAYERS),
        ("llama.context_length", "U32", 2048),
        ("llama.embedding_length", "U32", HIDDEN),
        ("llama.feed_forward_length", "U32", FFN),
        ("llama.attention.head_count", "U32", 4),
        ("llama.attention.head_count_kv", "U32", 2),
        ("llama.attention.layer_norm_rms_epsilon", "F32", 1e-5),
        ("llama.rope.freq_base", "F32", 10000.0),
        ("llama.rope.dimension_count", "U32", 64),
        ("tokenizer.ggml.model", "STRING", "gpt2"),
        ("tokenizer.ggml.tokens", "ARRAY", ("STRING", tokens)),
        ("tokenizer.ggml.scores", "ARRAY", ("F32", [0.0] * VOCAB)),
        ("tokenizer.ggml.token_type", "ARRAY", ("I32", [1] * VOCAB)),
        ("tokenizer.ggml.merges", "ARRAY", ("STRING", [f"t {i}" for i in range(200)])),
        ("tokenizer.ggml.bos_token_id", "U32", 1),
        ("general.alignment", "U32", 32),
    ]


def llama_tensors() -> list[tuple[str, tuple[int, ...], str]]:
    """Q4_K_M-style mix: Q4_K most, Q6_K attn_v / ffn_down / output, F32 norms."""
    out = [("token_embd.weight", (HIDDEN, VOCAB), "Q4_K")]
    for i in range(LAYERS):
        b = f"blk.{i}"
        out += [
            (f"{b}.attn_norm.weight", (HIDDEN,), "F32"),
            (f"{b}.attn_q.weight", (HIDDEN, HIDDEN), "Q4_K"),
            (f"{b}.attn_k.weight", (HIDDEN, KV_DIM), "Q4_K"),
            (f"{b}.attn_v.weight", (HIDDEN, KV_DIM), "Q6_K"),
            (f"{b}.attn_output.weight", (HIDDEN, HIDDEN), "Q4_K"),
            (f"{b}.ffn_norm.weight", (HIDDEN,), "F32"),
            (f"{b}.ffn_gate.weight", (HIDDEN, FFN), "Q4_K"),
            (f"{b}.ffn_up.weight", (HIDDEN, FFN), "Q4_K"),
            (f"{b}.ffn_down.weight", (FFN, HIDDEN), "Q6_K"),
        ]
    out += [("output_norm.weight", (HIDDEN,), "F32"), ("output.weight", (HIDDEN, VOCAB), "Q6_K")]
    return out


def split_pair() -> tuple[bytes, bytes]:
    """The same model as two gguf-split parts: part 1 holds all metadata and the first half of the tensors."""
    tensors = llama_tensors()
    half = len(tensors) // 2
    split_kvs = [("split.count", "U16", 2), ("split.tensors.count", "I32", len(tensors))]
    first = gguf_bytes([*llama_kvs(), ("split.no", "U16", 0), *split_kvs], tensors[:half])
    second = gguf_bytes([("split.no", "U16", 1), *split_kvs], tensors[half:])
    return first, second


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "tiny-llama-Q4_K_M.gguf").write_bytes(gguf_bytes(llama_kvs(), llama_tensors()))
    first, second = split_pair()
    (OUT / "tiny-llama-Q4_K_M-00001-of-00002.gguf").write_bytes(first)
    (OUT / "tiny-llama-Q4_K_M-00002-of-00002.gguf").write_bytes(second)
    for path in sorted(OUT.glob("*.gguf")):
        print(f"{path.name}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
