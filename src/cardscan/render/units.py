"""How numbers and recurring phrases read in every text format: bytes in binary units, counts as 6.74B."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cardscan.estimate.capacity import TP_DEGREES
from cardscan.units import GIB, count, gib, human_bytes

if TYPE_CHECKING:
    from cardscan.estimate.capacity import Capacity
    from cardscan.estimate.engines import MemoryEstimate
    from cardscan.estimate.training import TrainingEstimate
    from cardscan.estimate.verdict import GpuVerdict, Suggestion, Verdict
    from cardscan.parse.quant import QuantInfo
    from cardscan.result import ModelFacts

__all__ = [
    "capacity_text", "count", "gib", "gib1", "gpu_verdict_text", "human_bytes", "model_shape", "quant_label",
    "quick_rule_text", "suggestions_text", "summary_verdict_text", "tokens_short", "training_text", "verdict_lines",
    "vllm_budget_text",
]  # fmt: skip


def quant_label(q: QuantInfo) -> str:
    """'GPTQ 4-bit g128', 'GGUF Q4_K_M', 'compressed-tensors 4-bit g128' from a QuantInfo."""
    file_type = (q.format_details or {}).get("file_type")
    if file_type:
        return f"{q.method.upper()} {file_type}"
    bits = f" {q.bits:g}-bit" if q.bits else ""
    group = f" g{q.group_size}" if q.group_size and q.group_size > 0 else ""
    return f"{q.method.upper() if len(q.method) <= 5 else q.method}{bits}{group}"


def capacity_text(c: Capacity) -> str:
    """What fits on the chosen GPU, in one line."""
    parts = []
    for label, attr in (("max context", "max_context"), ("max batch", "max_batch"), ("KV tokens", "kv_tokens")):
        value = getattr(c, attr, None)
        if value is not None:
            parts.append(f"{label} {value:,}")
    for label, attr in (("least lossy precision that fits", "least_lossy_precision"), ("smallest TP", "min_tp")):
        value = getattr(c, attr, None)
        if value is not None:
            parts.append(f"{label} {value}")
    return " · ".join(parts) or "does not fit"


def training_text(t: TrainingEstimate) -> str:
    """Fine-tuning memory in one line."""
    return (
        f"{t.mode}: {human_bytes(t.total_bytes)} (weights {human_bytes(t.weights_bytes)}, "
        f"gradients {human_bytes(t.gradients_bytes)}, optimizer {human_bytes(t.optimizer_bytes + t.master_weights_bytes)}, "
        f"activations {human_bytes(t.activations_bytes + t.logits_bytes)}; {count(t.trainable_params)} trainable)"
    )


def model_shape(m: ModelFacts) -> list[str]:
    """'32 layers (10 full, 52 sliding)', 'hidden 4096', '32 heads, 8 KV × 128' from ModelFacts."""
    parts = []
    if m.layers:
        kinds = ", ".join(f"{n} {k}" for k, n in m.layer_kinds.items()) if len(m.layer_kinds) > 1 else ""
        parts.append(f"{m.layers} layers" + (f" ({kinds})" if kinds else ""))
    if m.hidden_size:
        parts.append(f"hidden {m.hidden_size}")
    if m.attention_heads:
        kv = f", {m.kv_heads} KV" if m.kv_heads and m.kv_heads != m.attention_heads else ""
        dims = f"{m.head_dim} (q·k) / {m.v_head_dim} (v)" if m.v_head_dim and m.v_head_dim != m.head_dim else m.head_dim
        parts.append(f"{m.attention_heads} heads{kv} × {dims}")
    return parts


# ---- the verdict in words -----------------------------------------------------------------------------------


def tokens_short(n: int, *, compact: bool = False) -> str:
    """131072 → '131k', 66770 → '66.8k', 4096 → '4,096' ('4.1k' when `compact`: narrow terminals)."""
    if n < (1000 if compact else 10_000):
        return f"{n:,}"
    if n < 100_000:
        return f"{n / 1000:.1f}".rstrip("0").rstrip(".") + "k"
    return f"{n / 1000:.0f}k"


def gib1(n: int) -> str:
    """Bytes as GiB with one decimal, for the verdict line ('31.5 GiB')."""
    return f"{n / GIB:.1f} GiB"


def verdict_lines(v: Verdict) -> list[str]:
    """The verdict: one sentence for a chosen GPU, or one summary sentence for the shown GPUs."""
    if len(v.gpus) == 1:
        return [gpu_verdict_text(v, v.gpus[0])]
    return [summary_verdict_text(v)] if v.gpus else []


def _where(v: Verdict) -> str:
    whose = "your" if v.context_asked else "the model's"
    return f"{whose} context {v.context:,}"


def gpu_verdict_text(v: Verdict, g: GpuVerdict) -> str:
    """'fits RTX 4090 24GB at bf16 up to 66,770 tokens (batch 1); at your context 131,072: needs 31.5 GiB, 7.9 GiB
    short → use fp8 (fits to 131k) or int4, or 2 GPUs (TP 2)'."""
    if g.max_context is not None:
        head = f"fits {g.gpu} at {v.precision} up to {g.max_context:,} tokens (batch {v.batch})"
    else:
        head = f"does not fit {g.gpu} at {v.precision} (batch {v.batch}), not even at 1 token"
    if g.fits:
        return f"{head}; at {_where(v)}: needs {gib1(g.needs_bytes)}, {gib1(g.budget_bytes - g.needs_bytes)} free"
    text = f"{head}; at {_where(v)}: needs {gib1(g.needs_bytes)}, {gib1(g.short_bytes)} short"
    fixes = suggestions_text(g, v.context)
    return f"{text} → {fixes}" if fixes else text


