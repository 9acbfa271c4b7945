"""Weights at a precision, NVIDIA's quick rule, and the runtime overhead constants (one table, sources inline)."""

from __future__ import annotations

from dataclasses import dataclass

from cardscan.errors import ErrorCode, ScanError
from cardscan.units import GIB, MIB

# Bytes per parameter at each precision (NVIDIA "GPU memory essentials for AI performance": FP32 4, FP16/BF16 2,
# INT8/FP8 1, INT4/FP4 0.5). Block scales of real formats are extra; exact bytes come from weight headers.
PRECISIONS: dict[str, float] = {
    "fp32": 4.0,
    "bf16": 2.0,
    "fp16": 2.0,
    "int8": 1.0,
    "fp8": 1.0,
    "int4": 0.5,
    "fp4": 0.5,
}
# Cheapest-first order used when looking for the precision that fits (one name per size).
PRECISION_LADDER: tuple[str, ...] = ("bf16", "fp8", "int4")

# The four sizes users compare (NVIDIA's table): label → the precision whose bytes/param it uses.
PRECISION_GROUPS: dict[str, str] = {"fp32": "fp32", "bf16/fp16": "bf16", "int8/fp8": "int8", "int4/fp4": "int4"}

QUICK_RULE_LABEL = "params × bytes/param × 2 (NVIDIA)"
QUICK_RULE_FACTOR = 2  # NVIDIA "GPU memory essentials for AI performance": ×2 "for optimizer states and other overhead"


@dataclass(frozen=True)
class Constant:
    """One runtime overhead figure and where it comes from."""

    value: int
    """Bytes."""
    source: str
    """Where the number comes from."""


OVERHEADS: dict[str, Constant] = {
    "cuda_context": Constant(500 * MIB, "CUDA context + framework per process: GPUStack 500 MiB (range 250–650 MiB)"),
    "vllm_non_torch_tp1": Constant(
        int(0.3 * GIB), "vLLM non-torch, TP1: 0.28/0.33/0.39 GiB (vllm#15039, #14452, #11251)"
    ),
    "vllm_non_torch_tp2": Constant(2 * GIB, "vLLM non-torch, TP≥2 (NCCL, custom all-reduce): llm-d 2.10 GiB"),
    "vllm_cuda_graphs": Constant(
        int(0.55 * GIB), "vLLM CUDA graphs: 0.52 GiB (lmcache#3430, 24 GB card) and 0.65 GiB (vLLM PR #21489) logged"
    ),
    "vllm_activation_moe": Constant(int(2.5 * GIB), "vLLM profile-run peak, MoE: llm-d planner calibration"),
    "vllm_activation_multimodal": Constant(2 * GIB, "vLLM profile-run peak, multimodal: llm-d planner calibration"),
    "llamacpp_fit_margin": Constant(1024 * MIB, "llama.cpp `-fit` margin per device (ggml-org/llama.cpp#16653)"),
}
TRANSFORMERS_FRAGMENTATION = 0.08  # PyTorch caching-allocator slack, 5–10 % of allocations (cardscan design choice)
VLLM_DEFAULT_UTIL = 0.9  # vLLM `gpu_memory_utilization` default (vllm/engine/arg_utils.py)


def overhead(name: str) -> int:
    """Bytes of a named overhead constant."""
    return OVERHEADS[name].value


def precision_bytes(precision: str) -> float:
    """Bytes per parameter of a precision name (`bf16`, `int4`…)."""
    key = precision.lower().replace("float", "fp").replace("bfp16", "bf16")
    if key not in PRECISIONS:
        raise ScanError(ErrorCode.BAD_INPUT, f"unknown precision {precision!r}; known: {', '.join(PRECISIONS)}")
    return PRECISIONS[key]


def weights_at(params: int, precision: str) -> int:
    """Weight bytes of `params` parameters stored at `precision` (no block scales)."""
    return int(params * precision_bytes(precision))


def quick_rule_bytes(params: int, precision: str) -> int:
    """NVIDIA's quick rule `P × bytes/param × 2` (7B at FP16 → 28 GB); shown beside the detailed estimate."""
    return int(params * precision_bytes(precision) * QUICK_RULE_FACTOR)
