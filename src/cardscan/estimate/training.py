"""Fine-tuning memory per GPU: model states by regime (full, LoRA, QLoRA), optimizer, ZeRO, activations, logits.

Every formula and byte count here is in docs/training.md, with its public source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["full", "lora", "qlora"]
OptimizerName = Literal["adamw", "adamw_fp32_grads", "adamw_8bit", "sgd", "lion"]

LLAMA_LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class OptimizerBytes:
    """Bytes kept on the GPU per trainable parameter by one optimizer regime (before ZeRO partitioning)."""

    weights: float
    """Working (compute) copy of the weight, bf16 in mixed precision."""
    grads: float
    """Gradient buffer."""
    master: float
    """fp32 master copy the optimizer updates (mixed precision only)."""
    states: float
    """Optimizer state tensors (Adam m and v, momentum)."""
    source: str
    """Where the numbers come from."""

    @property
    def total(self) -> float:
        """All model-state bytes per trainable parameter."""
        return self.weights + self.grads + self.master + self.states


_TM101 = "EleutherAI 'Transformer Math 101' (https://blog.eleuther.ai/transformer-math/)"
OPTIMIZERS: dict[str, OptimizerBytes] = {
    "adamw": OptimizerBytes(2, 2, 4, 8, f"mixed-precision AdamW, fp32 m and v; {_TM101}"),
    "adamw_fp32_grads": OptimizerBytes(2, 4, 4, 8, "AdamW with fp32 gradients; cli99/llm-analysis default"),
    "adamw_8bit": OptimizerBytes(2, 2, 4, 2, f"bitsandbytes 8-bit Adam, m and v as int8; {_TM101}"),
    "sgd": OptimizerBytes(2, 2, 4, 4, f"SGD with one fp32 momentum buffer; {_TM101}"),
    "lion": OptimizerBytes(2, 2, 4, 4, "Lion, one fp32 momentum buffer (Chen et al. 2023, arXiv 2302.06675)"),
}

# bitsandbytes NF4 + double quantization (QLoRA, arXiv 2305.14314 §3): 4-bit codes in blocks of 64; the per-block
# absmax is re-quantized to 8 bits, with one fp32 constant per 256 of those blocks.
NF4_BLOCK = 64
NF4_DQ_BLOCK = 256
QLORA_BITS_PER_PARAM = 4 + 8 / NF4_BLOCK + 32 / (NF4_BLOCK * NF4_DQ_BLOCK)
QLORA_KEPT_BYTES_PER_PARAM = 2.0
"""Embeddings, lm_head, norms and other non-Linear params stay bf16 under bitsandbytes 4-bit loading."""

# Korthikanti et al. 2022 (arXiv 2205.05198) eq. 1: GPT block, 16-bit, dropout, GeLU 4h MLP, no flash attention.
# Per layer: s·b·h·34 + 5·a·s²·b bytes (attention 11sbh + 5as²b, MLP 19sbh, two LayerNorms 4sbh).
KORTHIKANTI_PER_SBH = 34
KORTHIKANTI_PER_AS2B = 5

# Modern block (RMSNorm, SwiGLU, GQA, FlashAttention, no dropout, bf16) [docs/training.md §4; Korthikanti et al. 2022, arXiv 2205.05198, Table 2]: bytes kept for
# backward per token, per unit of the dimension named by the key.
MODERN_BLOCK_BYTES: dict[str, int] = {
    "hidden": 10,  # 5 h-sized bf16 tensors: attn-norm in/out, q, attention out, MLP-norm in
    "kv": 4,  # k and v, bf16: 2 tensors × kv·d
    "mlp_gated": 6,  # gate out, up out, act(gate)·up: 3 i-sized bf16 tensors
    "mlp_plain": 4,  # fc1 out and act out for a 2-matrix MLP (Korthikanti's 8sbh+8sbh at i = 4h, 2 B each)
    "attn_lse": 4,  # FlashAttention softmax logsumexp, fp32 per head
    "router": 4,  # MoE router logits, fp32 per expert
    "dispatch": 4,  # MoE: hidden state permuted to each chosen expert and back, bf16 (~4·s·b·k·h)
}

CHECKPOINT_BYTES_PER_HIDDEN = 2
"""Full recompute keeps each layer's bf16 input (2·s·b·h) and recomputes one layer at a time."""

