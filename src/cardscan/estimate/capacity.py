"""Inverse questions for one GPU: largest context, largest batch, least-lossy precision, smallest TP; fit matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from cardscan.estimate.engines import EstimateOptions, estimate_memory
from cardscan.estimate.fit import Fit, fits
from cardscan.estimate.gpus import Gpu, display_set
from cardscan.estimate.search import largest
from cardscan.estimate.weights import PRECISION_LADDER, weights_at
from cardscan.parse.config import ArchFacts

MAX_BATCH = 1 << 16  # upper bound of the batch search
TP_DEGREES = (1, 2, 4, 8, 16)


@dataclass(frozen=True)
class FitRow:
    """One precision's fit on each GPU of the matrix."""

    precision: str
    """Weight precision (weights.PRECISIONS key)."""
    weights_bytes: int
    """Weights at this precision (whole model)."""
    fits: tuple[Fit, ...]
    """One Fit per GPU, in the matrix's GPU order."""


@dataclass(frozen=True)
class Capacity:
    """What fits on the chosen GPU."""

    gpu: str
    """The GPU the answers are for."""
    kv_tokens: int | None
    """Tokens of KV cache that fit beside the weights (vLLM: its KV budget; others: what is left)."""
    max_context: int | None
    """The largest context (≤ the model's max) that fits at the chosen batch; None if nothing fits."""
    max_batch: int | None
    """The most sequences at the chosen context that fit."""
    cheapest_precision: str | None
    """The least lossy precision (bf16 → fp8 → int4) whose weights + KV fit; None if none does."""
    min_tp: int | None
    """The fewest GPUs of this type (tensor parallel) that hold the model."""


def _fits(facts: ArchFacts, weights: int, params: int, opts: EstimateOptions, gpu: Gpu) -> bool:
    return fits(estimate_memory(facts, weights, params, replace(opts, gpu=gpu)), gpu).fits


def max_context(facts: ArchFacts, weights: int, params: int, opts: EstimateOptions, gpu: Gpu) -> int | None:
    """Largest context (≤ the model's max) that fits `gpu` at opts.batch; None if even 1 token does not."""
    limit = facts.max_context or opts.context or 1 << 20
    return largest(lambda s: _fits(facts, weights, params, replace(opts, context=s), gpu), 1, limit)


def max_batch(facts: ArchFacts, weights: int, params: int, opts: EstimateOptions, gpu: Gpu) -> int | None:
    """Largest number of concurrent sequences at opts.context that fits `gpu`."""
    return largest(lambda b: _fits(facts, weights, params, replace(opts, batch=b), gpu), 1, MAX_BATCH)


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
    """Precision × GPU fit table at opts.context / opts.batch (default GPUs: the catalogue's "matrix" set)."""
    cards = tuple(gpus) if gpus is not None else display_set("matrix")
    rows = []
    for precision in precisions:
        w = weights_at(params, precision)
        row = tuple(fits(estimate_memory(facts, w, params, replace(opts, gpu=g)), g) for g in cards)
        rows.append(FitRow(precision, w, row))
    return tuple(rows)
