"""How numbers and recurring phrases read in every text format: bytes in binary units, counts as 6.74B."""

from __future__ import annotations

# Binary byte units (GiB), as engines and nvidia-smi report memory.
_BYTE_UNITS = (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10))
# Parameter counts in decimal units, as model names use them (7B, 135M).
_COUNT_UNITS = (("T", 10**12), ("B", 10**9), ("M", 10**6), ("K", 10**3))


def human_bytes(n: int | float | None) -> str:
    """1536 → '1.5 KiB'; None → '?'."""
    if n is None:
        return "?"
    for unit, size in _BYTE_UNITS:
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return f"{int(n)} B"


def gib(n: int | float | None) -> str:
    """Bytes as GiB with two decimals (the unit the memory table uses throughout)."""
    return "?" if n is None else f"{n / (1 << 30):.2f} GiB"


def count(n: int | None, *, label: bool = False) -> str:
    """6738415616 → '6.74B'; with `label` (a card's rounded claim) 7000000000 → '7B'."""
    if n is None:
        return "?"
    for unit, size in _COUNT_UNITS:
        if abs(n) >= size:
            text = f"{n / size:.2f}"
            return (text.rstrip("0").rstrip(".") if label else text) + unit
    return str(n)


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