# Logits and cross-entropy when the loss is not chunked: bf16 logits, their fp32 upcast, fp32 gradient of the logits.
LOGITS_BYTES_PER_VOCAB: dict[str, int] = {"logits_bf16": 2, "logits_fp32": 4, "logits_grad_fp32": 4}

# Which model-state terms each ZeRO stage partitions over the data-parallel GPUs (Rajbhandari et al. 2020,
# arXiv 1910.02054; DeepSpeed docs). "frozen" is a LoRA/QLoRA base, partitioned with the weights at stage 3.
ZERO_PARTITIONS: dict[int, frozenset[str]] = {
    0: frozenset(),
    1: frozenset({"master", "states"}),
    2: frozenset({"master", "states", "grads"}),
    3: frozenset({"master", "states", "grads", "weights", "frozen"}),
}


@dataclass(frozen=True)
class ModelDims:
    """Architecture numbers the training estimate needs (the integrator maps parse.config facts onto it)."""

    layers: int
    """Decoder layers (L)."""
    hidden: int
    """Hidden size (h)."""
    heads: int
    """Attention (query) heads (a)."""
    kv_heads: int
    """Key/value heads (kv); equal to `heads` for MHA."""
    head_dim: int
    """Per-head dimension (d): config `head_dim`, else hidden // heads."""
    intermediate: int
    """Dense MLP size (i); unused by MoE layers."""
    vocab: int
    """Vocabulary size (V)."""
    params: int
    """Total logical parameters of the base model, all experts included."""
    experts: int = 0
    """Routed experts per MoE layer (E); 0 for a dense model."""
    experts_per_token: int = 0
    """Experts each token is routed to (k)."""
    moe_intermediate: int = 0
    """MLP size of one routed expert."""
    shared_experts: int = 0
    """Shared (always-on) experts per layer, each of size `moe_intermediate`."""
    dense_layers: int = 0
    """MoE-model layers with the dense MLP (`intermediate`) instead of experts (DeepSeek `first_k_dense_replace`)."""
    gated_mlp: bool = True
    """SwiGLU-style MLP (gate, up, down) rather than a 2-matrix MLP (up, down)."""
    tied_embeddings: bool = False
    """lm_head shares the embedding matrix."""
    linear_shapes: tuple[tuple[str, int, int, int], ...] = ()
    """(module name, in, out, count in model) for every adapter-able Linear; empty ⇒ derived from the dims."""

    @property
    def is_moe(self) -> bool:
        """True when the MLPs are routed experts."""
        return self.experts > 0

    @property
    def moe_layer_count(self) -> int:
        """Layers whose MLP is routed experts."""
        return self.layers - self.dense_layers if self.is_moe else 0

    def linears(self) -> tuple[tuple[str, int, int, int], ...]:
        """The model's Linear layers: `linear_shapes` when given, else the Llama/Qwen-style default."""
        return self.linear_shapes or default_linear_shapes(self)


def _mlp_shapes(prefix: str, hidden: int, inter: int, count: int, gated: bool) -> list[tuple[str, int, int, int]]:
    """One MLP's Linears (gate/up/down or up/down), `count` copies in the model."""
    names = ("gate_proj", "up_proj") if gated else ("up_proj",)
    ups = [(prefix + n, hidden, inter, count) for n in names]
    return [*ups, (prefix + "down_proj", inter, hidden, count)]


