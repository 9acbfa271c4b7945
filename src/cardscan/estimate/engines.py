"""Inference memory per GPU under an engine preset: generic (first screen), vLLM, llama.cpp, HF transformers.

Each engine is one function that fills the same MemoryEstimate; the terms and constants are in docs/memory-model.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from cardscan.errors import ErrorCode, ScanError
from cardscan.estimate.gpus import GIB, Gpu
from cardscan.estimate.kv import KV_DTYPE_NOTES, KindKV, KVPolicy, KVResult, describe_layers, kv_cache
from cardscan.estimate.weights import QUICK_RULE_FACTOR, TRANSFORMERS_FRAGMENTATION, VLLM_DEFAULT_UTIL, overhead
from cardscan.parse.config import ArchFacts

Engine = Literal["generic", "vllm", "llama.cpp", "transformers"]
ENGINES: tuple[str, ...] = ("generic", "vllm", "llama.cpp", "transformers")
DEFAULT_CONTEXT = 4096  # used only when the config gives no max_position_embeddings (flagged in notes)
GENERIC_PREFILL_CHUNK = 512  # generic engine: prefill processed in chunks of this many tokens (llama.cpp n_ubatch)
ACT_BYTES = 2  # activations in 16-bit
LOGIT_BYTES = 4  # logits are upcast to fp32
# vLLM max_num_batched_tokens (server) by GPU size (vllm/engine/arg_utils.py): ≥ 70 GiB and not A100 → 8192, else 2048.
VLLM_T_LARGE, VLLM_T_SMALL, VLLM_LARGE_GPU = 8192, 2048, 70 * GIB


@dataclass(frozen=True)
class EstimateOptions:
    """What the user asked for: engine, context, batch, KV dtype, GPU and parallelism."""

    engine: Engine = "generic"
    """generic, vllm, llama.cpp or transformers."""
    context: int | None = None
    """Tokens per sequence; None → the model's max context."""
    batch: int = 1
    """Concurrent sequences."""
    kv_dtype: str = "auto"
    """KV cache dtype (kv.KV_DTYPES or auto = compute dtype / checkpoint KV scheme)."""
    gpu: Gpu | None = None
    """Target GPU (vLLM budget, T default); None → no budget figures."""
    gpu_util: float = VLLM_DEFAULT_UTIL
    """vLLM gpu_memory_utilization."""
    tp: int = 1
    """Tensor-parallel degree (vLLM, generic, transformers)."""
    gpu_layers: int | None = None
    """llama.cpp --gpu-layers; None → all layers on the GPU."""
    n_ubatch: int = 512
    """llama.cpp physical batch."""
    max_num_batched_tokens: int | None = None
    """vLLM T; None → vLLM's default for the GPU."""


@dataclass(frozen=True)
class MemoryEstimate:
    """Inference memory per GPU, by component, under one engine preset."""

    engine: str
    """Engine preset used."""
    context: int
    """Tokens per sequence."""
    batch: int
    """Concurrent sequences."""
    kv_dtype: str
    """Resolved KV cache dtype."""
    tp: int
    """Tensor-parallel degree; byte figures are per GPU."""
    weights_bytes: int
    """Weights resident on one GPU."""
    kv_cache_bytes: int
    """KV cache + recurrent state for context × batch on one GPU."""
    kv_bytes_per_token: int
    """Σ per-token bytes of all attention layers on one GPU (vLLM's per-token figure)."""
    state_bytes_per_sequence: int
    """Fixed recurrent state per sequence (linear attention / Mamba) on one GPU."""
    activations_bytes: int
    """Peak activations / compute buffers."""
    overhead_bytes: int
    """Runtime overhead: CUDA context, non-torch, CUDA graphs, allocator slack."""
    total_bytes: int
    """Sum of the above: what one GPU must hold."""
    kv_by_kind: tuple[KindKV, ...]
    """KV breakdown per layer kind."""
    notes: tuple[str, ...]
    """Human-readable facts and assumptions behind the numbers."""
    quick_rule_bytes: int
    """NVIDIA quick rule: weights × 2 (whole model, shown beside the estimate)."""
    gpu_util: float = VLLM_DEFAULT_UTIL
    """vLLM utilization used for the budget (fits() reads it)."""
    host_bytes: int = 0
    """llama.cpp: weights and KV of layers left on the CPU by --gpu-layers."""
    kv_budget_bytes: int | None = None
    """vLLM: memory left for KV on the GPU (util·total − weights − activations − non-torch − graphs)."""
    kv_tokens: int | None = None
    """vLLM: KV tokens that fit the budget (`GPU KV cache size`), block-rounded."""
    max_concurrency: float | None = None
    """vLLM: requests of `context` tokens that fit at once."""
    fits_one_request: bool | None = None
    """vLLM: one request of `context` tokens fits (else vLLM refuses to start)."""
    max_context_fit: int | None = None
    """vLLM: largest context one request can have within the budget (what vLLM suggests)."""


