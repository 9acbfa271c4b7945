"""llama.cpp: layers offloaded with --gpu-layers, cells shared by all slots, a compute buffer, a fit margin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cardscan.estimate.engines.base import (
    LOGIT_BYTES,
    Engine,
    EstimateOptions,
    MemoryEstimate,
    base_fields,
    cuda_context,
    ffn_width,
    finish,
)  # fmt: skip
from cardscan.estimate.weights import overhead

if TYPE_CHECKING:  # annotations only: the engine registry and renderer table are read at CLI start-up
    from cardscan.estimate.gpus import Gpu
    from cardscan.parse.config import ArchFacts


def compute_buffer(facts: ArchFacts, n_ctx: int, n_ub: int) -> int:
    """llama.cpp compute buffer: max(attention, FFN) + output (gguf-parser-go approximation, flash attention on)."""
    q_dim, kv_dim = facts.num_heads * facts.head_dim, facts.num_kv_heads * facts.head_dim
    attention = 2 * n_ctx * n_ub + 4 * n_ub * (q_dim + 2 * kv_dim)
    ffn = 4 * n_ub * ffn_width(facts) * 3
    if facts.num_experts:
        e, h, k = facts.num_experts, facts.hidden_size, facts.experts_per_token
        ffn += 4 * e * h + 4 * e * n_ub + 4 * h * k * n_ub
    return max(attention, ffn) + 4 * n_ub * (facts.hidden_size + facts.vocab_size)


class LlamaCpp(Engine):
    """llama.cpp server (llama-server), flash attention on."""

    name = "llama.cpp"
    summary = "llama.cpp: --gpu-layers offload, shared KV cells, compute buffer, 1 GiB fit margin"
    order = 20
    layout = "cells"
    splits_heads = False  # llama.cpp splits layers across GPUs, not heads

    def budget(self, gpu: Gpu, gpu_util: float) -> int:
        """The device total less llama.cpp's `-fit` margin."""
        return gpu.usable_bytes - overhead("llamacpp_fit_margin")

    def memory(
        self, facts: ArchFacts, weights: int, params: int, opts: EstimateOptions, context: int
    ) -> MemoryEstimate:
        """GPU share of weights and KV by offloaded layers; the rest is reported as host memory."""
        kv = self.kv(facts, opts, context)
        f = base_fields(self.name, facts, weights, opts, context, kv)
        n_layers = max(1, facts.num_layers)
        on_gpu = n_layers if opts.gpu_layers is None else max(0, min(opts.gpu_layers, n_layers))
        embed = int(facts.vocab_size * facts.hidden_size * weights / params) if params else 0
        head = 0 if facts.tie_word_embeddings else embed
        per_layer = max(0, weights - embed - head) / n_layers
        gpu_w = int(per_layer * on_gpu) + (head if on_gpu == n_layers else 0)  # token embeddings stay on the host
        gpu_kv = kv.total_bytes * on_gpu // n_layers  # KV lives with its layer
        compute = compute_buffer(facts, context * opts.batch, opts.n_ubatch)
        output = facts.vocab_size * LOGIT_BYTES * opts.batch  # output buffer V·4·n_seq_max
        host = weights - gpu_w + kv.total_bytes - gpu_kv
        f |= {"weights_bytes": gpu_w, "kv_cache_bytes": gpu_kv, "tp": 1, "activations_bytes": compute + output,
              "overhead_bytes": cuda_context(), "host_bytes": host}  # fmt: skip
        f["notes"].append(f"llama.cpp: {on_gpu}/{n_layers} layers on GPU; n_ctx {context * opts.batch} shared by "
                          f"{opts.batch} slot(s); token embeddings on host; fit margin 1024 MiB")  # fmt: skip
        return finish(f)


ENGINE = LlamaCpp()