def default_linear_shapes(dims: ModelDims) -> tuple[tuple[str, int, int, int], ...]:
    """Linears of a Llama-style decoder: q/k/v/o, then a dense MLP or router + routed (+ shared) experts.

    Names follow HF module suffixes; routed experts are `experts.<proj>`, shared ones `shared_experts.<proj>` and the
    router `gate`. lm_head is left out: PEFT does not adapt it by default and QLoRA keeps it in bf16.
    """
    h, q, kv, n = dims.hidden, dims.heads * dims.head_dim, dims.kv_heads * dims.head_dim, dims.layers
    shapes = [("q_proj", h, q, n), ("k_proj", h, kv, n), ("v_proj", h, kv, n), ("o_proj", q, h, n)]
    dense, moe = n - dims.moe_layer_count, dims.moe_layer_count
    if dense:
        shapes += _mlp_shapes("", h, dims.intermediate, dense, dims.gated_mlp)
    if moe:
        shapes.append(("gate", h, dims.experts, moe))
        shapes += _mlp_shapes("experts.", h, dims.moe_intermediate, moe * dims.experts, dims.gated_mlp)
    if moe and dims.shared_experts:
        shared = dims.moe_intermediate * dims.shared_experts
        shapes += _mlp_shapes("shared_experts.", h, shared, moe, dims.gated_mlp)
    return tuple(shapes)


@dataclass(frozen=True)
class TrainOptions:
    """How the model is trained; defaults are a single-GPU LoRA run with checkpointing and FlashAttention."""

    mode: Mode = "lora"
    """full: every parameter trains; lora: frozen base + adapters; qlora: NF4 base + adapters."""
    optimizer: OptimizerName = "adamw"
    """Key of OPTIMIZERS."""
    lora_rank: int = 16
    """LoRA rank r."""
    lora_targets: tuple[str, ...] = LLAMA_LORA_TARGETS
    """Module-name suffixes that get adapters (PEFT `target_modules` semantics)."""
    seq_len: int = 2048
    """Tokens per sequence (s)."""
    micro_batch: int = 1
    """Sequences per GPU per step (b)."""
    gradient_checkpointing: bool = True
    """Full activation recompute per layer."""
    flash_attention: bool = True
    """FlashAttention/SDPA memory-efficient kernels (no s² attention matrix kept)."""
    zero_stage: Literal[0, 1, 2, 3] = 0
    """DeepSpeed ZeRO stage (0 = plain data parallel, everything replicated)."""
    num_gpus: int = 1
    """Data-parallel GPUs ZeRO partitions over."""
    weight_bytes_per_param: float = 2.0
    """Bytes per param of the frozen LoRA base when header bytes are not given (2 = bf16/fp16)."""

    def __post_init__(self) -> None:
        problems = [
            f"mode {self.mode!r}" if self.mode not in ("full", "lora", "qlora") else "",
            f"optimizer {self.optimizer!r}" if self.optimizer not in OPTIMIZERS else "",
            f"zero_stage {self.zero_stage!r}" if self.zero_stage not in ZERO_PARTITIONS else "",
            *(f"{k} {v!r} (must be ≥ 1)" for k, v in self._counts().items() if v < 1),
            "weight_bytes_per_param must be > 0" if self.weight_bytes_per_param <= 0 else "",
        ]
        bad = [p for p in problems if p]
        if bad:
            raise ValueError("invalid training options: " + "; ".join(bad))

    def _counts(self) -> dict[str, int]:
        return {
            "lora_rank": self.lora_rank,
            "seq_len": self.seq_len,
            "micro_batch": self.micro_batch,
            "num_gpus": self.num_gpus,
        }


@dataclass(frozen=True)
class TrainingEstimate:
    """Peak GPU memory of one training step, per GPU, split by component (bytes)."""

    mode: Mode
    """Training regime the estimate is for."""
    weights_bytes: int
    """Working weights: full model (full) or frozen base + adapter weights (LoRA/QLoRA), after ZeRO-3 sharding."""
    gradients_bytes: int
    """Gradient buffers of the trainable parameters."""
    master_weights_bytes: int
    """fp32 master copies of the trainable parameters."""
    optimizer_bytes: int
    """Optimizer state tensors (Adam m/v, momentum)."""
    activations_bytes: int
    """Activations kept for backward across all layers (frozen layers included)."""
    logits_bytes: int
    """Logits and cross-entropy buffers of the output layer."""
    trainable_params: int
    """Parameters that receive gradients (all for full, adapters for LoRA/QLoRA)."""
    total_bytes: int
    """Sum of all components on one GPU (no CUDA context or allocator overhead)."""
    per_param_bytes: float
    """Model-state bytes (weights + grads + master + optimizer) per base-model parameter on this GPU."""
    notes: tuple[str, ...] = field(default=())
    """What was assumed, one line each."""