def _policy(facts: ArchFacts, opts: EstimateOptions, context: int) -> KVPolicy:
    tp = 1 if opts.engine == "llama.cpp" else opts.tp  # llama.cpp splits layers, not heads
    return KVPolicy(opts.engine, context, opts.batch, tp, opts.n_ubatch, _vllm_t(opts))


def _vllm_t(opts: EstimateOptions) -> int:
    if opts.max_num_batched_tokens:
        return opts.max_num_batched_tokens
    gpu = opts.gpu
    if gpu is None or (gpu.usable_bytes >= VLLM_LARGE_GPU and "A100" not in gpu.name):
        return VLLM_T_LARGE
    return VLLM_T_SMALL


def _ffn_width(facts: ArchFacts) -> int:
    """MLP width a token passes through (MoE: k experts)."""
    if facts.num_experts:
        return facts.moe_intermediate_size * max(1, facts.experts_per_token) + facts.num_shared_experts * (
            facts.moe_intermediate_size
        )
    return facts.intermediate_size


def _prefill_activations(facts: ArchFacts, tokens: int, batch: int) -> int:
    """MLP intermediates (gate, up) + residual/q/k/v/o for `tokens` prefill tokens + last-token fp32 logits."""
    per_token = (2 * _ffn_width(facts) + 4 * facts.hidden_size) * ACT_BYTES
    return tokens * per_token + batch * facts.vocab_size * LOGIT_BYTES


def _llamacpp_compute(facts: ArchFacts, n_ctx: int, n_ub: int) -> int:
    """llama.cpp compute buffer: max(attention, FFN) + output (gguf-parser-go approximation, flash attention on)."""
    q_dim, kv_dim = facts.num_heads * facts.head_dim, facts.num_kv_heads * facts.head_dim
    attention = 2 * n_ctx * n_ub + 4 * n_ub * (q_dim + 2 * kv_dim)
    ffn = 4 * n_ub * _ffn_width(facts) * 3
    if facts.num_experts:
        e, h, k = facts.num_experts, facts.hidden_size, facts.experts_per_token
        ffn += 4 * e * h + 4 * e * n_ub + 4 * h * k * n_ub
    return max(attention, ffn) + 4 * n_ub * (facts.hidden_size + facts.vocab_size)


def _base(facts: ArchFacts, weights: int, opts: EstimateOptions, context: int, kv: KVResult) -> dict:
    notes = [n for n in (describe_layers(facts),) if n]
    if facts.assumed:
        notes.append("assumed defaults for: " + ", ".join(facts.assumed))
    if kv.kv_dtype in KV_DTYPE_NOTES:
        notes.append(KV_DTYPE_NOTES[kv.kv_dtype])
    return {
        "engine": opts.engine, "context": context, "batch": opts.batch, "kv_dtype": kv.kv_dtype, "tp": opts.tp,
        "kv_cache_bytes": kv.total_bytes, "kv_bytes_per_token": kv.bytes_per_token,
        "state_bytes_per_sequence": kv.state_bytes_per_sequence, "kv_by_kind": kv.by_kind,
        "quick_rule_bytes": weights * QUICK_RULE_FACTOR, "gpu_util": opts.gpu_util, "notes": notes,
    }  # fmt: skip