def suggestions_text(g: GpuVerdict, context: int) -> str:
    """'use fp8 (fits to 131k) or int4, or batch 2, or 2 GPUs (TP 2)'; a shorter context when nothing else helps."""
    words = []
    for i, s in enumerate(x for x in g.suggestions if x.kind == "precision"):
        reach = s.max_context or 0
        words.append(s.value if i and reach >= context else f"{s.value} (fits to {tokens_short(reach)})")
    others = [_other_fix(s) for s in g.suggestions if s.kind != "precision"]
    if not words and others:
        others[0] = "use " + others[0]
    parts = (["use " + " or ".join(words)] if words else []) + others
    if not parts and g.max_context:
        parts.append(f"use --context {g.max_context:,} or less")
    elif not parts:
        parts.append(f"needs more than {TP_DEGREES[-1]} of these GPUs (TP {TP_DEGREES[-1]}) or a larger card")
    return ", or ".join(parts)


def _other_fix(s: Suggestion) -> str:
    if s.kind == "tp":
        return f"{s.value} GPUs (TP {s.value})"
    if s.kind == "gpu_layers":
        return f"--gpu-layers {s.value} (the rest in host RAM: {gib1(s.host_bytes or 0)})"
    return f"{s.kind} {s.value}"


def _first_fix(g: GpuVerdict) -> str:
    """The least lossy change for the summary line: 'fp8 fits to 131k', 'TP 2', '--gpu-layers 20'."""
    for s in g.suggestions:
        if s.kind == "precision":
            return f"{s.value} fits to {tokens_short(s.max_context or 0)}"
        if s.kind == "tp":
            return f"TP {s.value}"
        if s.kind == "gpu_layers":
            return f"--gpu-layers {s.value}"
        if s.kind == "batch":
            return f"batch {s.value}"
    return ""


def summary_verdict_text(v: Verdict) -> str:
    """One sentence over several GPUs: which fit at the context, which only up to a shorter one, which not at all."""
    fit = [g.gpu for g in v.gpus if g.fits]
    head = f"fits {', '.join(fit)}" if fit else "fits none of the shown GPUs"
    parts = [f"{head} at {v.precision} at {_where(v)} (batch {v.batch}, {v.engine})"]
    for g in v.gpus:
        if g.fits:
            continue
        fix = _first_fix(g)
        fix = f" (→ {fix})" if fix else ""
        if g.max_context is not None:
            parts.append(f"{g.gpu} only up to {g.max_context:,} tokens{fix}")
        else:
            parts.append(f"{g.gpu} not at all{fix}")
    return "; ".join(parts)


def quick_rule_text(v: Verdict) -> str:
    """The rule of thumb beside the estimate, with the reason when they differ by more than 25 %."""
    text = f"params × bytes × 2 = {human_bytes(v.quick_rule_bytes)} vs estimate {human_bytes(v.estimate_bytes)}"
    return f"{text}; differs because {v.quick_rule_reason}" if v.quick_rule_reason else text


def vllm_budget_text(m: MemoryEstimate) -> str:
    """vLLM's KV budget; a negative one says what exceeds the budget instead of printing a negative size."""
    budget = m.kv_budget_bytes or 0
    if budget >= 0:
        return f"KV budget {human_bytes(budget)}"
    over_weights = m.weights_bytes - (budget + m.weights_bytes + m.activations_bytes + m.overhead_bytes)
    if over_weights > 0:
        return f"no KV budget: weights alone exceed the budget by {human_bytes(over_weights)}"
    return f"no KV budget: weights, activations and overhead exceed the budget by {human_bytes(-budget)}"


# Symbols with an ASCII stand-in of the same width (so tables stay aligned) for consoles that cannot encode them.
ASCII_FALLBACK = {"✓": "+", "✗": "x", "→": ">", "←": "<", "×": "x", "·": "-", "—": "-", "–": "-", "’": "'",
                  "…": ".", "≈": "~", "≤": "<", "≥": ">", "⚠️": "!!", "⚠": "!"}  # fmt: skip


def ascii_fallback(text: str) -> str:
    """`text` with the symbols cardscan prints replaced by ASCII stand-ins (other characters are left alone)."""
    for symbol, plain in ASCII_FALLBACK.items():
        text = text.replace(symbol, plain)
    return text