def _matches(name: str, targets: tuple[str, ...]) -> bool:
    """PEFT `target_modules` list semantics: exact name or a dotted suffix."""
    return any(name == t or name.endswith("." + t) for t in targets)


def lora_trainable_params(dims: ModelDims, rank: int, targets: tuple[str, ...]) -> int:
    """Exact LoRA parameter count: r·(in + out) per adapted Linear × its count (experts too when targeted)."""
    return sum(rank * (i + o) * n for name, i, o, n in dims.linears() if _matches(name, targets))


def _linear_params(dims: ModelDims) -> int:
    return sum(i * o * n for _, i, o, n in dims.linears())


def qlora_base_bytes(dims: ModelDims) -> int:
    """Frozen QLoRA base: Linears in NF4 + double quant, everything else (embeddings, head, norms) in bf16."""
    linear = _linear_params(dims)
    kept = max(dims.params - linear, 0)
    return math.ceil(linear * QLORA_BITS_PER_PARAM / 8 + kept * QLORA_KEPT_BYTES_PER_PARAM)


def _mlp_token_bytes(dims: ModelDims, moe: bool) -> int:
    """Per-token MLP activation bytes of the modern block: dense, or k routed experts + shared + router + dispatch."""
    per_unit = MODERN_BLOCK_BYTES["mlp_gated" if dims.gated_mlp else "mlp_plain"]
    if not moe:
        return per_unit * dims.intermediate
    k, inter = dims.experts_per_token, dims.moe_intermediate
    routed = per_unit * (k + dims.shared_experts) * inter
    return routed + MODERN_BLOCK_BYTES["router"] * dims.experts + MODERN_BLOCK_BYTES["dispatch"] * k * dims.hidden


def layer_activation_bytes(
    dims: ModelDims, seq_len: int, micro_batch: int, flash_attention: bool, moe: bool | None = None
) -> int:
    """Activations one layer keeps for backward without recompute (docs/training.md §4).

    No flash attention: Korthikanti `s·b·h·(34 + 5·a·s/h)`. Flash attention: modern block
    `2sb(5h + 2·kv·d) + 6·s·b·i + 4·s·b·a`, MoE replacing `6sbi` with k experts + router + dispatch.
    `moe` picks the layer kind (default: MoE iff the model has experts).
    """
    s, b, m = seq_len, micro_batch, MODERN_BLOCK_BYTES
    if not flash_attention:
        return s * b * dims.hidden * KORTHIKANTI_PER_SBH + KORTHIKANTI_PER_AS2B * dims.heads * s * s * b
    attn = m["hidden"] * dims.hidden + m["kv"] * dims.kv_heads * dims.head_dim + m["attn_lse"] * dims.heads
    return s * b * (attn + _mlp_token_bytes(dims, dims.is_moe if moe is None else moe))


def activations_bytes(dims: ModelDims, opts: TrainOptions) -> int:
    """All layers' activations: L full layers, or with checkpointing L layer inputs + one layer recomputed."""
    s, b = opts.seq_len, opts.micro_batch
    moe_n = dims.moe_layer_count
    kinds = {False: dims.layers - moe_n, True: moe_n}
    per_kind = {moe: layer_activation_bytes(dims, s, b, opts.flash_attention, moe) for moe, n in kinds.items() if n}
    if not opts.gradient_checkpointing:
        return sum(kinds[moe] * size for moe, size in per_kind.items())
    return dims.layers * CHECKPOINT_BYTES_PER_HIDDEN * s * b * dims.hidden + max(per_kind.values(), default=0)


def logits_bytes(dims: ModelDims, opts: TrainOptions) -> int:
    """Unchunked logits + cross-entropy: b·s·V·(2 + 4 + 4)."""
    return opts.micro_batch * opts.seq_len * dims.vocab * sum(LOGITS_BYTES_PER_VOCAB.values())


@dataclass(frozen=True)
class _States:
    """Unsharded model-state bytes by ZeRO partition key."""

    frozen: float
    weights: float
    grads: float
    master: float
    states: float

    def sharded(self, stage: int, gpus: int) -> _States:
        parts = ZERO_PARTITIONS[stage]
        return _States(**{k: v / gpus if k in parts else v for k, v in vars(self).items()})