def _finish(fields: dict) -> MemoryEstimate:
    total = fields["weights_bytes"] + fields["kv_cache_bytes"] + fields["activations_bytes"] + fields["overhead_bytes"]
    return MemoryEstimate(**{**fields, "notes": tuple(fields["notes"]), "total_bytes": total})


def _generic(facts: ArchFacts, weights: int, opts: EstimateOptions, context: int) -> MemoryEstimate:
    kv = kv_cache(facts, _policy(facts, opts, context), opts.kv_dtype)
    f = _base(facts, weights, opts, context, kv)
    tokens = min(context, GENERIC_PREFILL_CHUNK)
    f |= {"weights_bytes": math.ceil(weights / opts.tp), "activations_bytes": _prefill_activations(facts, tokens, 1)}
    f["overhead_bytes"] = overhead("cuda_context")
    f["notes"].append(f"generic: weights + KV + {tokens}-token prefill activations + 500 MiB CUDA context")
    return _finish(f)


def _transformers(facts: ArchFacts, weights: int, opts: EstimateOptions, context: int) -> MemoryEstimate:
    kv = kv_cache(facts, _policy(facts, opts, context), opts.kv_dtype)
    f = _base(facts, weights, opts, context, kv)
    act = _prefill_activations(facts, context * opts.batch, opts.batch)  # generate() prefills the whole prompt
    w = math.ceil(weights / opts.tp)
    slack = int(TRANSFORMERS_FRAGMENTATION * (w + kv.total_bytes + act))
    f |= {"weights_bytes": w, "activations_bytes": act, "overhead_bytes": overhead("cuda_context") + slack}
    f["notes"].append("transformers generate: unchunked prefill, last-token logits, 8 % allocator slack")
    return _finish(f)


def _llamacpp(facts: ArchFacts, weights: int, params: int, opts: EstimateOptions, context: int) -> MemoryEstimate:
    kv = kv_cache(facts, _policy(facts, opts, context), opts.kv_dtype)
    f = _base(facts, weights, opts, context, kv)
    n_layers = max(1, facts.num_layers)
    on_gpu = n_layers if opts.gpu_layers is None else max(0, min(opts.gpu_layers, n_layers))
    embed = int(facts.vocab_size * facts.hidden_size * weights / params) if params else 0
    head = 0 if facts.tie_word_embeddings else embed
    per_layer = max(0, weights - embed - head) / n_layers
    gpu_w = int(per_layer * on_gpu) + (head if on_gpu == n_layers else 0)  # token embeddings stay on the host
    gpu_kv = kv.total_bytes * on_gpu // n_layers  # KV lives with its layer
    compute = _llamacpp_compute(facts, context * opts.batch, opts.n_ubatch)
    output = facts.vocab_size * LOGIT_BYTES * opts.batch  # output buffer V·4·n_seq_max
    host = weights - gpu_w + kv.total_bytes - gpu_kv
    f |= {"weights_bytes": gpu_w, "kv_cache_bytes": gpu_kv, "tp": 1, "activations_bytes": compute + output,
          "overhead_bytes": overhead("cuda_context"), "host_bytes": host}  # fmt: skip
    f["notes"].append(f"llama.cpp: {on_gpu}/{n_layers} layers on GPU; n_ctx {context * opts.batch} shared by "
                      f"{opts.batch} slot(s); token embeddings on host; fit margin 1024 MiB")  # fmt: skip
    return _finish(f)


# vLLM V1's profile run pushes T tokens through the model: its torch peak grows with T and the MLP width.
# Calibrated on two V1 logs (Llama-3-8B on an H100 at T = 8192; Qwen3-8B on a 24 GB card at T = 2048): the peak is
# about 3.5× the per-token MLP + residual stream (tests/fixtures/engine_logs, docs/accuracy.md).
VLLM_ACT_FACTOR = 3.5
VLLM_CALIBRATION_T = 8192  # the T llm-d's MoE / multimodal constants were measured at (vLLM server on an H100)


