"""SGLang: a static share of the start-up free memory for weights + one token pool, the rest for activations/graphs.

`python/sglang/srt/model_executor/model_runner.py` `profile_max_num_token` (same shape 2024–2026):

    rest   = free after the weights − free at start-up × (1 − mem_fraction_static)
    tokens = rest // cell_size          (cell_size = KV bytes of one token over every layer, per rank)

`mem_fraction_static` has had three default rules (`python/sglang/srt/server_args.py`); `sglang` is the current one
(≥ 0.5.3, PR #10975: a reserve in MiB from the chunked-prefill size, the CUDA-graph batch size and TP), the older ones
are registered as `sglang:0.4.7` (0.4.7–0.5.2: a reserve by GPU size) and `sglang:0.4` (≤ 0.4.6: by TP size).
Derivation and log checks: docs/engines-research.md §2.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from cardscan.estimate.engines.base import (
    Engine,
    EstimateOptions,
    MemoryEstimate,
    base_fields,
    finish,
    load_note,
    per_gpu,
)  # fmt: skip
from cardscan.estimate.weights import overhead
from cardscan.units import GIB, MIB

if TYPE_CHECKING:  # annotations only: the engine registry and renderer table are read at CLI start-up
    from cardscan.estimate.gpus import Gpu
    from cardscan.parse.config import ArchFacts


# (GPU memory below, MiB) → (chunked_prefill_size, cuda_graph_max_bs at TP < 4, at TP ≥ 4); server_args.py ≥ 0.5.3.
GPU_TIERS: tuple[tuple[float, int, int, int], ...] = (
    (20 * 1024, 2048, 8, 8),  # T4, RTX 4080
    (35 * 1024, 2048, 24, 80),  # A10, RTX 4090, RTX 5090
    (60 * 1024, 4096, 32, 160),  # A100 40GB, L40
    (90 * 1024, 8192, 256, 512),  # H100, A100 80GB
    (160 * 1024, 8192, 256, 512),  # H20, H200
    (float("inf"), 16384, 512, 512),  # B200, MI300
)
NO_GPU = (4096, 160)  # chunked_prefill_size, cuda_graph_max_bs when the GPU is unknown
NO_GPU_FRACTION = 0.88  # mem_fraction_static when the GPU memory is unknown (every generation)
METADATA_MIB = 512  # "constant meta data (e.g., from attention backend)" in the ≥ 0.5.3 reserve
PREFILL_MIB_PER_TOKEN = 1.5  # the ≥ 0.5.3 reserve's activation term: max(chunked, 2048) × 1.5 MiB
GRAPH_MIB_PER_BS = 2  # the ≥ 0.5.3 reserve's CUDA-graph term: cuda_graph_max_bs × 2 MiB
RELEASES = ("sglang", "sglang:0.4.7", "sglang:0.4")  # the names registered below, newest first
BIG_GPU_MIB, BIG_GPU_MIN_RESERVE_MIB = 60 * 1024, 10 * 1024  # reserve ≥ 10 GiB on GPUs over 60 GiB


def gpu_mib(gpu: Gpu) -> float:
    """GPU memory as SGLang reads it (`nvidia-smi` memory.total, MiB): the label in GiB × 1024."""
    return gpu.memory_bytes / MIB


def tier(gpu: Gpu | None, tp: int) -> tuple[int, int]:
    """(chunked_prefill_size, cuda_graph_max_bs) SGLang picks for `gpu` at `tp`."""
    if gpu is None:
        return NO_GPU
    mib = gpu_mib(gpu)
    _, chunked, small_tp, large_tp = next(t for t in GPU_TIERS if mib < t[0])
    return chunked, small_tp if tp < 4 else large_tp


class Sglang(Engine):
    """SGLang (`python -m sglang.launch_server`), ≥ 0.5.3."""

    name = "sglang"
    summary = "SGLang ≥ 0.5.3: mem_fraction_static of start-up free memory for weights + token pool"
    order = 35
    layout = "pool"
    version = "SGLang ≥ 0.5.3 (mem_fraction_static from the reserved-memory rule)"
    # --dtype auto: "FP16 precision for FP32 and FP16 models, BF16 precision for BF16 models" (SGLang server arguments)
    load_dtypes: ClassVar[Mapping[str, str]] = {"fp32": "fp16"}

    def budget(self, gpu: Gpu, gpu_util: float) -> int:
        """SGLang plans the whole device (its reserve is inside the estimate's total)."""
        return gpu.usable_bytes

    def reserve_mib(self, gpu: Gpu, tp: int) -> float:
        """MiB SGLang keeps out of the static share (≥ 0.5.3): metadata + prefill activations + CUDA graphs + TP."""
        chunked, graph_bs = tier(gpu, tp)
        reserved = METADATA_MIB + max(chunked, 2048) * PREFILL_MIB_PER_TOKEN + graph_bs * GRAPH_MIB_PER_BS
        reserved += tp / 8 * 1024
        return max(reserved, BIG_GPU_MIN_RESERVE_MIB) if gpu_mib(gpu) > BIG_GPU_MIB else reserved

    def default_fraction(self, gpu: Gpu | None, tp: int) -> float:
        """mem_fraction_static when the user sets none: round((gpu_mem − reserve) / gpu_mem, 3)."""
        if gpu is None:
            return NO_GPU_FRACTION
        mib = gpu_mib(gpu)
        return round((mib - self.reserve_mib(gpu, tp)) / mib, 3)

    def fraction(self, opts: EstimateOptions) -> float:
        """The option, else the release's default rule."""
        return opts.mem_fraction_static or self.default_fraction(opts.gpu, opts.tp)

    def memory(
        self, facts: ArchFacts, weights: int, params: int, opts: EstimateOptions, context: int
    ) -> MemoryEstimate:
        """Weights and KV inside the static share; with a GPU, SGLang's token pool and the reserve it leaves."""
        kv = self.kv(facts, opts, context)
        f = base_fields(self.name, facts, weights, opts, context, kv)
        w = per_gpu(weights, opts.tp)
        startup = overhead("sglang_startup")
        load_extra = overhead("sglang_load_extra_tp1" if opts.tp == 1 else "sglang_load_extra_tp2")
        chunked, graph_bs = tier(opts.gpu, opts.tp)
        fixed = int((METADATA_MIB + graph_bs * GRAPH_MIB_PER_BS) * MIB)
        frac = self.fraction(opts)
        if opts.gpu is None:  # no free-memory figure: charge SGLang's own reserve rule
            act = int(max(chunked, 2048) * PREFILL_MIB_PER_TOKEN * MIB + opts.tp / 8 * GIB)
        else:
            free = opts.gpu.usable_bytes - startup
            act = max(0, int(free * (1 - frac)) - fixed)
            f |= self.pool(facts, opts, context, int(free * frac) - w - load_extra, kv.bytes_per_token)
        f |= {"weights_bytes": w, "activations_bytes": act, "overhead_bytes": startup + load_extra + fixed}
        others = ", ".join(n for n in RELEASES if n != self.name)
        f["notes"].append(f"figures for {self.version}; other releases: --engine {others}")
        f["notes"].append(
            f"SGLang: mem_fraction_static {frac:.3f} of start-up free memory holds weights + token pool; "
            f"chunked prefill {chunked}, CUDA graphs up to bs {graph_bs}; every layer holds the full pool "
            "(hybrid SWA pools not modelled)"
        )
        if note := load_note(self, facts):
            f["notes"].append(note)
        return finish(f)

    def pool(self, facts: ArchFacts, opts: EstimateOptions, context: int, rest: int, cell: int) -> dict[str, object]:
        """Token pool (`max_total_num_tokens`), concurrency and the largest context, as SGLang sizes them."""
        tokens = max(0, rest) // cell if cell else None
        fits = tokens is None or tokens >= context
        return {
            "kv_budget_bytes": rest,
            "kv_tokens": tokens,
            "max_concurrency": tokens / context if tokens is not None and context else None,
            "fits_one_request": fits,
            "max_context_fit": min(tokens, facts.max_context or tokens) if tokens is not None else None,
        }


class Sglang047(Sglang):
    """SGLang 0.4.7 – 0.5.2: the reserve is set by GPU size and TP × PP."""

    name = "sglang:0.4.7"
    summary = "SGLang 0.4.7–0.5.2: mem_fraction_static from a reserve by GPU size"
    order = 56
    version = "SGLang 0.4.7–0.5.2 (mem_fraction_static by GPU size)"

    def reserve_mib(self, gpu: Gpu, tp: int) -> float:
        """(2.8 + tp/10) GiB under 35 GiB, (9.5 + tp/2) under 90, (12 + tp/2) under 160, else 32 GiB."""
        mib = gpu_mib(gpu)
        if mib < 35 * 1024:
            return (2.8 + tp / 10) * 1024
        if mib < 90 * 1024:
            return (9.5 + tp / 2) * 1024
        return (12 + tp / 2) * 1024 if mib < 160 * 1024 else 32 * 1024


class Sglang04(Sglang):
    """SGLang ≤ 0.4.6: mem_fraction_static by TP size."""

    name = "sglang:0.4"
    summary = "SGLang ≤ 0.4.6: mem_fraction_static by TP size (0.88 at TP 1)"
    order = 57
    version = "SGLang ≤ 0.4.6 (mem_fraction_static by TP size)"

    def default_fraction(self, gpu: Gpu | None, tp: int) -> float:
        """tp ≥ 16: 0.79, ≥ 8: 0.81, ≥ 4: 0.85, ≥ 2: 0.87, else 0.88."""
        return next(frac for least, frac in ((16, 0.79), (8, 0.81), (4, 0.85), (2, 0.87), (1, 0.88)) if tp >= least)


ENGINE = Sglang()
VERSIONS = (Sglang047(), Sglang04())
