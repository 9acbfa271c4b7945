"""Inverse questions for one GPU: largest context, largest batch, least-lossy precision, smallest TP; fit matrix."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from cardscan.estimate.engines import EstimateOptions, estimate_memory
from cardscan.estimate.gpus import Fit, Gpu, fits, parse_gpu
from cardscan.estimate.weights import PRECISION_LADDER, weights_at
from cardscan.parse.config import ArchFacts

MAX_BATCH = 1 << 16  # upper bound of the batch search
TP_DEGREES = (1, 2, 4, 8, 16)
# Short list for the fit matrix: one card per common memory size (names from data/gpus.toml).
COMMON_GPUS: tuple[str, ...] = ("RTX 3060 12GB", "RTX 4090 24GB", "RTX 5090 32GB", "L40S 48GB", "H100 SXM 80GB",
                                "H200 141GB")  # fmt: skip


@dataclass(frozen=True)
class FitRow:
    """One precision's fit on each GPU of the matrix."""

    precision: str
    """Weight precision (weights.PRECISIONS key)."""
    weights_bytes: int
    """Weights at this precision (whole model)."""
    fits: tuple[Fit, ...]
    """One Fit per GPU, in the matrix's GPU order."""


def _fits(facts: ArchFacts, weights: int, params: int, opts: EstimateOptions, gpu: Gpu) -> bool:
    return fits(estimate_memory(facts, weights, params, replace(opts, gpu=gpu)), gpu).fits


def _largest(ok: Callable[[int], bool], lo: int, hi: int) -> int | None:
    """Largest n in [lo, hi] with ok(n), for ok monotone (true then false); None if ok(lo) is false."""
    if not ok(lo):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid - 1)
    return lo


def max_context(facts: ArchFacts, weights: int, params: int, opts: EstimateOptions, gpu: Gpu) -> int | None:
    """Largest context (≤ the model's max) that fits `gpu` at opts.batch; None if even 1 token does not."""
    limit = facts.max_context or opts.context or 1 << 20
    return _largest(lambda s: _fits(facts, weights, params, replace(opts, context=s), gpu), 1, limit)


def max_batch(facts: ArchFacts, weights: int, params: int, opts: EstimateOptions, gpu: Gpu) -> int | None:
    """Largest number of concurrent sequences at opts.context that fits `gpu`."""
    return _largest(lambda b: _fits(facts, weights, params, replace(opts, batch=b), gpu), 1, MAX_BATCH)


def best_precision(facts: ArchFacts, params: int, opts: EstimateOptions, gpu: Gpu) -> str | None:
    """Least lossy precision of PRECISION_LADDER (bf16 → fp8 → int4) whose weights + KV fit `gpu`."""
    for precision in PRECISION_LADDER:
        if _fits(facts, weights_at(params, precision), params, opts, gpu):
            return precision
    return None


def smallest_tp(facts: ArchFacts, weights: int, params: int, opts: EstimateOptions, gpu: Gpu) -> int | None:
    """Fewest GPUs of this type (TP degree dividing the head count) that hold the model per GPU."""
    for tp in TP_DEGREES:
        if facts.num_heads % tp == 0 and _fits(facts, weights, params, replace(opts, tp=tp), gpu):
            return tp
    return None


def fit_matrix(
    facts: ArchFacts,
    params: int,
    opts: EstimateOptions,
    gpus: Sequence[Gpu] | None = None,
    precisions: Sequence[str] = PRECISION_LADDER,
) -> tuple[FitRow, ...]:
    """Precision × GPU fit table at opts.context / opts.batch (default GPUs: COMMON_GPUS)."""
    cards = tuple(gpus) if gpus is not None else tuple(parse_gpu(n) for n in COMMON_GPUS)
    rows = []
    for precision in precisions:
        w = weights_at(params, precision)
        row = tuple(fits(estimate_memory(facts, w, params, replace(opts, gpu=g)), g) for g in cards)
        rows.append(FitRow(precision, w, row))
    return tuple(rows)
