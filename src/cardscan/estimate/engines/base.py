"""What every engine shares: the options an estimate takes, the estimate it returns, and the `Engine` interface.

An engine is one module in this package with a module-level `ENGINE` (an `Engine` subclass instance); the registry
(`cardscan.estimate.engines.ENGINES`) finds it, and the CLI's `--engine` choices are built from the registry.
The terms and constants are explained in docs/memory-model.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from cardscan.estimate.kv import KV_DTYPE_NOTES, KindKV, KVPolicy, KVResult, describe_layers, kv_cache
from cardscan.estimate.weights import QUICK_RULE_FACTOR, VLLM_DEFAULT_UTIL, overhead
from cardscan.tensors import DTYPE_ALIASES

if TYPE_CHECKING:  # annotations only: the engine registry and renderer table are read at CLI start-up
    from cardscan.estimate.gpus import Gpu
    from cardscan.parse.config import ArchFacts


DEFAULT_CONTEXT = 4096  # used only when the config gives no max_position_embeddings (flagged in notes)
ACT_BYTES = 2  # activations in 16-bit
LOGIT_BYTES = 4  # logits are upcast to fp32


@dataclass(frozen=True)
class EstimateOptions:
    """What the user asked for: engine, context, batch, KV dtype, GPU and parallelism."""

    engine: str = "generic"
    """A registered engine name (generic, vllm, sglang, llama.cpp, transformers, or a release such as vllm:0.6)."""
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
    max_num_seqs: int | None = None
    """vLLM max_num_seqs; None → vLLM's default for the GPU."""
    mem_fraction_static: float | None = None
    """SGLang --mem-fraction-static; None → SGLang's default rule for the GPU (engines/sglang.py)."""


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
    """vLLM utilization used for the budget (the fit check reads it)."""
    host_bytes: int = 0
    """llama.cpp: weights and KV of layers left on the CPU by --gpu-layers."""
    kv_budget_bytes: int | None = None
    """vLLM / SGLang with a GPU: memory the engine gives the KV cache (vLLM: util·total − weights − activations −
    non-torch [− graphs]; SGLang: mem_fraction_static·free − weights)."""
    kv_tokens: int | None = None
    """vLLM / SGLang: KV tokens that fit the budget (vLLM `GPU KV cache size`, block-rounded; SGLang `#tokens`)."""
    max_concurrency: float | None = None
    """vLLM / SGLang: requests of `context` tokens that fit at once."""
    fits_one_request: bool | None = None
    """vLLM / SGLang: one request of `context` tokens fits (else vLLM refuses to start)."""
    max_context_fit: int | None = None
    """vLLM / SGLang: largest context one request can have within the budget (what vLLM suggests)."""


class Engine:
    """One inference engine's memory rules. Subclasses override what differs; the defaults are plain PyTorch."""

    name: ClassVar[str]
    """The `--engine` value."""
    summary: ClassVar[str]
    """One line for `--help` and docs."""
    layout: ClassVar[str] = "contiguous"
    """KV layout rule in kv.py: contiguous (one buffer per sequence), paged (vLLM blocks), cells (llama.cpp), pool
    (SGLang's token pool)."""
    mla_eager: ClassVar[bool] = False
    """MLA layers cached decompressed (per-head K and V) rather than as the latent."""
    splits_heads: ClassVar[bool] = True
    """Tensor parallelism splits attention heads (llama.cpp splits layers instead)."""
    order: ClassVar[int] = 100
    """Position among the `--engine` choices."""
    version: ClassVar[str] = ""
    """Which release(s) of the engine these rules describe (said in the estimate's notes); empty for generic."""
    load_dtypes: ClassVar[Mapping[str, str]] = {}
    """Stored dtype → dtype the engine loads it in by default (vLLM/SGLang `dtype=auto`: fp32 → 16-bit); others as
    stored."""

    def load_dtype(self, stored: str | None) -> str | None:
        """The dtype the engine computes in for a checkpoint stored in `stored` (config `torch_dtype`)."""
        name = dtype_name(stored)
        return self.load_dtypes.get(name, name) if name else None

    def memory(
        self, facts: ArchFacts, weights: int, params: int, opts: EstimateOptions, context: int
    ) -> MemoryEstimate:
        """Inference memory per GPU for `context` tokens × opts.batch."""
        raise NotImplementedError

    def budget(self, gpu: Gpu, gpu_util: float) -> int:
        """Bytes the engine lets itself use on `gpu` (what a fit is checked against)."""
        return gpu.usable_bytes

    def resolve(self, opts: EstimateOptions) -> EstimateOptions:
        """`opts` with every default that depends on the GPU made explicit, so an estimate without the GPU (a chart,
        a search) equals the one with it. Engines whose figures do not depend on the GPU return `opts` as is. It must
        not read the context or batch: the capacity searches resolve once and then vary those."""
        return opts

    def batched_tokens(self, opts: EstimateOptions) -> int:
        """Tokens one forward pass may batch (vLLM's T; only the paged layout reads it)."""
        return opts.max_num_batched_tokens or 8192

    def kv_policy(self, opts: EstimateOptions, context: int, batch: int | None = None) -> KVPolicy:
        """How this engine holds the cache for `context` tokens × `batch` sequences."""
        tp = opts.tp if self.splits_heads else 1
        return KVPolicy(
            layout=self.layout, mla_eager=self.mla_eager, context=context, batch=opts.batch if batch is None else batch,
            tp=tp, n_ubatch=opts.n_ubatch, max_num_batched_tokens=self.batched_tokens(opts),
        )  # fmt: skip

    def kv(self, facts: ArchFacts, opts: EstimateOptions, context: int, batch: int | None = None) -> KVResult:
        """The KV cache under this engine's policy."""
        return kv_cache(facts, self.kv_policy(opts, context, batch), opts.kv_dtype)


