"""Header builders for the fixture corpus: tensor lists by architecture rule, safetensors/GGUF header bytes, sharding.

Everything here produces *headers*, never weight data: a fixture file is the header (plus any tiny data a reader
needs, e.g. bitsandbytes quant-state JSON) and a declared total size; the emulator serves the rest as zeros.
"""

from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Required, TypedDict

from cardscan.parse.families import tied_default
from cardscan.tensors import SAFETENSORS_DTYPES

CORPUS_VERSION = 1
"""Bumped when generated headers change (keys the emulator's cache of generated repos)."""

Shape = tuple[str | int, ...]
"""A shape written in dimension names (keys of `dims()`) or literal ints."""
Template = tuple[tuple[str, Shape], ...]
"""(name suffix, symbolic shape) pairs; `{e}` in a name is replaced by the expert index."""

# --- per-layer templates (names and shapes as transformers saves them) -------------------------------------
ATTN: Template = (
    ("self_attn.q_proj.weight", ("q", "H")),
    ("self_attn.k_proj.weight", ("kv", "H")),
    ("self_attn.v_proj.weight", ("kv", "H")),
    ("self_attn.o_proj.weight", ("H", "q")),
)
QKV_BIAS: Template = (
    ("self_attn.q_proj.bias", ("q",)),
    ("self_attn.k_proj.bias", ("kv",)),
    ("self_attn.v_proj.bias", ("kv",)),
)
# Older Llama conversions (Llama-2 `*-hf`) also saved the RoPE buffer: bytes, no parameters.
ROTARY_BUFFER: Template = (("self_attn.rotary_emb.inv_freq", ("hd/2",)),)
QK_NORM: Template = (("self_attn.q_norm.weight", ("hd",)), ("self_attn.k_norm.weight", ("hd",)))
MLP: Template = (
    ("mlp.gate_proj.weight", ("I", "H")),
    ("mlp.up_proj.weight", ("I", "H")),
    ("mlp.down_proj.weight", ("H", "I")),
)
NORMS: Template = (("input_layernorm.weight", ("H",)), ("post_attention_layernorm.weight", ("H",)))
GEMMA_NORMS: Template = (
    *NORMS,
    ("pre_feedforward_layernorm.weight", ("H",)),
    ("post_feedforward_layernorm.weight", ("H",)),
)
MIXTRAL_ROUTER: Template = (("block_sparse_moe.gate.weight", ("E", "H")),)
MIXTRAL_EXPERT: Template = (
    ("block_sparse_moe.experts.{e}.w1.weight", ("I", "H")),
    ("block_sparse_moe.experts.{e}.w2.weight", ("H", "I")),
    ("block_sparse_moe.experts.{e}.w3.weight", ("I", "H")),
)
MOE_ROUTER: Template = (("mlp.gate.weight", ("E", "H")),)
MOE_EXPERT: Template = (
    ("mlp.experts.{e}.gate_proj.weight", ("M", "H")),
    ("mlp.experts.{e}.up_proj.weight", ("M", "H")),
    ("mlp.experts.{e}.down_proj.weight", ("H", "M")),
)
# DeepSeek-V3 multi-head latent attention (modeling_deepseek.py in the DeepSeek-V3 repo).
MLA_ATTN: Template = (
    ("self_attn.q_a_proj.weight", ("qr", "H")),
    ("self_attn.q_a_layernorm.weight", ("qr",)),
    ("self_attn.q_b_proj.weight", ("qb", "qr")),
    ("self_attn.kv_a_proj_with_mqa.weight", ("kva", "H")),
    ("self_attn.kv_a_layernorm.weight", ("kvr",)),
    ("self_attn.kv_b_proj.weight", ("kvb", "kvr")),
    ("self_attn.o_proj.weight", ("H", "ov")),
)
DSV3_SHARED: Template = (
    ("mlp.shared_experts.gate_proj.weight", ("S", "H")),
    ("mlp.shared_experts.up_proj.weight", ("S", "H")),
    ("mlp.shared_experts.down_proj.weight", ("H", "S")),
)
DSV3_MTP: Template = (
    ("embed_tokens.weight", ("V", "H")),
    ("enorm.weight", ("H",)),
    ("hnorm.weight", ("H",)),
    ("eh_proj.weight", ("H", "2H")),
    ("shared_head.norm.weight", ("H",)),
    ("shared_head.head.weight", ("V", "H")),
)
# gpt-oss: attention with biases and sinks; MXFP4 experts (transformers integrations/mxfp4.py).
GPT_OSS_LAYER: Template = (
    *NORMS,
    ("self_attn.q_proj.weight", ("q", "H")),
    ("self_attn.q_proj.bias", ("q",)),
    ("self_attn.k_proj.weight", ("kv", "H")),
    ("self_attn.k_proj.bias", ("kv",)),
    ("self_attn.v_proj.weight", ("kv", "H")),
    ("self_attn.v_proj.bias", ("kv",)),
    ("self_attn.o_proj.weight", ("H", "q")),
    ("self_attn.o_proj.bias", ("H",)),
    ("self_attn.sinks", ("heads",)),
    ("mlp.router.weight", ("E", "H")),
    ("mlp.router.bias", ("E",)),
    ("mlp.experts.gate_up_proj_bias", ("E", "2I")),
    ("mlp.experts.down_proj_bias", ("E", "H")),
)
GPT_OSS_MXFP4: Template = (
    ("mlp.experts.gate_up_proj_blocks", ("E", "2I", "H/32", 16)),
    ("mlp.experts.gate_up_proj_scales", ("E", "2I", "H/32")),
    ("mlp.experts.down_proj_blocks", ("E", "H", "I/32", 16)),
    ("mlp.experts.down_proj_scales", ("E", "H", "I/32")),
)
# GPT-2 (Conv1D weights are [in, out]); `attn.bias` is the causal-mask buffer, not a parameter.
GPT2_LAYER: Template = (
    ("ln_1.weight", ("H",)),
    ("ln_1.bias", ("H",)),
    ("attn.c_attn.weight", ("H", "3H")),
    ("attn.c_attn.bias", ("3H",)),
    ("attn.c_proj.weight", ("H", "H")),
    ("attn.c_proj.bias", ("H",)),
    ("ln_2.weight", ("H",)),
    ("ln_2.bias", ("H",)),
    ("mlp.c_fc.weight", ("H", "4H")),
    ("mlp.c_fc.bias", ("4H",)),
    ("mlp.c_proj.weight", ("4H", "H")),
    ("mlp.c_proj.bias", ("H",)),
)
GPT2_BUFFER: Template = (("attn.bias", (1, 1, "P", "P")),)