def _frozen_base(dims: ModelDims, opts: TrainOptions, base_weight_bytes: int | None) -> tuple[float, str]:
    """Bytes of the frozen base and a note on how they were obtained."""
    if opts.mode == "full":
        return 0.0, ""
    if opts.mode == "qlora":
        bits = QLORA_BITS_PER_PARAM
        return qlora_base_bytes(dims), f"QLoRA base: Linears NF4 + double quant {bits:.3f} bits/param, rest bf16"
    if base_weight_bytes is not None:
        return float(base_weight_bytes), "LoRA base: weight-file header bytes"
    b = opts.weight_bytes_per_param
    return dims.params * b, f"LoRA base: {b:g} B/param × {dims.params:,} params"


def _states(dims: ModelDims, opts: TrainOptions, trainable: int, frozen: float) -> _States:
    o = OPTIMIZERS[opts.optimizer]
    p = trainable
    return _States(frozen, o.weights * p, o.grads * p, o.master * p, o.states * p)


def _notes(dims: ModelDims, opts: TrainOptions, base_note: str, trainable: int) -> tuple[str, ...]:
    o = OPTIMIZERS[opts.optimizer]
    who = "every parameter" if opts.mode == "full" else f"{trainable:,} LoRA params (r={opts.lora_rank})"
    notes = [
        f"{o.total:g} B per trainable param = {o.weights:g} weights + {o.grads:g} grads + {o.master:g} master"
        f" + {o.states:g} optimizer ({o.source}); applied to {who}",
        base_note,
        "activations: "
        + ("modern block with FlashAttention" if opts.flash_attention else "Korthikanti 2022, no flash attention")
        + (", full recompute (2·s·b·h per layer + one layer)" if opts.gradient_checkpointing else ", no recompute"),
        "logits + cross-entropy b·s·V·(2+4+4), loss not chunked",
        "excludes CUDA context, NCCL and allocator overhead",
    ]
    if opts.zero_stage or opts.num_gpus > 1:
        parts = ", ".join(sorted(ZERO_PARTITIONS[opts.zero_stage])) or "nothing (replicated)"
        notes.append(f"ZeRO-{opts.zero_stage} over {opts.num_gpus} GPUs partitions {parts}; activations per GPU")
    if dims.is_moe:
        notes.append(
            f"MoE: all {dims.experts} experts resident, activations for {dims.experts_per_token} per token;"
            f" {dims.dense_layers} dense layers"
        )
    if opts.mode != "full":
        notes.append("frozen base layers still store activations for the adapters' backward")
    return tuple(n for n in notes if n)


def estimate_training(dims: ModelDims, opts: TrainOptions, base_weight_bytes: int | None = None) -> TrainingEstimate:
    """Per-GPU memory of one training step: model states by regime and ZeRO stage, plus activations and logits.

    `base_weight_bytes` (real header bytes) replaces `params × weight_bytes_per_param` for the frozen LoRA base.
    """
    full = opts.mode == "full"
    trainable = dims.params if full else lora_trainable_params(dims, opts.lora_rank, opts.lora_targets)
    frozen, base_note = _frozen_base(dims, opts, base_weight_bytes)
    st = _states(dims, opts, trainable, frozen).sharded(opts.zero_stage, opts.num_gpus)
    model_states = [math.ceil(x) for x in (st.frozen + st.weights, st.grads, st.master, st.states)]
    acts, logits = activations_bytes(dims, opts), logits_bytes(dims, opts)
    return TrainingEstimate(
        mode=opts.mode,
        weights_bytes=model_states[0],
        gradients_bytes=model_states[1],
        master_weights_bytes=model_states[2],
        optimizer_bytes=model_states[3],
        activations_bytes=acts,
        logits_bytes=logits,
        trainable_params=trainable,
        total_bytes=sum(model_states) + acts + logits,
        per_param_bytes=sum(model_states) / dims.params if dims.params else 0.0,
        notes=_notes(dims, opts, base_note, trainable),
    )
