"""Attach the estimates to a scan result: memory for the chosen engine, GPU fit, capacity, and fine-tuning."""

from __future__ import annotations

from dataclasses import dataclass, replace

from cardscan.estimate.curves import memory_curves, stored_label
from cardscan.estimate.engines import EstimateOptions, estimate_memory
from cardscan.estimate.gpus import Gpu, catalogue, engine_budget, fits, parse_gpu
from cardscan.estimate.weights import precision_bytes
from cardscan.result import ScanResult, Variant

# Which config dtype the weights have when no header was read (config-only repos).
_DEFAULT_DTYPE = "bf16"
# Families whose MLP is two matrices (up, down) rather than gated SwiGLU (gate, up, down).
_UNGATED_MLP = frozenset({"gpt2", "gpt_neox", "gptj", "phi", "falcon", "bloom", "opt", "starcoder2", "bert", "roberta"})


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


def add_estimates(result: ScanResult, facts, options) -> ScanResult:
    """Memory, fits, capacity and training for one result (unchanged when the parameter count is unknown)."""
    params = result.parameters.total if result.parameters else None
    if not params:
        return replace(result, notes=(*result.notes, "no parameter count: memory not estimated"))
    if facts is None:
        return replace(result, notes=(*result.notes, "no config.json: KV cache and memory breakdown not estimated"))
    gpu = parse_gpu(options.gpu) if options.gpu else None
    weights_bytes = _weights_bytes(result, params)
    est_options = EstimateOptions(
        engine=options.engine, context=options.context, batch=options.batch, kv_dtype=options.kv_dtype, gpu=gpu,
        gpu_util=options.gpu_util, tp=options.tp, gpu_layers=options.gpu_layers,
    )  # fmt: skip
    memory = estimate_memory(facts, weights_bytes, params, est_options)
    gpus = (gpu,) if gpu else catalogue()
    from cardscan.estimate.capacity import fit_matrix

    notes = result.notes
    if options.context and facts.max_context and options.context > facts.max_context:
        notes = (*notes, f"context {options.context:,} is beyond the model's maximum {facts.max_context:,}")
    return replace(
        result,
        notes=notes,
        memory=memory,
        fits=tuple(fits(memory, g) for g in gpus),
        variants=_variants(result, facts, params, est_options, memory),
        fit_matrix=fit_matrix(facts, params, est_options),
        capacity=_capacity(facts, weights_bytes, params, est_options, memory, gpu) if gpu else None,
        training=_training(result, facts, options, params) if options.mode != "inference" else None,
        curves=memory_curves(facts, weights_bytes, params, est_options, stored_label(result)),
    )


def _variants(result: ScanResult, facts, params: int, options: EstimateOptions, memory) -> tuple[Variant, ...]:
    """Size every GGUF quant in the repo from its file size, so one scan compares them all without reading each."""
    w = result.weights
    others = [a for a in w.alternatives if a.format == "gguf"] if w and w.format == "gguf" else []
    if not others:
        return ()
    from cardscan.parse.gguf import gguf_quant_label

    chosen = Variant(w.files[0].path, _label(w.files[0].path, gguf_quant_label), len(w.files), w.bytes,
                     w.bits_per_weight, memory.total_bytes, chosen=True)  # fmt: skip
    rows = [chosen]
    for alt in others:
        total = estimate_memory(facts, alt.bytes, params, options).total_bytes if alt.bytes else None
        bpw = round(alt.bytes * 8 / params, 3) if alt.bytes else None
        rows.append(Variant(alt.name, _label(alt.name, gguf_quant_label), alt.files, alt.bytes, bpw, total, False))
    return tuple(sorted(rows, key=lambda v: v.bytes or 0))


def _label(path: str, labeller) -> str | None:
    return labeller(path if path.endswith(".gguf") else path + ".gguf", None)


def _weights_bytes(result: ScanResult, params: int) -> int:
    if result.weights and result.weights.bytes:
        return result.weights.bytes
    dtype = result.model.dtype if result.model and result.model.dtype else _DEFAULT_DTYPE
    try:
        return int(params * precision_bytes(dtype))
    except Exception:
        return int(params * precision_bytes(_DEFAULT_DTYPE))


def _capacity(facts, weights_bytes: int, params: int, options: EstimateOptions, memory, gpu: Gpu) -> Capacity:
    from cardscan.estimate import capacity as cap

    kv_tokens = memory.kv_tokens
    if kv_tokens is None and memory.kv_bytes_per_token:
        left = engine_budget(gpu, memory.engine, memory.gpu_util) - (memory.total_bytes - memory.kv_cache_bytes)
        kv_tokens = max(0, left // memory.kv_bytes_per_token)
    return Capacity(
        gpu=gpu.name,
        kv_tokens=kv_tokens,
        max_context=cap.max_context(facts, weights_bytes, params, options, gpu),
        max_batch=cap.max_batch(facts, weights_bytes, params, options, gpu),
        cheapest_precision=cap.best_precision(facts, params, options, gpu),
        min_tp=cap.smallest_tp(facts, weights_bytes, params, options, gpu),
    )


def _training(result: ScanResult, facts, options, params: int):
    from cardscan.estimate.training import ModelDims, TrainOptions, estimate_training

    dims = ModelDims(
        layers=facts.num_layers, hidden=facts.hidden_size, heads=facts.num_heads, kv_heads=facts.num_kv_heads,
        head_dim=facts.head_dim, intermediate=facts.intermediate_size, vocab=facts.vocab_size, params=params,
        experts=facts.num_experts, experts_per_token=facts.experts_per_token,
        moe_intermediate=facts.moe_intermediate_size, shared_experts=facts.num_shared_experts,
        gated_mlp=facts.model_type not in _UNGATED_MLP, tied_embeddings=facts.tie_word_embeddings,
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
