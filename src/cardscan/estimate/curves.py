"""Memory against context for each precision a repo can run at, and what fits each GPU: the series charts draw.

Renderers never call the estimator; this module evaluates it on a log grid of contexts once, in the estimate stage,
and hands plain values on. Every figure goes through `_Estimator.measure`, the one call into the estimator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from cardscan.estimate.capacity import MAX_BATCH
from cardscan.estimate.engines import ENGINES, EstimateOptions, MemoryEstimate, estimate_memory
from cardscan.estimate.engines.base import DEFAULT_CONTEXT
from cardscan.estimate.fit import engine_budget, fits
from cardscan.estimate.gpus import Gpu, display_set
from cardscan.estimate.weights import PRECISION_LADDER, weights_at

# A ladder precision is drawn only when its weights are at most this share of the stored ones: running a 4-bit
# checkpoint "at bf16" needs the original model, and a Q4_K_M file "at int4" is the same size.
DOWNCAST_SHARE = 0.75
GRID_START = 128  # smallest context on the chart (tokens)
GRID_STEPS_PER_DOUBLING = 2  # points per doubling of the context: √2 steps keep the KV slope smooth on a log axis
# Labels of the ladder precisions: the weight formats of that size a user can pick.
PRECISION_LABELS: dict[str, str] = {"bf16": "BF16/FP16", "fp8": "FP8/INT8", "int4": "INT4/FP4"}


@dataclass(frozen=True)
class CurvePoint:
    """Memory per GPU at one context, by component."""

    context: int
    """Tokens per sequence."""
    weights_bytes: int
    """Weights resident on one GPU."""
    kv_cache_bytes: int
    """KV cache (and recurrent state) for context × batch."""
    activations_bytes: int
    """Peak activations / compute buffers."""
    overhead_bytes: int
    """CUDA context, runtime and allocator overhead."""
    total_bytes: int
    """The sum: what one GPU must hold."""


@dataclass(frozen=True)
class GpuLine:
    """One GPU drawn as a horizontal line: the budget the engine lets itself use on it."""

    name: str
    """Catalogue name (or the size the user gave)."""
    usable_bytes: int
    """Memory the driver gives a process."""
    budget_bytes: int
    """What the engine may fill (vLLM: util × usable; llama.cpp: usable − fit margin; others: usable)."""
    chosen: bool
    """True for the GPU the user named with --gpu."""


@dataclass(frozen=True)
class GpuLimit:
    """How far one precision goes on one GPU."""

    gpu: str
    """GpuLine.name of the GPU."""
    fits: bool
    """The estimate at the chosen context and batch is within the budget."""
    max_context: int | None
    """Largest context (≤ the chart's end) that fits at the chosen batch; None if even 1 token does not."""
    max_batch: int | None
    """Most concurrent sequences at the chosen context that fit; None if one does not."""


@dataclass(frozen=True)
class PrecisionCurve:
    """Memory against context at one weight precision."""

    precision: str
    """`stored` (the weights as read), or a ladder precision: bf16, fp8, int4."""
    label: str
    """How the precision reads: `stored (fp16)`, `FP8/INT8`…"""
    weights_bytes: int
    """Whole-model weights at this precision (stored bytes, or params × bytes/param)."""
    points: tuple[CurvePoint, ...]
    """One point per grid context, ascending."""
    at_context: CurvePoint
    """The breakdown at the chosen context."""
    limits: tuple[GpuLimit, ...]
    """One per MemoryCurves.gpus entry, same order."""


@dataclass(frozen=True)
class MemoryCurves:
    """Every precision's memory curve and GPU limits, under the scan's engine, batch and KV dtype."""

    engine: str
    """Engine preset of every point."""
    batch: int
    """Concurrent sequences of every point."""
    context: int
    """The chosen context (the stacked breakdown and the fit verdicts are at it)."""
    max_context: int
    """Where the grid ends: the model's maximum (or the chosen context when larger)."""
    kv_dtype: str
    """KV cache dtype of every point."""
    tp: int
    """Tensor-parallel degree; byte figures are per GPU."""
    gpus: tuple[GpuLine, ...]
    """GPUs drawn, the chosen one first."""
    curves: tuple[PrecisionCurve, ...]
    """Stored precision first, then each smaller ladder precision."""
    notes: tuple[str, ...]
    """How the figures were derived."""


def memory_curves(
    facts: Any, weights_bytes: int, params: int, options: EstimateOptions, stored: str = "stored"
) -> MemoryCurves:
    """Curves and limits for the stored weights and each ladder precision at most DOWNCAST_SHARE of their size."""
    end = max(facts.max_context or 0, options.context or 0) or DEFAULT_CONTEXT
    context = options.context or facts.max_context or DEFAULT_CONTEXT
    gpus = _gpus(options.gpu)
    lines = tuple(GpuLine(g.name, g.usable_bytes, engine_budget(g, options.engine, options.gpu_util),
                          options.gpu is not None and g.name == options.gpu.name)
                  for g in gpus)  # fmt: skip
    sizes = [("stored", f"stored ({stored})", weights_bytes)]
    sizes += [(p, PRECISION_LABELS[p], weights_at(params, p)) for p in PRECISION_LADDER
              if weights_at(params, p) <= DOWNCAST_SHARE * weights_bytes]  # fmt: skip
    grid = context_grid(end, context)
    est = _Estimator(facts, params, options)
    curves = tuple(_curve(est, key, label, w, grid, context, end, gpus) for key, label, w in sizes)
    first = est.measure(weights_bytes, context, options.batch)[0]
    return MemoryCurves(options.engine, options.batch, context, end, first.kv_dtype, options.tp, lines, curves,
                        _notes(options, stored))  # fmt: skip


def stored_label(result: Any) -> str:
    """How the stored weights read: the quantization (`gptq 4-bit`, `gguf Q4_K_M`) or the dominant dtype."""
    q = result.quantization
    if q is not None:
        file_type = (q.format_details or {}).get("file_type")
        bits = f" {q.bits:g}-bit" if q.bits and f"{q.bits:g}" not in q.method else ""  # not "fp8 8-bit"
        return f"{q.method} {file_type}" if file_type else f"{q.method}{bits}"
    by_dtype: dict[str, int] = result.parameters.by_dtype if result.parameters else {}
    if by_dtype:
        return max(by_dtype.items(), key=lambda kv: kv[1])[0]
    dtype: str | None = result.model.dtype if result.model else None
    return dtype or "stored"


def context_grid(end: int, chosen: int) -> tuple[int, ...]:
    """GRID_START × 2^(k/GRID_STEPS_PER_DOUBLING) up to `end`, plus `end` and the chosen context, ascending."""
    points = {end, min(chosen, end)}
    k = 0
    while (c := round(GRID_START * 2 ** (k / GRID_STEPS_PER_DOUBLING))) < end:
        points.add(c)
        k += 1
    return tuple(sorted(points))


def _gpus(chosen: Gpu | None) -> tuple[Gpu, ...]:
    common = display_set("matrix")
    return (chosen, *(g for g in common if g.name != chosen.name)) if chosen else common


class _Estimator:
    """The one way into the estimator for one model and options, memoised: the GPUs' searches share many points."""

    def __init__(self, facts: Any, params: int, opts: EstimateOptions) -> None:
        self.facts, self.params, self.opts = facts, params, opts
        self.base = replace(opts, gpu=None)
        self.cache: dict[tuple[int, int, int, int | None], MemoryEstimate] = {}
        self.t: dict[str, int | None] = {}

    def measure(self, weights: int, context: int, batch: int, gpu: Gpu | None = None) -> tuple[MemoryEstimate, bool]:
        """The estimate at `context` × `batch` on `gpu` (None: the chosen GPU) and whether it fits `gpu`."""
        t = self._batched_tokens(gpu or self.opts.gpu)
        key = (weights, context, batch, t)
        est = self.cache.get(key)
        if est is None:
            opts = replace(self.base, context=context, batch=batch, max_num_batched_tokens=t)
            est = self.cache[key] = estimate_memory(self.facts, weights, self.params, opts)
        return est, (fits(est, gpu).fits if gpu is not None else True)

    def _batched_tokens(self, gpu: Gpu | None) -> int | None:
        """vLLM's T for `gpu`: the only way the GPU changes an estimate. Passing T instead of the GPU also spares
        vLLM's own max-context search, which is not part of the total."""
        if self.opts.engine != "vllm" or gpu is None or self.opts.max_num_batched_tokens:
            return self.opts.max_num_batched_tokens
        if gpu.name not in self.t:
            self.t[gpu.name] = ENGINES["vllm"].batched_tokens(replace(self.opts, gpu=gpu))
        return self.t[gpu.name]


def _point(est: MemoryEstimate) -> CurvePoint:
    return CurvePoint(est.context, est.weights_bytes, est.kv_cache_bytes, est.activations_bytes, est.overhead_bytes,
                      est.total_bytes)  # fmt: skip


def _curve(
    est: _Estimator, key: str, label: str, weights: int, grid: Sequence[int], context: int, end: int,
    gpus: Sequence[Gpu],
) -> PrecisionCurve:  # fmt: skip
    batch = est.opts.batch
    points = tuple(_point(est.measure(weights, c, batch)[0]) for c in grid)
    at = _point(est.measure(weights, context, batch)[0])
    limits = tuple(_limit(est, weights, context, end, g) for g in gpus)
    return PrecisionCurve(key, label, weights, points, at, limits)


def _limit(est: _Estimator, weights: int, context: int, end: int, gpu: Gpu) -> GpuLimit:
    batch = est.opts.batch
    max_ctx = _largest(lambda s: est.measure(weights, s, batch, gpu)[1], 1, end)
    max_batch = _largest(lambda b: est.measure(weights, context, b, gpu)[1], 1, MAX_BATCH)
    return GpuLimit(gpu.name, est.measure(weights, context, batch, gpu)[1], max_ctx, max_batch)


def _largest(ok: Callable[[int], bool], lo: int, hi: int) -> int | None:
    """Largest n in [lo, hi] with ok(n), for ok monotone (true then false); None if ok(lo) is false."""
    if not ok(lo):
        return None
    if ok(hi):
        return hi
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid - 1)
    return lo


def _notes(opts: EstimateOptions, stored: str) -> tuple[str, ...]:
    tp = f", TP {opts.tp} (per GPU)" if opts.tp > 1 else ""
    return (
        f"each point is the {opts.engine} estimate at that context, batch {opts.batch}{tp}: weights + KV cache + "
        "activations + overhead",
        f"stored ({stored}): the weight bytes read from the headers; other precisions: parameters × bytes per "
        "parameter (BF16 2, FP8/INT8 1, INT4 0.5; block scales not counted)",
        "GPU lines: the memory the engine may fill (vLLM: utilization × usable; llama.cpp: usable − 1 GiB fit margin; "
        "others: usable memory)",
        "largest context: at the chosen batch; largest batch: at the chosen context (binary search on the estimate)",
    )
