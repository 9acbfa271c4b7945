"""Results → a compact terminal report (rich). Colour only on a terminal; NO_COLOR is honoured by rich itself."""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cardscan.estimate.weights import QUICK_RULE_LABEL
from cardscan.render.units import capacity_text, count, human_bytes, model_shape, quant_label, training_text
from cardscan.result import ScanResult

# GPUs shown in the one-line fit summary when the user names none (a spread of common sizes); JSON lists them all.


def render(results: Sequence[ScanResult]) -> str:
    """All results, one block each."""
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=sys.stdout.isatty(), width=_width(), highlight=False, soft_wrap=False)
    for i, r in enumerate(results):
        if i:
            console.print()
        _render_one(console, r)
    # rich pads table cells to the column width; trailing blanks only get in the way of copy and diff.
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def _width() -> int:
    import shutil

    return max(80, min(120, shutil.get_terminal_size((100, 24)).columns))


def _render_one(console: Console, r: ScanResult) -> None:
    title = Text(r.repo_id or r.input, style="bold")
    if r.commit:
        title.append(f" @ {r.revision} ({r.commit[:7]})", style="dim")
    console.print(title)
    if r.error is not None:
        console.print(Text(f"  error [{r.error.code}]: {r.error.message}", style="red"))
        return
    table = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 2))
    table.add_column(style="cyan", no_wrap=True)
    table.add_column(overflow="fold")
    for label, value in _rows(r):
        table.add_row(label, value)
    console.print(table)
    for w in r.warnings:
        console.print(Text(f"  warning: {w}", style="yellow"))


def _rows(r: ScanResult) -> list[tuple[str, str | Text | Table]]:
    rows: list[tuple[str, str | Text | Table]] = []
    if r.model:
        rows.append(("model", _model_line(r)))
    if r.parameters:
        rows.append(("parameters", _params_line(r)))
    if r.weights:
        rows.append(("weights", _weights_line(r)))
    if r.card is not None:
        rows.append(("card", _card_line(r)))
    if r.precision_bytes:
        rows.append(("at precision", "  ".join(f"{k.upper()} {human_bytes(v)}" for k, v in r.precision_bytes.items())))
        rows.append(("quick rule", QUICK_RULE_LABEL + ": " + "  ".join(
            f"{k.upper()} {human_bytes(v)}" for k, v in r.rule_of_thumb_bytes.items())))  # fmt: skip
    if r.memory is not None:
        rows.extend(_memory_rows(r))
    if r.fits:
        rows.append(("fits", _fits_line(r)))
    if r.adapter is not None:
        rows.append(("adapter", _adapter_line(r)))
    if r.components:
        rows.append(("components", _components(r.components)))
    if r.variants:
        rows.append(("quants", _variants(r.variants)))
    if r.fit_matrix:
        rows.append(("fit matrix", _matrix(r.fit_matrix)))
    if r.capacity is not None:
        rows.append(("capacity", capacity_text(r.capacity)))
    if r.training is not None:
        rows.append(("fine-tuning", training_text(r.training)))
    if r.notes:
        rows.append(("notes", Text("\n".join(r.notes), style="dim")))
    if r.weights and r.weights.alternatives:
        alts = ", ".join(f"{a.name} ({a.format}, {human_bytes(a.bytes)})" for a in r.weights.alternatives[:6])
        more = f" +{len(r.weights.alternatives) - 6} more" if len(r.weights.alternatives) > 6 else ""
        rows.append(("not counted", alts + more))
    return rows


def _model_line(r: ScanResult) -> str:
    m = r.model
    parts = [m.architecture or m.model_type or "?", *model_shape(m)]
    if m.max_context:
        parts.append(f"ctx {m.max_context:,}")
    if m.dtype:
        parts.append(m.dtype)
    return " · ".join(parts)


def _params_line(r: ScanResult) -> Text:
    p = r.parameters
    text = Text()
    if not p.total:
        return Text("unknown (no readable weights, config or card figure)", style="bold")
    text.append(count(p.total), style="bold")
    text.append(f" ({p.total:,})")
    text.append(f"  from {p.source}", style="dim")
    if p.active:
        text.append(f"  · {count(p.active)} active per token")
    if p.mtp:
        text.append(f"  · +{count(p.mtp)} MTP (not counted)")
    if p.by_component:
        text.append("  · " + ", ".join(f"{k} {count(v)}" for k, v in p.by_component.items()))
    if p.by_dtype and len(p.by_dtype) > 0:
        text.append("  · " + ", ".join(f"{k} {count(v)}" for k, v in p.by_dtype.items()))
    if p.stored_elements and p.total and abs(p.stored_elements - p.total) > 0.01 * p.total:
        text.append(f"  · Hub-style count {count(p.stored_elements)}", style="dim")
    return text


def _weights_line(r: ScanResult) -> str:
    w, q = r.weights, r.quantization
    parts = [human_bytes(w.bytes) + " stored"] if w.bytes else ["no weights read"]
    if w.bits_per_weight:
        parts.append(f"{w.bits_per_weight:.2f} bpw")
    if q is not None:
        bpw = f" ({q.bits_per_weight:.2f} bpw in quantized layers)" if q.bits_per_weight else ""
        parts.append(quant_label(q) + bpw)
    if w.files:
        parts.append(f"{len(w.files)} {w.format} file{'s' if len(w.files) > 1 else ''}")
    return " · ".join(parts)


