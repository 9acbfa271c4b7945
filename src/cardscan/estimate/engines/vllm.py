"""vLLM V1: paged KV in blocks of 16, a profile run of T batched tokens, CUDA graphs, util × total as its budget."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from cardscan.estimate.engines.base import (
    ACT_BYTES,
    Engine,
    EstimateOptions,
    MemoryEstimate,
    base_fields,
    ffn_width,
    finish,
    per_gpu,
)  # fmt: skip
from cardscan.estimate.kv import VLLM_BLOCK
from cardscan.estimate.search import largest
from cardscan.estimate.weights import overhead
from cardscan.units import GIB

if TYPE_CHECKING:  # annotations only: the engine registry and renderer table are read at CLI start-up
    from cardscan.estimate.gpus import Gpu
    from cardscan.parse.config import ArchFacts


# max_num_batched_tokens (server) by GPU size (vllm/engine/arg_utils.py): ≥ 70 GiB and not A100 → 8192, else 2048.
T_LARGE, T_SMALL, LARGE_GPU = 8192, 2048, 70 * GIB
# V1's profile run pushes T tokens through the model: its torch peak grows with T and the MLP width.
# Calibrated on two V1 logs (Llama-3-8B on an H100 at T = 8192; Qwen3-8B on a 24 GB card at T = 2048): the peak is
# about 3.5× the per-token MLP + residual stream (docs/accuracy.md).
ACT_FACTOR = 3.5
CALIBRATION_T = 8192  # the T llm-d's MoE / multimodal constants were measured at (vLLM server on an H100)


class Vllm(Engine):
    """vLLM V1 (`vllm serve`)."""

    name = "vllm"
    summary = "vLLM V1: util × total budget, profile-run peak, CUDA graphs, paged KV (blocks of 16)"
    order = 10
    layout = "paged"

    def budget(self, gpu: Gpu, gpu_util: float) -> int:
        """vLLM reserves gpu_memory_utilization × total for itself."""
        return int(gpu.usable_bytes * gpu_util)

    def batched_tokens(self, opts: EstimateOptions) -> int:
        """T: the option, else vLLM's default for the GPU size."""
        if opts.max_num_batched_tokens:
            return opts.max_num_batched_tokens
        gpu = opts.gpu
        if gpu is None or (gpu.usable_bytes >= LARGE_GPU and "A100" not in gpu.name):
            return T_LARGE
        return T_SMALL

    def activation_peak(self, facts: ArchFacts, opts: EstimateOptions) -> int:
        """The profile-run peak. Dense: analytic in T; MoE and multimodal: llm-d's constants scaled to T (fused-MoE
        workspaces and the vision encoder's dummy batch are not in the analytic term)."""
        t = self.batched_tokens(opts)
        if facts.has_vision or facts.num_experts:
            name = "vllm_activation_multimodal" if facts.has_vision else "vllm_activation_moe"
            return int(overhead(name) * min(1.0, t / CALIBRATION_T))
        per_token = (2 * ffn_width(facts) + 4 * facts.hidden_size) * ACT_BYTES
        return int(ACT_FACTOR * per_token * t)

    def memory(
        self, facts: ArchFacts, weights: int, params: int, opts: EstimateOptions, context: int
    ) -> MemoryEstimate:
        """Weights, KV, the profile peak, non-torch memory and CUDA graphs; with a GPU, vLLM's own KV budget."""
        kv = self.kv(facts, opts, context)
        f = base_fields(self.name, facts, weights, opts, context, kv)
        non_torch = overhead("vllm_non_torch_tp1" if opts.tp == 1 else "vllm_non_torch_tp2")
        w = per_gpu(weights, opts.tp)
        act = self.activation_peak(facts, opts)
        overhead_bytes = non_torch + overhead("vllm_cuda_graphs")
        f |= {"weights_bytes": w, "activations_bytes": act, "overhead_bytes": overhead_bytes}
        f["notes"].append(
            f"vLLM: blocks of 16, T={self.batched_tokens(opts)}; vLLM itself reserves util × total and fills it with KV"
        )
        if opts.gpu is not None:
            budget = self.budget(opts.gpu, opts.gpu_util) - w - act - overhead_bytes
            f |= self.kv_budget(facts, opts, context, budget)
            if not f["fits_one_request"]:
                f["notes"].append(
                    f"vLLM would refuse max_model_len={context}; largest that fits: {f['max_context_fit']}"
                )
        return finish(f)

    def kv_budget(self, facts: ArchFacts, opts: EstimateOptions, context: int, budget: int) -> dict[str, Any]:
        """KV budget, token capacity, concurrency and the max context, as vLLM logs them."""
        one = self.kv(facts, opts, context, batch=1)
        tokens = (max(0, budget) // one.bytes_per_token // VLLM_BLOCK * VLLM_BLOCK) if one.bytes_per_token else None
        limit = max(context, facts.max_context or context)
        return {
            "kv_budget_bytes": budget,
            "kv_tokens": tokens,
            "max_concurrency": max(0, budget) / one.total_bytes if one.total_bytes else math.inf,
            "fits_one_request": one.total_bytes <= budget,
            "max_context_fit": self.max_context_in(facts, opts, budget, limit),
        }

    def max_context_in(self, facts: ArchFacts, opts: EstimateOptions, budget: int, limit: int) -> int:
        """Largest S whose one-request KV fits `budget` (vLLM `estimate_max_model_len`, a binary search)."""
        single = replace(opts, batch=1)
        found = largest(lambda s: self.kv(facts, single, s, batch=1).total_bytes <= budget, 1, limit)
        return found or 0


ENGINE = Vllm()
