"""The answer first: does the model fit a GPU, up to which context, and if not, what would make it fit.

Everything here is computed (the estimate stage calls `verdict()` once per repo); renderers only put the values into
words. Suggestions come from the same searches as `capacity.py`: a lower precision, a smaller batch, tensor
parallelism, or (engines that offload layers) the largest `--gpu-layers` that fits with the rest in host RAM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from cardscan.estimate import capacity as cap
from cardscan.estimate.engines import EstimateOptions, MemoryEstimate, estimate_memory
from cardscan.estimate.fit import engine_budget, fits
from cardscan.estimate.gpus import Gpu
from cardscan.estimate.search import largest
from cardscan.estimate.weights import PRECISION_LADDER, weights_at
from cardscan.parse.config import ArchFacts
from cardscan.units import gib

# Engines that keep some layers on the CPU (`--gpu-layers`) rather than splitting heads across GPUs.
LAYER_OFFLOAD_ENGINES = frozenset({"llama.cpp"})
# A lower precision is worth suggesting only when its weights are clearly smaller than the stored ones.
SMALLER = 0.9
# The quick rule and the estimate "differ" when they are this far apart (relative to the estimate).
RULE_TOLERANCE = 0.25


@dataclass(frozen=True)
class Suggestion:
    """One change that makes the model fit (or fit a longer context)."""

    kind: str
    """precision | tp | batch | gpu_layers."""
    value: str
    """The precision name, or the TP degree / batch / layer count as text."""
    max_context: int | None = None
    """The largest context that fits with this change (at the verdict's batch); None when not searched."""
    host_bytes: int | None = None
    """gpu_layers: host RAM the layers left on the CPU (weights and KV) need."""


@dataclass(frozen=True)
class GpuVerdict:
    """Whether the model, as stored, fits one GPU at the asked context and batch."""

    gpu: str
    """Catalogue name (or the size the user gave)."""
    fits: bool
    """True when it fits at the asked context and batch."""
    max_context: int | None
    """Largest context (≤ the model's max) that fits at the batch; None when even one token does not."""
    needs_bytes: int
    """Memory per GPU at the asked context and batch (the engine's estimate)."""
    budget_bytes: int
    """What the engine lets itself use on this GPU."""
    short_bytes: int
    """needs − budget when it does not fit; 0 when it does."""
    suggestions: tuple[Suggestion, ...]
    """What would make it fit at the asked context (empty when it fits)."""


@dataclass(frozen=True)
class Verdict:
    """The one-line answer: per GPU, whether the model fits and what to change when it does not."""

    engine: str
    """Engine whose memory rules were applied."""
    precision: str
    """The stored weights' precision the verdict is about (bf16, fp16, 4-bit gptq, Q4_K_M…)."""
    context: int
    """The context checked: --context, else the model's maximum."""
    context_asked: bool
    """True when the user gave --context (wording: "your context" vs "the model's context")."""
    batch: int
    """Concurrent sequences."""
    gpus: tuple[GpuVerdict, ...]
    """The chosen GPU, or the display set (a consumer, a workstation and a datacenter card at least)."""
    estimate_bytes: int
    """The detailed estimate (whole model at the asked context; per GPU when TP > 1)."""
    quick_rule_bytes: int
    """The rule of thumb params × bytes/param × 2 at the stored precision."""
    quick_rule_reason: str | None
    """Why the rule of thumb and the estimate differ, when they differ by more than 25 %; else None."""


@dataclass(frozen=True)
class Model:
    """What the verdict searches over: the architecture, the stored weights and the asked options."""

    facts: ArchFacts
    """Architecture facts."""
    weights_bytes: int
    """Stored weight bytes."""
    params: int
    """Logical parameters."""
    options: EstimateOptions
    """Engine, context, batch, KV dtype, TP, GPU layers as asked."""


def verdict(model: Model, precision: str, memory: MemoryEstimate, gpus: Sequence[Gpu], asked: bool) -> Verdict:
    """The verdict for `gpus` (the chosen one, or the display set) with the estimate at the asked context."""
    rows = tuple(_gpu_verdict(model, g) for g in gpus)
    reason = quick_rule_reason(memory)
    return Verdict(memory.engine, precision, memory.context, asked, memory.batch, rows, memory.total_bytes,
                   memory.quick_rule_bytes, reason)  # fmt: skip


def _fits_with(model: Model, gpu: Gpu, weights: int | None = None, **changes: int) -> bool:
    opts = cap.sized_for(replace(model.options, **changes), gpu)  # type: ignore[arg-type]
    w = model.weights_bytes if weights is None else weights
    return fits(estimate_memory(model.facts, w, model.params, opts), gpu).fits


def _gpu_verdict(model: Model, gpu: Gpu) -> GpuVerdict:
    opts = replace(model.options, gpu=gpu)
    memory = estimate_memory(model.facts, model.weights_bytes, model.params, opts)
    fit = fits(memory, gpu)
    longest = cap.max_context(model.facts, model.weights_bytes, model.params, opts, gpu)
    suggestions = () if fit.fits else _suggestions(model, gpu, memory.context)
    budget = engine_budget(gpu, memory.engine, memory.gpu_util)
    return GpuVerdict(gpu.name, fit.fits, longest, memory.total_bytes, budget, max(0, -fit.free_bytes), suggestions)


def _suggestions(model: Model, gpu: Gpu, context: int) -> tuple[Suggestion, ...]:
    """Lower precisions first (least lossy first), then fewer sequences, then more GPUs or fewer GPU layers."""
    found = [*_precisions(model, gpu, context)]
    batch = _batch(model, gpu, context)
    if batch is not None:
        found.append(batch)
    spread = (
        _gpu_layers(model, gpu, context) if model.options.engine in LAYER_OFFLOAD_ENGINES else _tp(model, gpu, context)
    )
    if spread is not None:
        found.append(spread)
    return tuple(found)


def _precisions(model: Model, gpu: Gpu, context: int) -> list[Suggestion]:
    """Each ladder precision clearly smaller than the stored weights, with the longest context it allows."""
    found = []
    opts = replace(model.options, gpu=gpu, context=context)
    for precision in PRECISION_LADDER:
        w = weights_at(model.params, precision)
        if w >= model.weights_bytes * SMALLER:
            continue
        longest = cap.max_context(model.facts, w, model.params, opts, gpu)
        if longest is not None:
            found.append(Suggestion("precision", precision, max_context=longest))
    return found


def _batch(model: Model, gpu: Gpu, context: int) -> Suggestion | None:
    """The most sequences that fit at the asked context, when fewer than asked (and at least one)."""
    if model.options.batch <= 1:
        return None
    opts = replace(model.options, gpu=gpu, context=context)
    most = cap.max_batch(model.facts, model.weights_bytes, model.params, opts, gpu)
    return Suggestion("batch", str(most)) if most else None


def _tp(model: Model, gpu: Gpu, context: int) -> Suggestion | None:
    """The fewest GPUs of this type (a TP degree dividing the heads, above the asked one) that hold it."""
    heads = model.facts.num_heads or 1
    for tp in cap.TP_DEGREES:
        if tp > model.options.tp and heads % tp == 0 and _fits_with(model, gpu, tp=tp, context=context):
            return Suggestion("tp", str(tp))
    return None


def _gpu_layers(model: Model, gpu: Gpu, context: int) -> Suggestion | None:
    """The largest --gpu-layers that fits; the layers left on the CPU (and their KV) go to host RAM."""
    layers = max(1, model.facts.num_layers)
    most = largest(lambda n: _fits_with(model, gpu, gpu_layers=n, context=context), 0, layers)
    if most is None or most >= layers:
        return None
    opts = replace(model.options, gpu=gpu, gpu_layers=most, context=context)
    host = estimate_memory(model.facts, model.weights_bytes, model.params, opts).host_bytes
    return Suggestion("gpu_layers", str(most), host_bytes=host)


def quick_rule_reason(m: MemoryEstimate) -> str | None:
    """One line on why the rule of thumb (weights × 2) and the estimate differ, when they differ by > 25 %."""
    rule, total = m.quick_rule_bytes // max(1, m.tp), m.total_bytes
    if not total or abs(rule - total) <= RULE_TOLERANCE * total:
        return None
    allowance = rule - m.weights_bytes  # what the rule adds on top of the weights
    extra = m.kv_cache_bytes + m.activations_bytes + m.overhead_bytes
    if total > rule:
        return (f"the KV cache, activations and overhead for {m.context:,} tokens × batch {m.batch} ({gib(extra)}) "
                f"exceed the rule's allowance of one more copy of the weights ({gib(allowance)})")  # fmt: skip
    return (f"the rule adds a second copy of the weights ({gib(allowance)}); at {m.context:,} tokens × batch "
            f"{m.batch} the KV cache, activations and overhead need only {gib(extra)}")  # fmt: skip
