"""vLLM: paged KV in blocks of 16, a profile run of T batched tokens, util × total as its budget — per release.

`vllm` is current vLLM (V1, ≥ 0.21: CUDA-graph memory is profiled into the KV budget). Older releases whose budget
rule differs are registered beside it as `vllm:<version>` (VERSIONS below): `vllm:0.14` and `vllm:0.10` (V1 with the
graphs captured after the KV cache, outside the budget) and `vllm:0.6` (the V0 engine, removed in 0.11). Every
estimate says in its notes which release its figures are for. Sources and the calibration: docs/engines-research.md
§1 and docs/accuracy.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from cardscan.estimate.engines.base import (
    ACT_BYTES,
    Engine,
    EstimateOptions,
    MemoryEstimate,
    base_fields,
    ffn_width,
    finish,
    load_note,
    per_gpu,
)  # fmt: skip
from cardscan.estimate.kv import VLLM_BLOCK
from cardscan.estimate.search import largest
from cardscan.estimate.weights import overhead
from cardscan.units import GIB

if TYPE_CHECKING:  # annotations only: the engine registry and renderer table are read at CLI start-up
    from cardscan.estimate.gpus import Gpu
    from cardscan.parse.config import ArchFacts


# Scheduler defaults by GPU (vllm/engine/arg_utils.py `get_batch_defaults`, API server): ≥ 70 GiB and not an A100 →
# max_num_batched_tokens 8192 and max_num_seqs 1024; otherwise 2048 and 256.
T_LARGE, T_SMALL, LARGE_GPU = 8192, 2048, 70 * GIB
SEQS_LARGE, SEQS_SMALL = 1024, 256
# Profile-run peak, observed (docs/engines-research.md §1.2): one forward of T tokens (the MLP intermediates and the
# residual stream, per rank) plus the dummy sampler run over max_num_seqs rows of the vocabulary. Bytes per
# (sequence × vocabulary entry) of the sampler term, fitted on the calibration half of the logs
# (`python bench/engine_compare.py --fit`): 33.8 on the Jan 2026 logs (llm-d, ≈ 0.14), 5.5 on 0.10.1.1.
SAMPLER_BYTES_2026 = 33.8
SAMPLER_BYTES_2025 = 5.5
# V0 profiled one forward of max(max_model_len, T) tokens: peak ≈ 1.24 × the MLP + residual stream of that many
# tokens (fitted on the calibration V0 log, vllm#10517 at 20,000 tokens).
V0_STREAM_FACTOR = 1.24
RELEASES = ("vllm", "vllm:0.14", "vllm:0.10", "vllm:0.6")  # the names registered below, newest first


class Vllm(Engine):
    """vLLM V1, current release (`vllm serve`, ≥ 0.21)."""

    name = "vllm"
    summary = "vLLM ≥ 0.21 (V1): util × total budget, profile-run peak, CUDA graphs in the budget, paged KV"
    order = 10
    layout = "paged"
    version = "vLLM ≥ 0.21 (V1; CUDA-graph memory profiled into the KV budget)"
    # dtype=auto downcasts fp32 checkpoints to the platform's first supported dtype: bf16 on compute capability ≥ 8.0,
    # fp16 before (vllm/config/model.py `_get_and_verify_dtype` → `_resolve_auto_dtype`, "Downcast for float32 models")
    load_dtypes: ClassVar[Mapping[str, str]] = {"fp32": "bf16"}
    graphs_in_budget: ClassVar[bool] = True
    """CUDA-graph memory is subtracted from the KV budget (VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS, default ≥ 0.21)."""
    sampler_bytes: ClassVar[float] = SAMPLER_BYTES_2026
    """Profile-run sampler term, bytes per (max_num_seqs × vocabulary entry)."""
    non_torch: ClassVar[tuple[str, str]] = ("vllm_non_torch_tp1", "vllm_non_torch_tp2")
    """OVERHEADS names of the non-torch memory at TP 1 and TP ≥ 2."""

    def budget(self, gpu: Gpu, gpu_util: float) -> int:
        """vLLM reserves gpu_memory_utilization × total for itself."""
        return int(gpu.usable_bytes * gpu_util)

    def batched_tokens(self, opts: EstimateOptions) -> int:
        """T: the option, else vLLM's default for the GPU size."""
        if opts.max_num_batched_tokens:
            return opts.max_num_batched_tokens
        return T_LARGE if self._large(opts.gpu) else T_SMALL

    def max_num_seqs(self, opts: EstimateOptions) -> int:
        """max_num_seqs: the option, else vLLM's default for the GPU size."""
        if opts.max_num_seqs:
            return opts.max_num_seqs
        return SEQS_LARGE if self._large(opts.gpu) else SEQS_SMALL

    def resolve(self, opts: EstimateOptions) -> EstimateOptions:
        """T and max_num_seqs fixed from the GPU (vLLM's server defaults depend on its size)."""
        return replace(opts, max_num_batched_tokens=self.batched_tokens(opts), max_num_seqs=self.max_num_seqs(opts))

    @staticmethod
    def _large(gpu: Gpu | None) -> bool:
        return gpu is None or (gpu.usable_bytes >= LARGE_GPU and "A100" not in gpu.name)

    def profile_tokens(self, opts: EstimateOptions, context: int) -> int:
        """Tokens of the profile run's dummy forward (V1: T)."""
        return self.batched_tokens(opts)

    def activation_peak(self, facts: ArchFacts, opts: EstimateOptions, context: int) -> int:
        """The profile-run peak: the forward's MLP + residual stream per rank, the sampler's vocabulary buffers, and
        for multimodal models llm-d's vision-encoder constant (scaled to T)."""
        t = self.profile_tokens(opts, context)
        per_token = (2 * ffn_width(facts) // max(1, opts.tp) + 4 * facts.hidden_size) * ACT_BYTES
        sampler = self.sampler_bytes * self.max_num_seqs(opts) * facts.vocab_size
        vision = overhead("vllm_activation_multimodal") * min(1.0, t / T_LARGE) if facts.has_vision else 0
        return int(per_token * t + sampler + vision)

    def graphs(self) -> int:
        """CUDA-graph memory charged against the budget (0 where graphs are captured outside it)."""
        return overhead("vllm_cuda_graphs") if self.graphs_in_budget else 0

    def memory(
        self, facts: ArchFacts, weights: int, params: int, opts: EstimateOptions, context: int
    ) -> MemoryEstimate:
        """Weights, KV, the profile peak, non-torch memory and CUDA graphs; with a GPU, vLLM's own KV budget."""
        kv = self.kv(facts, opts, context)
        f = base_fields(self.name, facts, weights, opts, context, kv)
        non_torch = overhead(self.non_torch[0] if opts.tp == 1 else self.non_torch[1])
        w = per_gpu(weights, opts.tp)
        act = self.activation_peak(facts, opts, context)
        in_budget = non_torch + self.graphs()
        f |= {"weights_bytes": w, "activations_bytes": act, "overhead_bytes": non_torch + overhead("vllm_cuda_graphs")}
        f["notes"].extend(self.notes(facts, opts, kv.by_kind))
        if opts.gpu is not None:
            budget = self.budget(opts.gpu, opts.gpu_util) - w - act - in_budget
            f |= self.kv_budget(facts, opts, context, budget)
            if not f["fits_one_request"]:
                f["notes"].append(
                    f"vLLM would refuse max_model_len={context}; largest that fits: {f['max_context_fit']}"
                )
        return finish(f)

    def notes(self, facts: ArchFacts, opts: EstimateOptions, by_kind: tuple[Any, ...]) -> list[str]:
        """Which release the figures are for, the scheduler defaults used, padding and load dtype."""
        graphs = "in the KV budget" if self.graphs_in_budget else "captured after the KV cache (outside the budget)"
        others = ", ".join(n for n in RELEASES if n != self.name)
        notes = [f"figures for {self.version}; other releases: --engine {others}",
                 f"vLLM: blocks of 16, T={self.batched_tokens(opts)}, max_num_seqs={self.max_num_seqs(opts)}; "
                 f"CUDA graphs {graphs}; vLLM itself reserves util × total and fills it with KV"]  # fmt: skip
        padding = [f"{k.padding_layers} {k.kind}" for k in by_kind if getattr(k, "padding_layers", 0)]
        if padding:
            notes.append(f"vLLM hybrid KV allocator pads layer groups to equal size: {', '.join(padding)} padding "
                         "layer(s) charged")  # fmt: skip
        if note := load_note(self, facts):
            notes.append(note)
        return notes

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


class Vllm014(Vllm):
    """vLLM V1 as logged in Jan 2026 (≈ 0.14): graphs outside the budget, the large sampler term."""

    name = "vllm:0.14"
    summary = "vLLM 0.11–0.20 (V1, calibrated on Jan 2026 logs): CUDA graphs outside the KV budget"
    order = 51
    version = "vLLM 0.11–0.20 (V1 as logged in Jan 2026; CUDA graphs captured outside the KV budget)"
    graphs_in_budget = False


class Vllm010(Vllm):
    """vLLM V1 as logged by 0.10.1.1 (Aug 2025): graphs outside the budget, a small sampler term."""

    name = "vllm:0.10"
    summary = "vLLM 0.8–0.10 (V1, calibrated on 0.10.1.1 logs): CUDA graphs outside the KV budget"
    order = 52
    version = "vLLM 0.8–0.10 (V1 as logged by 0.10.1.1; CUDA graphs captured outside the KV budget)"
    graphs_in_budget = False
    sampler_bytes = SAMPLER_BYTES_2025
    non_torch = ("vllm_non_torch_tp1", "vllm_non_torch_tp2_2025")


class VllmV0(Vllm):
    """vLLM's V0 engine (≤ 0.10, removed in 0.11): the profile run is one forward of max_model_len tokens."""

    name = "vllm:0.6"
    summary = "vLLM V0 engine (≤ 0.10): profile run of max_model_len tokens, no CUDA-graph reserve"
    order = 53
    version = "vLLM V0 engine (≤ 0.10, default before 0.8; removed in 0.11)"
    graphs_in_budget = False
    non_torch = ("vllm_non_torch_v0", "vllm_non_torch_tp2")

    def profile_tokens(self, opts: EstimateOptions, context: int) -> int:
        """V0 profiled max(max_model_len, max_num_batched_tokens) tokens (chunked prefill off)."""
        return max(context, self.batched_tokens(opts))

    def activation_peak(self, facts: ArchFacts, opts: EstimateOptions, context: int) -> int:
        """1.24 × the MLP + residual stream of max_model_len tokens (V0's sampler ran inside that forward)."""
        per_token = (2 * ffn_width(facts) // max(1, opts.tp) + 4 * facts.hidden_size) * ACT_BYTES
        return int(V0_STREAM_FACTOR * per_token * self.profile_tokens(opts, context))


ENGINE = Vllm()
VERSIONS = (Vllm014(), Vllm010(), VllmV0())
