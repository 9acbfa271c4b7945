"""Inverse questions for one GPU: largest context, largest batch, least lossy precision, smallest TP; fit matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from cardscan.estimate.engines import EstimateOptions, estimate_memory, get
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
    """One Fit per GPU at the chosen context and batch, in the matrix's GPU order."""
    max_context: tuple[int | None, ...] = ()
    """The largest context (≤ the model's max) that fits each GPU at the chosen batch; None where nothing fits."""


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
    least_lossy_precision: str | None
    """The least lossy precision (bf16 → fp8 → int4) whose weights + KV fit; None if none does (JSON key renamed
    from `cheapest_precision`, see docs/json-output.md)."""
    min_tp: int | None
    """The fewest GPUs of this type (tensor parallel) that hold the model."""


def sized_for(opts: EstimateOptions, gpu: Gpu) -> EstimateOptions:
    """Options for a fit check on `gpu`: what the GPU decides (vLLM's T and max_num_seqs: `Engine.resolve`) fixed up
    front, the GPU itself left out, so an engine skips figures a fit check never reads (vLLM's KV budget and its
    max-context search). The searches estimate hundreds of times per scan; this keeps them cheap."""
    return replace(get(opts.engine).resolve(replace(opts, gpu=gpu)), gpu=None)


def _fits(facts: ArchFacts, weights: int, params: int, opts: EstimateOptions, gpu: Gpu) -> bool:
    return fits(estimate_memory(facts, weights, params, sized_for(opts, gpu)), gpu).fits


def max_context(facts: ArchFacts, weights: int, params: int, opts: EstimateOptions, gpu: Gpu) -> int | None:
    """Largest context (≤ the model's max, or the asked context when it is longer) that fits `gpu` at opts.batch;
    None if even 1 token does not."""
    return _longest(facts, weights, params, sized_for(opts, gpu), gpu)


def _longest(facts: ArchFacts, weights: int, params: int, sized: EstimateOptions, gpu: Gpu) -> int | None:
    """max_context on options already sized for `gpu` (Engine.resolve never reads the context, so the searches
    size once, not per probe: dataclasses.replace was half the estimate stage's CPU)."""
    limit = max(facts.max_context or 0, sized.context or 0) or 1 << 20

    def ok(s: int) -> bool:
        return fits(estimate_memory(facts, weights, params, replace(sized, context=s)), gpu).fits

    # Roomy cards hold the whole context: one estimate instead of a bisection (the matrix asks this 18 times).
    return limit if ok(limit) else largest(ok, 1, limit - 1)


def max_batch(facts: ArchFacts, weights: int, params: int, opts: EstimateOptions, gpu: Gpu) -> int | None:
    """Largest number of concurrent sequences at opts.context that fits `gpu`."""
    sized = sized_for(opts, gpu)  # Engine.resolve never reads the batch
    return largest(lambda b: fits(estimate_memory(facts, weights, params, replace(sized, batch=b)), gpu).fits, 1,
                   MAX_BATCH)  # fmt: skip


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
    """Precision × GPU table: the fit at opts.context / opts.batch and the largest context that fits each cell
    (default GPUs: the catalogue's "matrix" display set)."""
    cards = tuple(gpus) if gpus is not None else display_set("matrix")
    sized = [(sized_for(opts, g), g) for g in cards]
    rows = []
    for precision in precisions:
        w = weights_at(params, precision)
        row = tuple(fits(estimate_memory(facts, w, params, o), g) for o, g in sized)
        longest = tuple(_longest(facts, w, params, o, g) for o, g in sized)
        rows.append(FitRow(precision, w, row, longest))
    return tuple(rows)
