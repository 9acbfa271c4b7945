"""Whether an estimate fits a GPU under its engine's budget (the budget rule belongs to the engine)."""

from __future__ import annotations

from dataclasses import dataclass

from cardscan.estimate.engines import MemoryEstimate, get
from cardscan.estimate.gpus import Gpu
from cardscan.estimate.weights import VLLM_DEFAULT_UTIL


@dataclass(frozen=True)
class Fit:
    """Whether an estimate fits one GPU, and by how much."""

    gpu: Gpu
    """The GPU checked."""
    fits: bool
    """True when the estimate is within the engine's budget on this GPU."""
    free_bytes: int
    """Budget minus the estimate (negative: missing bytes)."""
    utilization: float
    """Estimate / usable memory."""


def engine_budget(gpu: Gpu, engine: str, gpu_util: float = VLLM_DEFAULT_UTIL) -> int:
    """Bytes `engine` lets itself use on `gpu`."""
    return get(engine).budget(gpu, gpu_util)


def fits(estimate: MemoryEstimate, gpu: Gpu) -> Fit:
    """Does `estimate` (per GPU) fit `gpu` under its engine's budget?"""
    free = engine_budget(gpu, estimate.engine, estimate.gpu_util) - estimate.total_bytes
    return Fit(gpu, free >= 0, free, estimate.total_bytes / gpu.usable_bytes)
