"""How numbers and recurring phrases read in every text format: bytes in binary units, counts as 6.74B."""

from __future__ import annotations

from cardscan.units import count, gib, human_bytes

__all__ = ["capacity_text", "count", "gib", "human_bytes", "model_shape", "quant_label", "training_text"]


def quant_label(q) -> str:
    """'GPTQ 4-bit g128', 'GGUF Q4_K_M', 'compressed-tensors 4-bit g128' from a QuantInfo."""
    file_type = (q.format_details or {}).get("file_type")
    if file_type:
        return f"{q.method.upper()} {file_type}"
    bits = f" {q.bits:g}-bit" if q.bits else ""
    group = f" g{q.group_size}" if q.group_size and q.group_size > 0 else ""
    return f"{q.method.upper() if len(q.method) <= 5 else q.method}{bits}{group}"


def capacity_text(c) -> str:
    """What fits on the chosen GPU, in one line."""
    parts = []
    for label, attr in (("max context", "max_context"), ("max batch", "max_batch"), ("KV tokens", "kv_tokens")):
        value = getattr(c, attr, None)
        if value is not None:
            parts.append(f"{label} {value:,}")
    for label, attr in (("cheapest precision", "cheapest_precision"), ("smallest TP", "min_tp")):
        value = getattr(c, attr, None)
        if value is not None:
            parts.append(f"{label} {value}")
    return " · ".join(parts) or "does not fit"


def training_text(t) -> str:
    """Fine-tuning memory in one line."""
    return (
        f"{t.mode}: {human_bytes(t.total_bytes)} (weights {human_bytes(t.weights_bytes)}, "
        f"gradients {human_bytes(t.gradients_bytes)}, optimizer {human_bytes(t.optimizer_bytes + t.master_weights_bytes)}, "
        f"activations {human_bytes(t.activations_bytes + t.logits_bytes)}; {count(t.trainable_params)} trainable)"
    )


def model_shape(m) -> list[str]:
    """'32 layers (10 full, 52 sliding)', 'hidden 4096', '32 heads, 8 KV × 128' from ModelFacts."""
    parts = []
    if m.layers:
        kinds = ", ".join(f"{n} {k}" for k, n in m.layer_kinds.items()) if len(m.layer_kinds) > 1 else ""
        parts.append(f"{m.layers} layers" + (f" ({kinds})" if kinds else ""))
    if m.hidden_size:
        parts.append(f"hidden {m.hidden_size}")
    if m.attention_heads:
        kv = f", {m.kv_heads} KV" if m.kv_heads and m.kv_heads != m.attention_heads else ""
        parts.append(f"{m.attention_heads} heads{kv} × {m.head_dim}")
    return parts