def _vllm_activation(facts: ArchFacts, opts: EstimateOptions) -> int:
    """The profile-run peak. Dense: analytic in T; MoE and multimodal: llm-d's constants scaled to T (fused-MoE
    workspaces and the vision encoder's dummy batch are not in the analytic term)."""
    t = _vllm_t(opts)
    if facts.has_vision or facts.num_experts:
        name = "vllm_activation_multimodal" if facts.has_vision else "vllm_activation_moe"
        return int(overhead(name) * min(1.0, t / VLLM_CALIBRATION_T))
    per_token = (2 * _ffn_width(facts) + 4 * facts.hidden_size) * ACT_BYTES
    return int(VLLM_ACT_FACTOR * per_token * t)


def _vllm_max_context(facts: ArchFacts, opts: EstimateOptions, budget: int, limit: int) -> int:
    """Largest S whose one-request KV fits `budget` (vLLM `estimate_max_model_len`, binary search)."""
    single = replace(opts, batch=1)

    def need(s: int) -> int:
        return kv_cache(facts, _policy(facts, single, s), opts.kv_dtype).total_bytes

    if need(1) > budget:
        return 0
    lo, hi = 1, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if need(mid) <= budget else (lo, mid - 1)
    return lo


def _vllm(facts: ArchFacts, weights: int, opts: EstimateOptions, context: int) -> MemoryEstimate:
    kv = kv_cache(facts, _policy(facts, opts, context), opts.kv_dtype)
    f = _base(facts, weights, opts, context, kv)
    non_torch = overhead("vllm_non_torch_tp1" if opts.tp == 1 else "vllm_non_torch_tp2")
    w = math.ceil(weights / opts.tp)
    act = _vllm_activation(facts, opts)
    overhead_bytes = non_torch + overhead("vllm_cuda_graphs")
    f |= {"weights_bytes": w, "activations_bytes": act, "overhead_bytes": overhead_bytes}
    f["notes"].append(f"vLLM: blocks of 16, T={_vllm_t(opts)}; vLLM itself reserves util × total and fills it with KV")
    if opts.gpu is not None:
        f |= _vllm_budget(facts, opts, context, int(opts.gpu.usable_bytes * opts.gpu_util) - w - act - overhead_bytes)
        if not f["fits_one_request"]:
            f["notes"].append(f"vLLM would refuse max_model_len={context}; largest that fits: {f['max_context_fit']}")
    return _finish(f)


def _vllm_budget(facts: ArchFacts, opts: EstimateOptions, context: int, budget: int) -> dict:
    """KV budget, token capacity, concurrency and the max context, as vLLM logs them."""
    one = kv_cache(facts, _policy(facts, replace(opts, batch=1), context), opts.kv_dtype)
    block = KVPolicy().block
    tokens = (max(0, budget) // one.bytes_per_token // block * block) if one.bytes_per_token else None
    limit = max(context, facts.max_context or context)
    return {
        "kv_budget_bytes": budget,
        "kv_tokens": tokens,
        "max_concurrency": max(0, budget) / one.total_bytes if one.total_bytes else math.inf,
        "fits_one_request": one.total_bytes <= budget,
        "max_context_fit": _vllm_max_context(facts, opts, budget, limit),
    }


_ENGINE_FUNCS: dict[str, Callable[..., MemoryEstimate]] = {
    "generic": _generic,
    "vllm": _vllm,
    "transformers": _transformers,
}


def estimate_memory(facts: ArchFacts, weights_bytes: int, params: int, options: EstimateOptions) -> MemoryEstimate:
    """Inference memory per GPU for `facts` with `weights_bytes` of weights under `options`."""
    if options.engine not in ENGINES:
        raise ScanError(ErrorCode.BAD_INPUT, f"unknown engine {options.engine!r}; known: {', '.join(ENGINES)}")
    if options.tp < 1 or options.batch < 1:
        raise ScanError(ErrorCode.BAD_INPUT, "tp and batch must be ≥ 1")
    context = options.context or facts.max_context or DEFAULT_CONTEXT
    if options.engine == "llama.cpp":
        est = _llamacpp(facts, weights_bytes, params, options, context)
    else:
        est = _ENGINE_FUNCS[options.engine](facts, weights_bytes, options, context)
    if not options.context and not facts.max_context:
        est = replace(est, notes=(*est.notes, f"no max context in config: assumed {DEFAULT_CONTEXT}"))
    return est