# Config keys for each dimension name, first present wins (GPT-2 and DeepSeek use their own spellings).
DIM_KEYS: dict[str, tuple[str, ...]] = {
    "H": ("hidden_size", "n_embd"),
    "I": ("intermediate_size",),
    "V": ("vocab_size",),
    "L": ("num_hidden_layers", "n_layer"),
    "heads": ("num_attention_heads", "n_head"),
    "kv_heads": ("num_key_value_heads",),
    "E": ("num_local_experts", "num_experts", "n_routed_experts"),
    "M": ("moe_intermediate_size",),
    "P": ("n_positions", "max_position_embeddings"),
    "qr": ("q_lora_rank",),
    "kvr": ("kv_lora_rank",),
}


def dims(cfg: Mapping[str, Any]) -> dict[str, int]:
    """Named dimensions of a config, including the derived ones the templates use."""
    d = {}
    for name, keys in DIM_KEYS.items():
        found = [cfg[k] for k in keys if cfg.get(k) is not None]
        if found:
            d[name] = found[0]
    d.setdefault("kv_heads", d["heads"])
    d["hd"] = cfg.get("head_dim") or d["H"] // d["heads"]
    d["q"], d["kv"], d["hd/2"] = d["heads"] * d["hd"], d["kv_heads"] * d["hd"], d["hd"] // 2
    d.update({"2H": 2 * d["H"], "3H": 3 * d["H"], "4H": 4 * d["H"], "H/32": d["H"] // 32})
    if "I" in d:
        d.update({"2I": 2 * d["I"], "I/32": d["I"] // 32})
    if "qr" in d:  # MLA
        nope, rope, v = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"]
        d.update(qb=d["heads"] * (nope + rope), kva=d["kvr"] + rope, kvb=d["heads"] * (nope + v), ov=d["heads"] * v)
        d["S"] = d["M"] * cfg.get("n_shared_experts", 1)
    return d


@dataclass(frozen=True)
class Spec:
    """A tensor to be written: name, dtype and concrete shape (no data)."""

    name: str
    """Full tensor name."""
    dtype: str
    """Safetensors dtype string."""
    shape: tuple[int, ...]
    """Concrete shape."""

    @property
    def numel(self) -> int:
        """Element count (1 for a scalar)."""
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Stored bytes: numel × dtype bits / 8, rounded up for sub-byte dtypes."""
        return (self.numel * SAFETENSORS_DTYPES[self.dtype].bits + 7) // 8


def expand(template: Template, d: dict[str, int], prefix: str, dtype: str, expert: int | None = None) -> list[Spec]:
    """Concrete tensors of one template under `prefix`."""
    out = []
    for suffix, shape in template:
        name = prefix + (suffix.format(e=expert) if expert is not None else suffix)
        out.append(Spec(name, dtype, tuple(s if isinstance(s, int) else d[s] for s in shape)))
    return out


def _experts(template: Template, d: dict[str, int], prefix: str, dtype: str) -> list[Spec]:
    return [t for e in range(d["E"]) for t in expand(template, d, prefix, dtype, e)]


# --- whole-model rules (state-dict order: embeddings, layers, final norm, lm_head) ------------------------


def _decoder(cfg: Mapping[str, Any], dtype: str, layer: Callable[[int, dict[str, int]], list[Spec]]) -> list[Spec]:
    """Llama-style model: `model.embed_tokens`, `model.layers.{i}.*`, `model.norm`, `lm_head` unless tied."""
    d = dims(cfg)
    specs = [Spec("model.embed_tokens.weight", dtype, (d["V"], d["H"]))]
    for i in range(d["L"]):
        specs += layer(i, d)
    specs.append(Spec("model.norm.weight", dtype, (d["H"],)))
    # `tie_word_embeddings` when the config omits it: the family's default (parse/families.py), untied if unknown.
    if not cfg.get("tie_word_embeddings", tied_default(cfg["model_type"]) or False):
        specs.append(Spec("lm_head.weight", dtype, (d["V"], d["H"])))
    return specs


def llama_like(*templates: Template, experts: Template = ()) -> Callable[[Mapping[str, Any], str], list[Spec]]:
    """Rule for a decoder whose every layer has the same tensors (plus per-expert ones for MoE)."""

    def layer(i: int, d: dict[str, int], dtype: str) -> list[Spec]:
        prefix = f"model.layers.{i}."
        specs = [s for t in templates for s in expand(t, d, prefix, dtype)]
        return specs + (_experts(experts, d, prefix, dtype) if experts else [])

    return lambda cfg, dtype: _decoder(cfg, dtype, lambda i, d: layer(i, d, dtype))


def with_buffers(
    rule: Callable[[Mapping[str, Any], str], list[Spec]], buffer: Template
) -> Callable[[Mapping[str, Any], str], list[Spec]]:
    """`rule` plus an F32 buffer after each layer's attention output projection (e.g. RoPE `inv_freq`)."""

    def build(cfg: Mapping[str, Any], dtype: str) -> list[Spec]:
        d, out = dims(cfg), []
        for s in rule(cfg, dtype):
            out.append(s)
            if s.name.endswith("self_attn.o_proj.weight"):
                out += expand(buffer, d, s.name[: -len("self_attn.o_proj.weight")], "F32")
        return out

    return build


def gpt2_rule(cfg: Mapping[str, Any], dtype: str) -> list[Spec]:
    """GPT-2 as `openai-community/gpt2` stores it: no `transformer.` prefix, mask buffers, tied head."""
    d = dims(cfg)
    specs = [Spec("wte.weight", dtype, (d["V"], d["H"])), Spec("wpe.weight", dtype, (d["P"], d["H"]))]
    for i in range(d["L"]):
        specs += expand(GPT2_LAYER, d, f"h.{i}.", dtype) + expand(GPT2_BUFFER, d, f"h.{i}.", dtype)
    return [*specs, Spec("ln_f.weight", dtype, (d["H"],)), Spec("ln_f.bias", dtype, (d["H"],))]


def deepseek_v3_rule(cfg: Mapping[str, Any], dtype: str) -> list[Spec]:
    """DeepSeek-V3: MLA, `first_k_dense_replace` dense layers, MoE with shared experts, MTP layers appended."""
    d = dims(cfg)
    main = _decoder(cfg, dtype, lambda i, dd: _dsv3_layer(i, dd, cfg, dtype))
    mtp = []
    for i in range(d["L"], d["L"] + cfg.get("num_nextn_predict_layers", 0)):
        mtp += _dsv3_layer(i, d, cfg, dtype) + expand(DSV3_MTP, d, f"model.layers.{i}.", dtype)
    return main[:-2] + mtp + main[-2:]  # the MTP layer sorts before model.norm / lm_head in state-dict order


def _dsv3_layer(i: int, d: dict[str, int], cfg: Mapping[str, Any], dtype: str) -> list[Spec]:
    prefix = f"model.layers.{i}."
    specs = expand((*NORMS, *MLA_ATTN), d, prefix, dtype)
    if i < cfg["first_k_dense_replace"]:
        return specs + expand(MLP, d, prefix, dtype)
    specs += expand(MOE_ROUTER, d, prefix, dtype)
    specs.append(Spec(prefix + "mlp.gate.e_score_correction_bias", "F32", (d["E"],)))
    return specs + _experts(MOE_EXPERT, d, prefix, dtype) + expand(DSV3_SHARED, d, prefix, dtype)


def gpt_oss_rule(cfg: Mapping[str, Any], dtype: str) -> list[Spec]:
    """gpt-oss: BF16 attention/router/biases, MXFP4 expert blocks and scales (U8)."""

    def layer(i: int, d: dict[str, int]) -> list[Spec]:
        prefix = f"model.layers.{i}."
        return expand(GPT_OSS_LAYER, d, prefix, dtype) + expand(GPT_OSS_MXFP4, d, prefix, "U8")

    return _decoder(cfg, dtype, layer)


ARCH_RULES: dict[str, Callable[[Mapping[str, Any], str], list[Spec]]] = {
    "llama": llama_like(ATTN, MLP, NORMS),
    "mistral": llama_like(ATTN, MLP, NORMS),
    "qwen2": llama_like(ATTN, QKV_BIAS, MLP, NORMS),
    "qwen3": llama_like(ATTN, QK_NORM, MLP, NORMS),
    "gemma": llama_like(ATTN, MLP, NORMS),
    "gemma2": llama_like(ATTN, MLP, GEMMA_NORMS),
    "gemma3_text": llama_like(ATTN, QK_NORM, MLP, GEMMA_NORMS),
    "mixtral": llama_like(ATTN, NORMS, MIXTRAL_ROUTER, experts=MIXTRAL_EXPERT),
    "qwen3_moe": llama_like(ATTN, QK_NORM, NORMS, MOE_ROUTER, experts=MOE_EXPERT),
    "gpt2": gpt2_rule,
    "deepseek_v3": deepseek_v3_rule,
    "gpt_oss": gpt_oss_rule,
    "llama+inv_freq": with_buffers(llama_like(ATTN, MLP, NORMS), ROTARY_BUFFER),
}


def model_tensors(cfg: Mapping[str, Any], dtype: str, rule: str | None = None) -> list[Spec]:
    """Every stored tensor of the checkpoint `cfg` describes, in state-dict order (`rule` overrides model_type)."""
    return ARCH_RULES[rule or cfg["model_type"]](cfg, dtype)


# --- quantization transforms (packing layouts: parse/quant_formats.py rows, docs/real-quant-fixtures.md) --------
QUANTIZED_LINEAR = re.compile(r"^model\.layers\.\d+\..*_proj(_with_mqa)?\.weight$")
"""Linears that GPTQ/AWQ/bnb/FP8 quantize (embeddings, norms, lm_head stay in the model dtype)."""


def gptq(specs: Iterable[Spec], bits: int = 4, group: int = 128, scale_dtype: str = "F16") -> list[Spec]:
    """AutoGPTQ layout: qweight I32 [in·b/32, out], qzeros I32 [G, out·b/32], scales [G, out], g_idx I32 [in]."""
    out = []
    for s in specs:
        if not QUANTIZED_LINEAR.match(s.name):
            out.append(s)
            continue
        base, (o, i) = s.name[: -len("weight")], s.shape
        g = math.ceil(i / group)
        out += [
            Spec(base + "qweight", "I32", (i * bits // 32, o)),
            Spec(base + "qzeros", "I32", (g, o * bits // 32)),
            Spec(base + "scales", scale_dtype, (g, o)),
            Spec(base + "g_idx", "I32", (i,)),
        ]
    return out


def awq_gemm(specs: Iterable[Spec], bits: int = 4, group: int = 128) -> list[Spec]:
    """AutoAWQ GEMM layout: qweight I32 [in, out·b/32], qzeros I32 [in/gs, out·b/32], scales F16 [in/gs, out]."""
    out = []
    for s in specs:
        if not QUANTIZED_LINEAR.match(s.name):
            out.append(s)
            continue
        base, (o, i) = s.name[: -len("weight")], s.shape
        out += [
            Spec(base + "qweight", "I32", (i, o * bits // 32)),
            Spec(base + "qzeros", "I32", (i // group, o * bits // 32)),
            Spec(base + "scales", "F16", (i // group, o)),
        ]
    return out


def fp8_block(specs: Iterable[Spec], block: int = 128, skip: re.Pattern[str] | None = None) -> list[Spec]:
    """Fine-grained FP8: weight F8_E4M3 + weight_scale_inv F32 [ceil(out/b), ceil(in/b)]."""
    out = []
    for s in specs:
        if not QUANTIZED_LINEAR.match(s.name) or (skip and skip.search(s.name)):
            out.append(s)
            continue
        o, i = s.shape
        out += [Spec(s.name, "F8_E4M3", s.shape), Spec(s.name + "_scale_inv", "F32", (-(-o // block), -(-i // block)))]
    return out


def bnb_quant_state(shape: tuple[int, ...], dtype: str = "bfloat16") -> bytes:
    """The JSON bitsandbytes stores as `weight.quant_state.bitsandbytes__nf4` (double quant, blocksize 64)."""
    n = math.prod(shape)
    state = {
        "quant_type": "nf4",
        "absmax_shape": [-(-n // 64)],
        "blocksize": 64,
        "dtype": dtype,
        "shape": list(shape),
        "nested_blocksize": 256,
        "nested_absmax_shape": [-(-n // 64 // 256)],
        "nested_offset": 0.0,
    }
    return json.dumps(state, separators=(", ", ": ")).encode()


def bnb_nf4(specs: Iterable[Spec]) -> tuple[list[Spec], dict[str, bytes]]:
    """bitsandbytes 4-bit NF4 with double quant, U8 storage; also returns the quant-state tensors' data bytes."""
    out: list[Spec] = []
    data: dict[str, bytes] = {}
    for s in specs:
        if not QUANTIZED_LINEAR.match(s.name):
            out.append(s)
            continue
        n, state = s.numel, bnb_quant_state(s.shape)
        qs_name = s.name + ".quant_state.bitsandbytes__nf4"
        data[qs_name] = state
        out += [
            Spec(s.name, "U8", ((n + 1) // 2, 1)),
            Spec(s.name + ".absmax", "U8", (-(-n // 64),)),
            Spec(s.name + ".nested_absmax", "F32", (-(-n // 64 // 256),)),
            Spec(s.name + ".nested_quant_map", "F32", (256,)),
            Spec(s.name + ".quant_map", "F32", (16,)),
            Spec(qs_name, "U8", (len(state),)),
        ]
    return out, data


# --- safetensors bytes -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class HeaderFile:
    """A header-only weight file: the bytes to store and the size the real file has."""

    prefix: bytes
    """8-byte length + JSON header (+ any leading data that must be real, e.g. quant-state JSON)."""
    size: int
    """Declared total file size: 8 + N + data bytes."""


def safetensors_file(
    specs: list[Spec], metadata: dict[str, str] | None = None, data: dict[str, bytes] | None = None
) -> HeaderFile:
    """Valid safetensors header for `specs`; tensors named in `data` are laid out first and their bytes stored."""
    data = data or {}
    order = [s for s in specs if s.name in data] + sorted((s for s in specs if s.name not in data), key=_name_key)
    entries: dict[str, dict[str, object]] = {}
    offset = 0
    for s in order:
        entries[s.name] = {"dtype": s.dtype, "shape": list(s.shape), "data_offsets": [offset, offset + s.nbytes]}
        offset += s.nbytes
    header: dict[str, object] = {"__metadata__": metadata if metadata is not None else {"format": "pt"}}
    header.update(sorted(entries.items()))
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-(8 + len(raw)) % 8)  # pad so the data section starts 8-aligned
    stored = b"".join(data[s.name] for s in order if s.name in data)
    return HeaderFile(struct.pack("<Q", len(raw)) + raw + stored, 8 + len(raw) + offset)


def _name_key(s: Spec) -> str:
    return s.name


def shard(specs: list[Spec], max_bytes: int) -> list[list[Spec]]:
    """Split in state-dict order like transformers `save_pretrained(max_shard_size=…)`."""
    shards: list[list[Spec]] = [[]]
    size = 0
    for s in specs:
        if shards[-1] and size + s.nbytes > max_bytes:
            shards.append([])
            size = 0
        shards[-1].append(s)
        size += s.nbytes
    return shards


def shard_names(count: int, stem: str = "model", ext: str = "safetensors") -> list[str]:
    """`model-00001-of-00004.safetensors`-style names (a single file is `model.safetensors`)."""
    if count == 1:
        return [f"{stem}.{ext}"]
    return [f"{stem}-{i:05d}-of-{count:05d}.{ext}" for i in range(1, count + 1)]


def index_json(shards: list[list[Spec]], names: list[str], total_parameters: int | None = None) -> bytes:
    """`model.safetensors.index.json` with `metadata.total_size` (bytes of tensor data) and a sorted weight_map."""
    meta: dict[str, int] = {"total_size": sum(s.nbytes for sh in shards for s in sh)}
    if total_parameters is not None:
        meta["total_parameters"] = total_parameters
    weight_map = {s.name: name for sh, name in zip(shards, names, strict=True) for s in sh}
    doc = {"metadata": meta, "weight_map": dict(sorted(weight_map.items()))}
    return (json.dumps(doc, indent=2) + "\n").encode()


def read_header(prefix: bytes) -> dict[str, Any]:
    """Parse back the JSON header of safetensors bytes (used by tests and the emulator's Hub-style counts)."""
    (n,) = struct.unpack("<Q", prefix[:8])
    header: dict[str, Any] = json.loads(prefix[8 : 8 + n])  # a safetensors header is a JSON object
    return header


# --- GGUF bytes (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md) -----------------------------------
# ggml type id → (block elements, bytes per block) (ggml-org/llama.cpp gguf-py/gguf/constants.py GGML_QUANT_SIZES).
GGML_TYPES: dict[str, tuple[int, int, int]] = {
    "F32": (0, 1, 4),
    "F16": (1, 1, 2),
    "Q4_0": (2, 32, 18),
    "Q8_0": (8, 32, 34),
    "Q2_K": (10, 256, 84),
    "Q3_K": (11, 256, 110),
    "Q4_K": (12, 256, 144),
    "Q5_K": (13, 256, 176),
    "Q6_K": (14, 256, 210),
    "BF16": (30, 1, 2),
}
# GGUF metadata value type ids.
_GGUF_U32, _GGUF_F32, _GGUF_STRING, _GGUF_ARRAY, _GGUF_U64 = 4, 6, 8, 9, 10


def _gguf_str(s: str) -> bytes:
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def _gguf_value(v: object) -> bytes:
    """Type id + value; ints are U32 unless they need U64, lists are arrays of strings or U32."""
    if isinstance(v, str):
        return struct.pack("<I", _GGUF_STRING) + _gguf_str(v)
    if isinstance(v, float):
        return struct.pack("<If", _GGUF_F32, v)
    if isinstance(v, int):
        return struct.pack("<IQ", _GGUF_U64, v) if v >= 2**32 else struct.pack("<II", _GGUF_U32, v)
    assert isinstance(v, list)
    if v and isinstance(v[0], str):
        return struct.pack("<IIQ", _GGUF_ARRAY, _GGUF_STRING, len(v)) + b"".join(_gguf_str(x) for x in v)
    return struct.pack("<IIQ", _GGUF_ARRAY, _GGUF_U32, len(v)) + b"".join(struct.pack("<I", x) for x in v)


def gguf_file(
    kvs: dict[str, object], tensors: list[tuple[str, tuple[int, ...], str]], alignment: int = 32
) -> HeaderFile:
    """GGUF v3 header for (name, dims innermost-first, ggml type) tensors; the data section is only declared."""
    out = [b"GGUF", struct.pack("<IQQ", 3, len(tensors), len(kvs))]
    out += [_gguf_str(k) + _gguf_value(v) for k, v in kvs.items()]
    offset = 0
    for name, shape, typ in tensors:
        type_id, block, size = GGML_TYPES[typ]
        out.append(_gguf_str(name) + struct.pack("<I", len(shape)) + struct.pack(f"<{len(shape)}Q", *shape))
        out.append(struct.pack("<IQ", type_id, offset))
        offset += -(-(math.prod(shape) // block * size) // alignment) * alignment
    head = b"".join(out)
    head += b"\0" * (-len(head) % alignment)
    return HeaderFile(head, len(head) + offset)


# --- weight sets and repos on disk -----------------------------------------------------------------------
def shard_to_count(specs: list[Spec], count: int) -> list[list[Spec]]:
    """Greedy sharding with the smallest size cap that yields exactly `count` shards (or the closest above)."""
    lo, hi = max(s.nbytes for s in specs), sum(s.nbytes for s in specs)
    while lo < hi:  # the shard count only falls as the cap grows
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if len(shard(specs, mid)) > count else (lo, mid)
    return shard(specs, lo)


def weight_files(
    shards: list[list[Spec]],
    stem: str = "model",
    metadata: dict[str, str] | None = None,
    data: dict[str, bytes] | None = None,
    total_parameters: int | None = None,
) -> dict[str, HeaderFile | bytes]:
    """Shard files (header-only) plus the index when there is more than one shard."""
    names = shard_names(len(shards), stem)
    files: dict[str, HeaderFile | bytes] = {}
    for sh, name in zip(shards, names, strict=True):
        own = {s.name: data[s.name] for s in sh if data and s.name in data}
        files[name] = safetensors_file(sh, metadata, own)
    if len(shards) > 1:
        files[f"{stem}.safetensors.index.json"] = index_json(shards, names, total_parameters)
    return files


def write_files(folder: Path, files: Mapping[str, HeaderFile | bytes | int]) -> dict[str, int]:
    """Write repo files under `folder`; returns the declared sizes of header-only / size-only files.

    `bytes` → a real small file; `HeaderFile` → its prefix, declared size; `int` → nothing stored, size only.
    """
    declared: dict[str, int] = {}
    for rel, content in sorted(files.items()):
        path = Path(folder) / rel
        if isinstance(content, int):
            declared[rel] = content
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, HeaderFile):
            path.write_bytes(content.prefix)
            declared[rel] = content.size
        else:
            path.write_bytes(content)
    return declared


# --- recipes: a compact description of a weight set, expanded at fixture time or at emulator start ---------
class Recipe(TypedDict, total=False):
    """A repo fixture's `generate` block: how to expand its config.json into weight files."""

    dtype: Required[str]
    """Stored dtype of unquantized tensors (`BF16`, `F16`…)."""
    rule: str
    """Key of ARCH_RULES when the config's model_type is not the right one."""
    quant: str
    """`bnb_nf4` or a key of QUANT_TRANSFORMS."""
    shards: int
    """Exact shard count (else shards are cut at `max_shard_bytes`)."""
    max_shard_bytes: int
    """Largest shard when `shards` is absent (default 5e9)."""
    stem: str
    """File name stem (`model` gives `model-00001-of-00002.safetensors`)."""
    metadata: dict[str, str]
    """The safetensors `__metadata__` to write."""


QUANT_TRANSFORMS: dict[str, Callable[[list[Spec]], list[Spec]]] = {
    "gptq": gptq,
    "awq": awq_gemm,
    # DeepSeek-V3 keeps the MTP `eh_proj` in BF16 (its Hub dtype totals only add up that way).
    "fp8_block": lambda specs: fp8_block(specs, skip=re.compile(r"eh_proj")),
}


def recipe_files(recipe: Recipe, cfg: Mapping[str, Any]) -> dict[str, HeaderFile | bytes]:
    """Weight files of a recipe: `{"dtype", "rule"?, "quant"?, "shards"? | "max_shard_bytes"?, "stem"?, "metadata"?}`."""
    specs = model_tensors(cfg, recipe["dtype"], recipe.get("rule"))
    data: dict[str, bytes] = {}
    quant = recipe.get("quant")
    if quant == "bnb_nf4":
        specs, data = bnb_nf4(specs)
    elif quant:
        specs = QUANT_TRANSFORMS[quant](specs)
    if "shards" in recipe:
        shards = shard_to_count(specs, recipe["shards"])
    else:
        shards = shard(specs, recipe.get("max_shard_bytes", 5 * 10**9))
    return weight_files(shards, recipe.get("stem", "model"), recipe.get("metadata"), data)