DTYPE_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2}


def dtype_name(dtype: str | None) -> str | None:
    """`float32` / `torch.bfloat16` / `f16` → fp32 / bf16 / fp16 (other names lower-cased as given)."""
    if not dtype:
        return None
    name = str(dtype).lower().removeprefix("torch.")
    return DTYPE_ALIASES.get(name, name)


def loaded_weights(engine: str, stored_bytes: int, dtype: str | None, by_dtype: Mapping[str, int], params: int) -> int:
    """Weight bytes once `engine` has loaded a checkpoint of `stored_bytes` whose config declares `dtype`. With a
    load-dtype rule (vLLM / SGLang `dtype=auto`: fp32 → 16 bits) the fp32 parameters (`by_dtype["fp32"]`, or all
    `params` when no header was read) shrink to the load width; quantized and 16-bit tensors stay as stored."""
    from cardscan.estimate.engines import get  # the registry imports this module

    stored = dtype_name(dtype)
    loaded = get(engine).load_dtype(stored)
    if stored != "fp32" or loaded is None or loaded == stored:
        return stored_bytes
    fp32_params = by_dtype.get("fp32", 0) if by_dtype else params
    return max(0, stored_bytes - fp32_params * (DTYPE_BYTES["fp32"] - DTYPE_BYTES.get(loaded, 4)))


def load_note(engine: Engine, facts: ArchFacts) -> str | None:
    """The note an estimate carries when `engine` loads the checkpoint in another dtype than it is stored in."""
    stored, loaded = dtype_name(facts.dtype), engine.load_dtype(facts.dtype)
    if stored and loaded and stored != loaded:
        return f"{engine.name}: dtype=auto loads the {stored} checkpoint in {loaded}: fp32 weights charged at 2 B/param"
    return None


def ffn_width(facts: ArchFacts) -> int:
    """MLP width a token passes through (MoE: k routed experts + shared experts)."""
    if facts.num_experts:
        routed = facts.moe_intermediate_size * max(1, facts.experts_per_token)
        return routed + facts.num_shared_experts * facts.moe_intermediate_size
    return facts.intermediate_size


def prefill_activations(facts: ArchFacts, tokens: int, batch: int) -> int:
    """MLP intermediates (gate, up) + residual/q/k/v/o for `tokens` prefill tokens + last-token fp32 logits."""
    per_token = (2 * ffn_width(facts) + 4 * facts.hidden_size) * ACT_BYTES
    return tokens * per_token + batch * facts.vocab_size * LOGIT_BYTES


def base_fields(
    engine: str, facts: ArchFacts, weights: int, opts: EstimateOptions, context: int, kv: KVResult
) -> dict[str, Any]:
    """The fields every engine fills the same way, and the notes every estimate carries."""
    notes = [n for n in (describe_layers(facts),) if n]
    if facts.assumed:
        notes.append("assumed defaults for: " + ", ".join(facts.assumed))
    if kv.kv_dtype in KV_DTYPE_NOTES:
        notes.append(KV_DTYPE_NOTES[kv.kv_dtype])
    return {
        "engine": engine, "context": context, "batch": opts.batch, "kv_dtype": kv.kv_dtype, "tp": opts.tp,
        "kv_cache_bytes": kv.total_bytes, "kv_bytes_per_token": kv.bytes_per_token,
        "state_bytes_per_sequence": kv.state_bytes_per_sequence, "kv_by_kind": kv.by_kind,
        "quick_rule_bytes": weights * QUICK_RULE_FACTOR, "gpu_util": opts.gpu_util, "notes": notes,
    }  # fmt: skip


def finish(fields: dict[str, Any]) -> MemoryEstimate:
    """Total = weights + KV + activations + overhead."""
    total = fields["weights_bytes"] + fields["kv_cache_bytes"] + fields["activations_bytes"] + fields["overhead_bytes"]
    return MemoryEstimate(**{**fields, "notes": tuple(fields["notes"]), "total_bytes": total})


def per_gpu(weights: int, tp: int) -> int:
    """Weights on one GPU when tensor parallelism splits them evenly."""
    return math.ceil(weights / tp)


def cuda_context() -> int:
    """CUDA context + framework per process."""
    return overhead("cuda_context")
