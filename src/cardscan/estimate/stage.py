"""The estimate stage: runs once per repo, after its parts are combined. Adds weights at each precision, the quick
rule, memory for the chosen engine, GPU fits, the fit matrix, capacity on a chosen GPU and fine-tuning memory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from cardscan.errors import ScanError
from cardscan.estimate import capacity as cap
from cardscan.estimate.curves import memory_curves, stored_label
from cardscan.estimate.engines import EstimateOptions, MemoryEstimate, estimate_memory
from cardscan.estimate.engines.base import cuda_context
from cardscan.estimate.fit import engine_budget, fits
from cardscan.estimate.gpus import Gpu, catalogue, parse_gpu
from cardscan.estimate.training import ModelDims, TrainingEstimate, TrainOptions, estimate_training
from cardscan.estimate.weights import PRECISION_GROUPS, precision_bytes, quick_rule_bytes, weights_at
from cardscan.interpret import Parsed
from cardscan.options import ScanOptions
from cardscan.parse.config import ArchFacts
from cardscan.parse.families import gated_mlp
from cardscan.result import ScanResult, Variant

# Which config dtype the weights have when no header was read (config-only repos).
_DEFAULT_DTYPE = "bf16"


def estimate(parsed: Parsed, options: ScanOptions) -> ScanResult:
    """The parsed result with every estimate attached (weights-only figures when the architecture is unknown)."""
    result, facts = parsed.result, parsed.facts
    params = result.parameters.total if result.parameters else None
    if not params:
        return replace(result, notes=(*result.notes, "no parameter count: memory not estimated"))
    result = replace(result, precision_bytes=_at_precisions(params, weights_at),
                     rule_of_thumb_bytes=_at_precisions(params, quick_rule_bytes))  # fmt: skip
    gpu = parse_gpu(options.gpu) if options.gpu else None
    est_options = EstimateOptions(
        engine=options.engine, context=options.context, batch=options.batch, kv_dtype=options.kv_dtype, gpu=gpu,
        gpu_util=options.gpu_util, tp=options.tp, gpu_layers=options.gpu_layers,
    )  # fmt: skip
    if parsed.kind == "diffusers":
        return _weights_only(result, est_options, gpu)
    if facts is None:
        return replace(result, notes=(*result.notes, "no config.json: KV cache and memory breakdown not estimated"))
    return _with_memory(result, facts, params, options, est_options, gpu)


def _at_precisions(params: int, rule: Callable[[int, str], int]) -> dict[str, int]:
    """Weights (`weights_at`) or the quick rule (`quick_rule_bytes`) at each reporting precision group."""
    return {label: rule(params, precision) for label, precision in PRECISION_GROUPS.items()}


def _weights_only(result: ScanResult, opts: EstimateOptions, gpu: Gpu | None) -> ScanResult:
    """Pipelines: the weights of every component resident, plus one CUDA context; no KV cache, no activation term
    (they depend on image size and steps, which a scan does not know)."""
    stored = result.weights.bytes if result.weights and result.weights.bytes else 0
    weights = -(-stored // opts.tp)
    memory = MemoryEstimate(
        engine=opts.engine, context=0, batch=opts.batch, kv_dtype="none", tp=opts.tp, weights_bytes=weights,
        kv_cache_bytes=0, kv_bytes_per_token=0, state_bytes_per_sequence=0, activations_bytes=0,
        overhead_bytes=cuda_context(), total_bytes=weights + cuda_context(), kv_by_kind=(),
        notes=("weights of all components + CUDA context; activations depend on resolution and are not estimated",),
        quick_rule_bytes=stored * 2, gpu_util=opts.gpu_util,
    )  # fmt: skip
    gpus = (gpu,) if gpu else catalogue()
    return replace(result, memory=memory, fits=tuple(fits(memory, g) for g in gpus))


def _with_memory(
    result: ScanResult, facts: ArchFacts, params: int, options: ScanOptions, est_options: EstimateOptions,
    gpu: Gpu | None,
) -> ScanResult:  # fmt: skip
    weights_bytes = _weights_bytes(result, params)
    memory = estimate_memory(facts, weights_bytes, params, est_options)
    gpus = (gpu,) if gpu else catalogue()
    notes = result.notes
    if options.context and facts.max_context and options.context > facts.max_context:
        notes = (*notes, f"context {options.context:,} is beyond the model's maximum {facts.max_context:,}")
    return replace(
        result,
        notes=notes,
        memory=memory,
        fits=tuple(fits(memory, g) for g in gpus),
        variants=_variants(result, facts, params, est_options, memory),
        fit_matrix=cap.fit_matrix(facts, params, est_options),
        capacity=_capacity(facts, weights_bytes, params, est_options, memory, gpu) if gpu else None,
        training=_training(result, facts, options, params) if options.mode != "inference" else None,
        curves=memory_curves(facts, weights_bytes, params, est_options, stored_label(result))
        if options.curves
        else None,
    )


def _variants(
    result: ScanResult, facts: ArchFacts, params: int, options: EstimateOptions, memory: MemoryEstimate
) -> tuple[Variant, ...]:
    """Size every GGUF quant in the repo from its file size, so one scan compares them all without reading each."""
    w = result.weights
    others = [a for a in w.alternatives if a.format == "gguf"] if w and w.format == "gguf" else []
    if not w or not others:
        return ()
    chosen = Variant(w.files[0].path, w.quant, len(w.files), w.bytes, w.bits_per_weight, memory.total_bytes,
                     chosen=True)  # fmt: skip
    rows = [chosen]
    for alt in others:
        total = estimate_memory(facts, alt.bytes, params, options).total_bytes if alt.bytes else None
        bpw = round(alt.bytes * 8 / params, 3) if alt.bytes else None
        rows.append(Variant(alt.name, alt.quant, alt.files, alt.bytes, bpw, total, False))
    return tuple(sorted(rows, key=lambda v: v.bytes or 0))


def _weights_bytes(result: ScanResult, params: int) -> int:
    if result.weights and result.weights.bytes:
        return result.weights.bytes
    dtype = result.model.dtype if result.model and result.model.dtype else _DEFAULT_DTYPE
    try:
        return int(params * precision_bytes(dtype))
    except ScanError:  # a dtype with no bytes/param figure (e.g. "int32" from an odd config): assume bf16
        return int(params * precision_bytes(_DEFAULT_DTYPE))


def _capacity(
    facts: ArchFacts, weights_bytes: int, params: int, options: EstimateOptions, memory: MemoryEstimate, gpu: Gpu
) -> cap.Capacity:
    kv_tokens = memory.kv_tokens
    if kv_tokens is None and memory.kv_bytes_per_token:
        left = engine_budget(gpu, memory.engine, memory.gpu_util) - (memory.total_bytes - memory.kv_cache_bytes)
        kv_tokens = max(0, left // memory.kv_bytes_per_token)
    return cap.Capacity(
        gpu=gpu.name,
        kv_tokens=kv_tokens,
        max_context=cap.max_context(facts, weights_bytes, params, options, gpu),
        max_batch=cap.max_batch(facts, weights_bytes, params, options, gpu),
        cheapest_precision=cap.best_precision(facts, params, options, gpu),
        min_tp=cap.smallest_tp(facts, weights_bytes, params, options, gpu),
    )


def _training(result: ScanResult, facts: ArchFacts, options: ScanOptions, params: int) -> TrainingEstimate:
    dims = ModelDims(
        layers=facts.num_layers, hidden=facts.hidden_size, heads=facts.num_heads, kv_heads=facts.num_kv_heads,
        head_dim=facts.head_dim, intermediate=facts.intermediate_size, vocab=facts.vocab_size, params=params,
        experts=facts.num_experts, experts_per_token=facts.experts_per_token,
        moe_intermediate=facts.moe_intermediate_size, shared_experts=facts.num_shared_experts,
        gated_mlp=gated_mlp(facts.model_type), tied_embeddings=facts.tie_word_embeddings,
        dense_layers=facts.num_layers - len(facts.moe_layers) if facts.moe_layers else 0,
    )  # fmt: skip
    targets = {"lora_targets": options.lora_targets} if options.lora_targets else {}
    opts = TrainOptions(
        mode=options.mode, optimizer=options.optimizer, lora_rank=options.lora_rank, seq_len=options.seq_len,
        micro_batch=options.batch, gradient_checkpointing=options.gradient_checkpointing,
        flash_attention=options.flash_attention, zero_stage=options.zero_stage, num_gpus=options.num_gpus,
        **targets,
    )  # fmt: skip
    base = result.weights.bytes if result.weights and result.weights.bytes else None
    return estimate_training(dims, opts, base_weight_bytes=base)