def _card_line(r: ScanResult) -> Text:
    card = r.card
    if not card.present:
        return Text("no model card", style="dim")
    claims = []
    if card.parameters:
        claims.append(count(card.parameters, label=True))
    if card.active_parameters:
        claims.append(f"{count(card.active_parameters, label=True)} active")
    if card.experts and card.expert_size:
        claims.append(f"{card.experts}x{count(card.expert_size, label=True)} experts")
    if card.quantization:
        q = card.quantization
        claims.append(" ".join(p for p in (q.method, f"{q.bits:g}-bit" if q.bits else "") if p) or "quantized")
    claims.extend(card.dtypes)
    text = Text("claims " + (", ".join(claims) if claims else "nothing measurable"))
    for a in (a for a in r.agreement if a.status != "unknown"):
        style = {"consistent": "green", "differs": "red"}.get(a.status, "dim")
        text.append(f"  {a.field}: {a.status}", style=style)
    if card.base_model:
        base = card.base_model if isinstance(card.base_model, str) else ", ".join(card.base_model)
        relation = f" ({card.base_model_relation})" if card.base_model_relation else ""
        text.append(f"  · base {base}{relation}", style="dim")
    return text


def _memory_rows(r: ScanResult) -> list[tuple[str, str]]:
    m = r.memory
    head = f"{m.engine} · context {m.context:,} · batch {m.batch} · KV {m.kv_dtype}" + (
        f" · TP {m.tp}" if m.tp > 1 else ""
    )
    parts = [f"weights {human_bytes(m.weights_bytes)}", f"KV {human_bytes(m.kv_cache_bytes)}"]
    if m.activations_bytes:
        parts.append(f"activations {human_bytes(m.activations_bytes)}")
    parts.append(f"overhead {human_bytes(m.overhead_bytes)}")
    total = " + ".join(parts) + f" = {human_bytes(m.total_bytes)}" + (" per GPU" if m.tp > 1 else "")
    kv = f"{human_bytes(int(m.kv_bytes_per_token))}/token ({human_bytes(int(m.kv_bytes_per_token * 1000))} per 1k tokens)"
    rows = [("memory", head), ("", total), ("kv cache", kv)]
    if m.host_bytes:
        rows.append(("", f"host RAM {human_bytes(m.host_bytes)} (layers kept off the GPU)"))
    if m.kv_budget_bytes is not None:
        rows.append(("vllm", _vllm_line(m)))
    rows.extend(("", note) for note in m.notes)
    return rows


def _vllm_line(m) -> str:
    """vLLM's own view: the KV budget left after weights, activations and overhead, and what it holds."""
    parts = [f"KV budget {human_bytes(m.kv_budget_bytes)}"]
    if m.kv_tokens is not None:
        parts.append(f"{m.kv_tokens:,} KV tokens")
    if m.max_concurrency is not None:
        parts.append(f"max concurrency {m.max_concurrency:.2f}x at {m.context:,} tokens")
    if m.fits_one_request is False:
        limit = f"; largest context that fits {m.max_context_fit:,}" if m.max_context_fit else ""
        parts.append(f"refuses to start at this context{limit}")
    return " · ".join(parts)


def _fits_line(r: ScanResult):
    """One item per GPU, wrapped between items (never inside a name)."""
    from rich.columns import Columns

    shown = r.fits if len(r.fits) <= 1 else [f for f in r.fits if "summary" in f.gpu.show]
    items = [Text(f"{f.gpu.name} {'✓' if f.fits else '✗'}", style="green" if f.fits else "red") for f in shown]
    return Columns(items, padding=(0, 2))


def _adapter_line(r: ScanResult) -> str:
    a = r.adapter
    targets = ",".join(a.target_modules) or "?"
    line = f"{a.peft_type or 'PEFT'} r={a.rank} alpha={a.alpha} on {targets} · {count(a.parameters)} params · {human_bytes(a.bytes)}"
    base = r.base
    if base is None:
        return line
    if base.error is not None:
        return f"{line}\nbase {a.base_model}: error [{base.error.code}] {base.error.message}"
    total = base.memory.total_bytes + (a.bytes or 0) if base.memory else None
    params = count(base.parameters.total) if base.parameters else "?"
    return f"{line}\nbase {a.base_model}: {params} params; memory with the adapter {human_bytes(total)}"


def _components(components) -> Table:
    grid = Table(box=None, pad_edge=False, padding=(0, 1), show_header=True, header_style="dim")
    for name, justify in (("component", "left"), ("class", "left"), ("params", "right"), ("bytes", "right")):
        grid.add_column(name, justify=justify, no_wrap=True)
    for c in components:
        grid.add_row(c.name, c.class_name or "", count(c.parameters), human_bytes(c.bytes))
    return grid


def _variants(variants) -> Table:
    """Each quant of a multi-quant repo: size, bits per weight, memory at the scan's context."""
    grid = Table(box=None, pad_edge=False, padding=(0, 1), show_header=True, header_style="dim")
    for name, justify in (
        ("quant", "left"),
        ("file size", "right"),
        ("bpw", "right"),
        ("memory", "right"),
        ("", "left"),
    ):
        grid.add_column(name, justify=justify, no_wrap=True)
    for v in variants:
        bpw = f"{v.bits_per_weight:.2f}" if v.bits_per_weight else "?"
        grid.add_row(
            v.quant or v.name, human_bytes(v.bytes), bpw, human_bytes(v.total_bytes), "← read" if v.chosen else ""
        )
    return grid


def _matrix(rows) -> Table:
    """Precision × common GPUs at the chosen context and batch."""
    grid = Table(box=None, pad_edge=False, padding=(0, 1), show_header=True, header_style="dim")
    grid.add_column("", no_wrap=True)
    for fit in rows[0].fits:
        model, _, size = fit.gpu.name.replace("RTX ", "").replace(" SXM", "").rpartition(" ")
        grid.add_column(f"{model}\n{size}", justify="center", no_wrap=True)
    for row in rows:
        marks = [Text("✓", style="green") if f.fits else Text("✗", style="red") for f in row.fits]
        grid.add_row(row.precision, *marks)
    return grid
