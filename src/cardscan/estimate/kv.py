"""KV cache and recurrent state: bytes per token per layer kind, tokens each engine holds, totals per GPU rank.

Formulas and engine policies: docs/memory-model.md ("KV cache").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from cardscan.errors import ErrorCode, ScanError
from cardscan.tensors import DTYPE_ALIASES

if TYPE_CHECKING:  # annotations only: the engine registry and renderer table are read at CLI start-up
    from cardscan.parse.config import ArchFacts, LayerSpec


# Bytes per cached element. vLLM `--kv-cache-dtype` values; llama.cpp `-ctk/-ctv` block types are
# (block bytes)/(block elements) from ggml-common.h: q8_0 34/32, q5_1 24/32, q5_0 22/32, q4_1 20/32, q4_0 18/32.
KV_DTYPES: dict[str, float] = {
    "fp32": 4.0,
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,  # + 8 B per token·kv-head when per-token-head scales are used (see KV_DTYPE_NOTES)
    "fp8_e4m3": 1.0,
    "fp8_e5m2": 1.0,
    "q8_0": 34 / 32,
    "q5_1": 24 / 32,
    "q5_0": 22 / 32,
    "q4_1": 20 / 32,
    "q4_0": 18 / 32,
    "iq4_nl": 18 / 32,
    "nvfp4": 0.5625,  # vLLM nvfp4 KV: 4-bit values + one fp8 scale per 16
}
KV_DTYPE_NOTES: dict[str, str] = {
    "fp8": "fp8 KV: per-token-head scales (when enabled) add 8 B per token per KV head",
    "q8_0": "llama.cpp quantized V needs flash attention, else V falls back to f16",
    "q4_0": "llama.cpp quantized V needs flash attention, else V falls back to f16",
}
KV_DTYPE_ALIASES: dict[str, str] = {"f32": "fp32", "f16": "fp16", "float16": "fp16", "bfloat16": "bf16",
                                    "float32": "fp32", "fp8_e4m3fn": "fp8"}  # fmt: skip

SSM_STATE_BYTES = 4  # Mamba/GDN SSM state kept in fp32 by default (vLLM mamba_utils.py `mamba_ssm_cache_dtype`)
VLLM_BLOCK = 16  # vLLM default KV block (tokens)
LLAMACPP_PAD = 256  # llama.cpp pads n_ctx and the SWA cell count to 256 (llama-kv-cache.cpp get_padding)
ATTENTION_KINDS = ("full", "sliding", "chunked", "mla")
# KV layouts an engine can declare (Engine.layout): one buffer per sequence (HF, generic), vLLM's paged blocks
# (vllm/v1/core/kv_cache_utils.py), llama.cpp's cells shared by all slots (src/llama-kv-cache.cpp), SGLang's token
# pool (python/sglang/srt/mem_cache/memory_pool.py: one slot per token, every layer, page size 1).
LAYOUTS = ("contiguous", "paged", "cells", "pool")
# vLLM's hybrid allocator buckets sliding / full / chunked layers and cuts each bucket into groups of one size:
# the smallest bucket, or the largest when largest < 1.5 × smallest (kv_cache_utils.py
# `_get_kv_cache_groups_uniform_page_size`). A short last group is padded and its padding layers cost KV too.
VLLM_GROUP_SPREAD = 1.5


@dataclass(frozen=True)
class KVPolicy:
    """How an engine lays out the cache: which engine, how many tokens and sequences, parallelism."""

    layout: str = "contiguous"
    """How tokens are held (LAYOUTS): contiguous per sequence, paged in blocks (vLLM), or shared cells (llama.cpp)."""
    mla_eager: bool = False
    """MLA cached decompressed, per-head K and V (HF transformers), instead of the latent."""
    context: int = 4096
    """Tokens per sequence (S)."""
    batch: int = 1
    """Concurrent sequences."""
    tp: int = 1
    """Tensor-parallel degree (KV heads per rank = max(1, kv // tp))."""
    n_ubatch: int = 512
    """llama.cpp physical batch (adds to the SWA cell count)."""
    max_num_batched_tokens: int = 8192
    """vLLM T (adds to the SWA / chunked window)."""
    block: int = VLLM_BLOCK
    """vLLM block size in tokens."""


@dataclass(frozen=True)
class KindKV:
    """KV of all layers of one kind."""

    kind: str
    """Layer kind (full, sliding, chunked, mla, linear, mamba, none, cross)."""
    layers: int
    """How many layers of this kind."""
    bytes_per_token: int
    """Per-token bytes summed over these layers (0 for recurrent kinds), per rank; padding layers included."""
    tokens_held: int
    """Tokens each such layer holds per sequence (llama.cpp: cells shared by all sequences)."""
    total_bytes: int
    """Cache bytes of these layers for the whole batch, per rank."""
    padding_layers: int = 0
    """vLLM hybrid allocator: layer slots added to fill this kind's last group (they cost KV like real layers)."""


@dataclass(frozen=True)
class KVResult:
    """KV cache and state of a model under one policy, per GPU rank."""

    bytes_per_token: int
    """Σ over attention layers of per-token bytes (what vLLM reports per token; windows not applied)."""
    state_bytes_per_sequence: int
    """Fixed recurrent state per sequence (linear attention, Mamba)."""
    total_bytes: int
    """Whole cache for context × batch under the engine's policy."""
    kv_dtype: str
    """Resolved KV dtype."""
    by_kind: tuple[KindKV, ...]
    """Breakdown per layer kind."""


def known_kv_dtype(kv_dtype: str) -> bool:
    """True for `auto` and every name `--kv-dtype` accepts."""
    name = kv_dtype.lower() if isinstance(kv_dtype, str) else ""
    return name == "auto" or KV_DTYPE_ALIASES.get(name, name) in KV_DTYPES


def resolve_kv_dtype(kv_dtype: str, facts: ArchFacts) -> str:
    """`auto` → the checkpoint's KV scheme, else the compute dtype (weight quantization never implies it)."""
    name = kv_dtype.lower()
    if name == "auto":
        if facts.kv_cache_dtype:
            name = facts.kv_cache_dtype.lower()
        else:
            family = DTYPE_ALIASES.get(str(facts.dtype or "bfloat16").lower(), "bf16")
            name = family if family in ("fp32", "fp16", "bf16") else "bf16"
    name = KV_DTYPE_ALIASES.get(name, name)
    if name not in KV_DTYPES:
        raise ScanError(ErrorCode.BAD_INPUT, f"unknown KV dtype {kv_dtype!r}; known: auto, {', '.join(KV_DTYPES)}")
    return name


def layer_bytes_per_token(layer: LayerSpec, bpe: float, tp: int = 1) -> float:
    """Bytes one layer adds per cached token on one rank (0 for recurrent or KV-less layers)."""
    if layer.kind == "mla":  # latent + rope key, K only, replicated on every rank
        return (layer.kv_lora_rank + layer.qk_rope_head_dim) * bpe
    if layer.kind in ("full", "sliding", "chunked"):
        kv_rank = max(1, layer.kv_heads // tp)
        return kv_rank * (layer.head_dim_k + layer.head_dim_v) * bpe
    return 0.0


def mla_eager_bytes_per_token(facts: ArchFacts, bpe: float, tp: int = 1) -> float:
    """HF transformers eager MLA caches full per-head K and V: a·(qk_nope + qk_rope + v_head)·bpe per layer."""
    heads = max(1, facts.num_heads // tp)
    rope = facts.layers[0].qk_rope_head_dim if facts.layers else 0
    return heads * (facts.qk_nope_head_dim + rope + facts.v_head_dim) * bpe


def state_bytes(layer: LayerSpec, bpe: float, tp: int = 1, ssm_bpe: float = SSM_STATE_BYTES) -> int:
    """Fixed per-sequence state of a linear-attention / Mamba layer on one rank: conv (KV dtype) + SSM (fp32)."""
    if layer.kind not in ("linear", "mamba"):
        return 0
    return int(layer.conv_elems // tp * bpe + layer.ssm_elems // tp * ssm_bpe)


def _pad(n: int, multiple: int) -> int:
    return math.ceil(n / multiple) * multiple


def tokens_held(layer: LayerSpec, policy: KVPolicy) -> int:
    """Tokens one attention layer keeps per sequence (llama.cpp: cells shared by the batch)."""
    s, w = policy.context, layer.window
    if policy.layout == "cells":
        n_ctx = _pad(s * policy.batch, LLAMACPP_PAD)  # -np slots share n_ctx: ask for context·batch
        if layer.kind in ("sliding", "chunked") and w:
            return min(n_ctx, _pad(w * policy.batch + policy.n_ubatch, LLAMACPP_PAD))
        return n_ctx
    if policy.layout == "pool":  # SGLang sizes one token pool for every layer (no per-layer window)
        return s
    if policy.layout == "paged":
        if layer.kind == "sliding" and w:
            reach = min(w - 1 + policy.max_num_batched_tokens, s)
            return (math.ceil(reach / policy.block) + 1) * policy.block
        if layer.kind == "chunked" and w:
            return _pad(min(w + policy.max_num_batched_tokens, s), policy.block)
        return _pad(s, policy.block)
    if layer.kind in ("sliding", "chunked") and w:
        return min(s, w)
    return s


def _sequences(policy: KVPolicy) -> int:
    """Multiplier from per-sequence to whole-batch cache (llama.cpp cells are already shared)."""
    return 1 if policy.layout == "cells" else policy.batch


def hybrid_padding(groups: dict[str, list[LayerSpec]]) -> dict[str, int]:
    """vLLM V1 hybrid allocator: padding layer slots per attention kind (gemma-3-1b: 4 full + 22 sliding → groups
    of 4, the sliding bucket padded to 24). Uniform models (one kind) get none."""
    sizes = {k: len(v) for k, v in groups.items() if k in ("full", "sliding", "chunked")}
    if len(sizes) < 2:
        return {}
    small, large = min(sizes.values()), max(sizes.values())
    group = large if large < VLLM_GROUP_SPREAD * small else small
    return {k: math.ceil(n / group) * group - n for k, n in sizes.items()}


def _attention_kind(
    facts: ArchFacts, kind: str, layers: list[LayerSpec], bpe: float, policy: KVPolicy, padding: int = 0
) -> KindKV:
    if kind == "mla" and policy.mla_eager:
        total = mla_eager_bytes_per_token(facts, bpe, policy.tp) * len(layers)
    else:
        total = sum(layer_bytes_per_token(x, bpe, policy.tp) for x in layers)
    total += padding * layer_bytes_per_token(layers[-1], bpe, policy.tp)  # a padding slot costs one page per block
    held = tokens_held(layers[0], policy)
    return KindKV(kind, len(layers), int(total), held, int(total * held * _sequences(policy)), padding)


def _state_kind(kind: str, layers: list[LayerSpec], bpe: float, policy: KVPolicy) -> KindKV:
    per_seq = sum(state_bytes(x, bpe, policy.tp) for x in layers)
    return KindKV(kind, len(layers), 0, 0, per_seq * policy.batch)


def _cross_kind(facts: ArchFacts, bpe: float, policy: KVPolicy) -> KindKV:
    held = facts.encoder_tokens or policy.context
    per_token = int(sum(layer_bytes_per_token(x, bpe, policy.tp) for x in facts.cross_layers))
    return KindKV("cross", len(facts.cross_layers), per_token, held, per_token * held * policy.batch)


def kv_cache(facts: ArchFacts, policy: KVPolicy, kv_dtype: str = "auto") -> KVResult:
    """KV cache + recurrent state of `facts` under `policy`, per rank (memoised: a scan's fit matrix, verdict and
    capacity searches ask for the same context many times)."""
    return _memo(_KV_MEMO, facts, (policy, kv_dtype), lambda: _kv_cache(facts, policy, kv_dtype))


# (id(facts), *key) → (facts, value): the facts object is kept so its id cannot be reused while it is cached.
_KV_MEMO: dict[tuple[object, ...], tuple[ArchFacts, KVResult]] = {}
_LAYERS_MEMO: dict[tuple[object, ...], tuple[ArchFacts, str]] = {}
_MEMO_SIZE = 4096
T = TypeVar("T")


def _memo(memo: dict[tuple[object, ...], tuple[ArchFacts, T]], facts: ArchFacts, key: tuple[object, ...],
          compute: Callable[[], T]) -> T:  # fmt: skip
    """A per-facts cache (ArchFacts are frozen; their own hash would walk every layer on each call)."""
    full = (id(facts), *key)
    hit = memo.get(full)
    if hit is not None and hit[0] is facts:
        return hit[1]
    value = compute()
    if len(memo) >= _MEMO_SIZE:
        memo.clear()  # bounded; a batch's repos do not share facts
    memo[full] = (facts, value)
    return value


def _kv_cache(facts: ArchFacts, policy: KVPolicy, kv_dtype: str = "auto") -> KVResult:
    """KV cache + recurrent state of `facts` under `policy`, per rank."""
    dtype = resolve_kv_dtype(kv_dtype, facts)
    bpe = KV_DTYPES[dtype]
    groups: dict[str, list[LayerSpec]] = {}
    for layer in facts.layers:
        groups.setdefault(layer.kind, []).append(layer)
    padding = hybrid_padding(groups) if policy.layout == "paged" else {}
    kinds: list[KindKV] = []
    for kind, layers in groups.items():
        if kind in ATTENTION_KINDS:
            kinds.append(_attention_kind(facts, kind, layers, bpe, policy, padding.get(kind, 0)))
        elif kind in ("linear", "mamba"):
            kinds.append(_state_kind(kind, layers, bpe, policy))
        else:
            kinds.append(KindKV(kind, len(layers), 0, 0, 0))
    if facts.cross_layers:
        kinds.append(_cross_kind(facts, bpe, policy))
    per_token = sum(k.bytes_per_token for k in kinds if k.kind != "cross")
    state = sum(k.total_bytes for k in kinds if k.kind in ("linear", "mamba")) // max(1, policy.batch)
    return KVResult(per_token, state, sum(k.total_bytes for k in kinds), dtype, tuple(kinds))


def describe_layers(facts: ArchFacts) -> str:
    """One line such as "10 of 62 layers full attention; 52 sliding (window 1024)"."""
    return _memo(_LAYERS_MEMO, facts, (), lambda: _describe_layers(facts))


def _describe_layers(facts: ArchFacts) -> str:
    counts = facts.kind_counts
    n = facts.num_layers or len(facts.layers)
    if facts.is_encoder_only:
        return f"encoder-only ({n} layers): no KV cache"
    parts = []
    for kind, label in LAYER_LABELS.items():
        if kind in counts:
            window = next((x.window for x in facts.layers if x.kind == kind and x.window), None)
            parts.append(f"{counts[kind]} {label}" + (f" (window {window})" if window else ""))
    if parts:
        parts[0] = parts[0].replace(" ", f" of {n} layers ", 1)
    return "; ".join(parts)


LAYER_LABELS: dict[str, str] = {
    "full": "full attention",
    "sliding": "sliding",
    "chunked": "chunked local attention",
    "mla": "MLA (latent KV)",
    "linear": "linear attention (fixed state)",
    "mamba": "Mamba (fixed state)",
    "none": "without KV",
}
