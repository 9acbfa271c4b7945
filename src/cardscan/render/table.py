"""Results → a compact terminal report (rich), the verdict first.

The width follows the terminal (COLUMNS, else the real size; 100 when neither is known); below `NARROW` columns the
labels go on their own line so values keep the whole width and wrap between words. Colour only on a terminal or
with FORCE_COLOR; never with NO_COLOR. The CLI replaces ✓/✗ and friends when the console cannot
encode them (`units.ascii_fallback`).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.columns import Columns
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.segment import Segment, Segments
from rich.table import Table
from rich.text import Text

from cardscan.render.units import (
    capacity_text,
    count,
    gib,
    human_bytes,
    model_shape,
    quant_label,
    quick_rule_text,
    tokens_short,
    training_text,
    verdict_lines,
    vllm_budget_text,
)  # fmt: skip
from cardscan.result import Adapter, Component, ModelFacts, Parameters, ScanResult, Variant, Weights

if TYPE_CHECKING:
    from cardscan.estimate.capacity import FitRow
    from cardscan.estimate.engines import MemoryEstimate
    from cardscan.estimate.fit import Fit
    from cardscan.estimate.verdict import Verdict
    from cardscan.parse.card import CardInfo
    from cardscan.parse.quant import QuantInfo

_TRAILING = re.compile(r"\s+((?:\x1b\[[0-9;]*m)*)$")
NARROW = 80  # below this many columns: labels above their values
FALLBACK_WIDTH = 100  # neither a terminal nor COLUMNS: the width the README's sample output is made at
MIN_WIDTH = 40
Row = tuple[str, RenderableType]


def render(results: Sequence[ScanResult]) -> str:
    """All results, one block each."""
    buffer = io.StringIO()
    width = terminal_width()
    console = Console(file=buffer, force_terminal=_colour(), width=width, highlight=False, soft_wrap=False)
    for i, r in enumerate(results):
        if i:
            console.print()
        _render_one(console, r, narrow=width < NARROW)
    # rich pads table cells to the column width; trailing blanks (before a closing style code, too) only get in the
    # way of copy and diff.
    return "\n".join(_TRAILING.sub(r"\1", line) for line in buffer.getvalue().splitlines()) + "\n"


def terminal_width() -> int:
    """COLUMNS, else the terminal's width, else FALLBACK_WIDTH; never a fixed cap."""
    return max(MIN_WIDTH, shutil.get_terminal_size((FALLBACK_WIDTH, 24)).columns)


def _colour() -> bool:
    """NO_COLOR (any non-empty value) turns styling off; FORCE_COLOR (non-empty, not 0) turns it on; otherwise only
    on a terminal."""
    if os.environ.get("NO_COLOR"):
        return False
    forced = os.environ.get("FORCE_COLOR", "")
    if forced and forced != "0":
        return True
    return sys.stdout.isatty()


def _render_one(console: Console, r: ScanResult, *, narrow: bool) -> None:
    title = Text(r.repo_id or r.input, style="bold")
    if r.commit:
        title.append(f" @ {r.revision} ({r.commit[:7]})", style="dim")
    console.print(title)
    if r.error is not None:
        console.print(Text(f"  error [{r.error.code}]: {r.error.message}", style="red"))
        return
    rows = _rows(r, narrow=narrow, width=console.width)
    if narrow:
        for label, value in rows:
            if label:
                console.print(Text(label, style="cyan"))
            console.print(Padding(value, (0, 0, 0, 2)))
    else:
        console.print(Segments(_beside(console, rows)))
    for w in r.warnings:
        console.print(Text(f"  warning: {w}", style="yellow"))


def _beside(console: Console, rows: Sequence[Row]) -> list[Segment]:
    """Labels in a cyan column, each value wrapped beside its label: the text of rich's
    `Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 2))` with a no-wrap label column and a
    folding value column, laid out here because rich's table measures every cell first (most of a result's
    rendering time, which a batch of thousands pays thousands of times)."""
    label_width = max(cell_len(label) for label, _ in rows)
    options = console.options.update(width=max(1, console.width - label_width - 4), overflow="fold", height=None)
    cyan = console.get_style("cyan")
    out: list[Segment] = []
    for label, value in rows:
        for i, line in enumerate(console.render_lines(value, options, pad=False, new_lines=True)):
            shown = label if i == 0 else ""
            out += [Segment(shown + " " * (label_width + 2 - cell_len(shown)), cyan), Segment("  "), *line]
    return out


def _rows(r: ScanResult, *, narrow: bool, width: int) -> list[Row]:
    rows: list[Row] = []
    room = width - (2 if narrow else GRID_LABEL_ROOM)  # what a nested grid may take: labels above, or beside
    if r.verdict is not None and r.verdict.gpus:
        rows += [("verdict", Text(line, style="bold")) for line in verdict_lines(r.verdict)]
    if r.model:
        rows.append(("model", _model_line(r.model)))
    if r.parameters:
        rows.append(("parameters", _params_line(r.parameters)))
    if r.weights:
        rows.append(("weights", _weights_line(r.weights, r.quantization)))
    if r.card is not None:
        rows.append(("card", _card_line(r, r.card)))
    if r.precision_bytes:
        rows.append(("at precision", "  ".join(f"{k.upper()} {human_bytes(v)}" for k, v in r.precision_bytes.items())))
    if r.memory is not None:
        rows.extend(_memory_rows(r.memory, r.verdict))
    if r.fits:
        rows.append(("fits", _fits_line(r)))
    if r.adapter is not None:
        rows.append(("adapter", _adapter_line(r, r.adapter)))
    if r.components:
        rows.append(("components", _components(r.components, room)))
    if r.variants:
        rows.append(("quants", _variants(r.variants, room)))
    if r.fit_matrix and r.verdict is not None:
        rows.append(("fit matrix", _matrix(r.fit_matrix, r.verdict, compact=narrow, room=room)))
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


def _model_line(m: ModelFacts) -> str:
    parts = [m.architecture or m.model_type or "?", *model_shape(m)]
    if m.max_context:
        parts.append(f"ctx {m.max_context:,}")
    if m.dtype:
        parts.append(m.dtype)
    return " · ".join(parts)


def _params_line(p: Parameters) -> Text:
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
    if p.by_dtype:
        text.append("  · " + ", ".join(f"{k} {count(v)}" for k, v in p.by_dtype.items()))
    if p.stored_elements and abs(p.stored_elements - p.total) > 0.01 * p.total:
        text.append(f"  · Hub-style count {count(p.stored_elements)}", style="dim")
    return text


def _weights_line(w: Weights, q: QuantInfo | None) -> str:
    parts = [human_bytes(w.bytes) + " stored"] if w.bytes else ["no weights read"]
    if w.bits_per_weight:
        parts.append(f"{w.bits_per_weight:.2f} bpw")
    if q is not None:
        bpw = f" ({q.bits_per_weight:.2f} bpw in quantized layers)" if q.bits_per_weight else ""
        parts.append(quant_label(q) + bpw)
    if w.files:
        parts.append(f"{len(w.files)} {w.format} file{'s' if len(w.files) > 1 else ''}")
    return " · ".join(parts)


def _card_line(r: ScanResult, card: CardInfo) -> Text:
    if not card.present:
        text = Text("no model card", style="dim")
        for a in (a for a in r.agreement if a.status != "unknown"):  # the repo name's claims are still checked
            style = {"consistent": "green", "differs": "red"}.get(a.status, "dim")
            text.append(f"  {a.field}: {a.status} ({a.note})", style=style)
        return text
    claims = []
    if card.parameters:
        claims.append(count(card.parameters, label=True))
    if card.active_parameters:
        claims.append(f"{count(card.active_parameters, label=True)} active")
    if card.experts and card.expert_size:
        claims.append(f"{card.experts}x{count(card.expert_size, label=True)} experts")
    if card.quantization:
        q = card.quantization
        parts = (q.method or q.scheme, f"{q.bits:g}-bit" if q.bits else "", f"via {q.tool}" if q.tool else "")
        claims.append(" ".join(p for p in parts if p) or "quantized")
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


def _memory_rows(m: MemoryEstimate, v: Verdict | None) -> list[Row]:
    head = f"{m.engine} · context {m.context:,} · batch {m.batch} · KV {m.kv_dtype}" + (
        f" · TP {m.tp}" if m.tp > 1 else ""
    )
    parts = [f"weights {human_bytes(m.weights_bytes)}", f"KV {human_bytes(m.kv_cache_bytes)}"]
    if m.activations_bytes:
        parts.append(f"activations {human_bytes(m.activations_bytes)}")
    parts.append(f"overhead {human_bytes(m.overhead_bytes)}")
    total = " + ".join(parts) + f" = {human_bytes(m.total_bytes)}" + (" per GPU" if m.tp > 1 else "")
    rows: list[Row] = [("memory", head), ("", total)]
    if v is not None:
        rows.append(("", Text("rule of thumb: " + quick_rule_text(v), style="dim")))
    per_token = int(m.kv_bytes_per_token)
    rows.append(("kv cache", f"{human_bytes(per_token)}/token ({human_bytes(per_token * 1000)} per 1k tokens)"))
    if m.host_bytes:
        rows.append(("", f"host RAM {human_bytes(m.host_bytes)} (layers kept off the GPU)"))
    if m.kv_budget_bytes is not None:
        rows.append(("vllm", _vllm_line(m)))
    rows.extend(("", note) for note in m.notes)
    return rows


def _vllm_line(m: MemoryEstimate) -> str:
    """vLLM's own view: the KV budget left after weights, activations and overhead, and what it holds."""
    parts = [vllm_budget_text(m)]
    if m.kv_tokens is not None and (m.kv_budget_bytes or 0) >= 0:
        parts.append(f"{m.kv_tokens:,} KV tokens")
    if m.max_concurrency is not None and (m.kv_budget_bytes or 0) >= 0:
        parts.append(f"max concurrency {m.max_concurrency:.2f}x at {m.context:,} tokens")
    if m.fits_one_request is False:
        limit = f"; largest context that fits {m.max_context_fit:,}" if m.max_context_fit else ""
        parts.append(f"refuses to start at this context{limit}")
    return " · ".join(parts)


def _fits_line(r: ScanResult) -> RenderableType:
    """The shown GPUs (the verdict's), each with its margin; wrapped between items, never inside a name."""
    order = {g.gpu: i for i, g in enumerate(r.verdict.gpus)} if r.verdict is not None else {}
    fits = sorted((f for f in r.fits if f.gpu.name in order), key=lambda f: order[f.gpu.name]) or list(r.fits)
    return Columns([_fit_item(f) for f in fits], padding=(0, 2))


def _fit_item(f: Fit) -> Text:
    if f.fits:
        return Text(f"{f.gpu.name} ✓ {gib(f.free_bytes)} free", style="green")
    return Text(f"{f.gpu.name} ✗ {gib(-f.free_bytes)} short", style="red")


def _adapter_line(r: ScanResult, a: Adapter) -> str:
    targets = ",".join(a.target_modules) or "?"
    line = (f"{a.peft_type or 'PEFT'} r={a.rank} alpha={a.alpha} on {targets} · {count(a.parameters)} params · "
            f"{human_bytes(a.bytes)}")  # fmt: skip
    base = r.base
    if base is None:
        return line
    if base.error is not None:
        return f"{line}\nbase {a.base_model}: error [{base.error.code}] {base.error.message}"
    total = base.memory.total_bytes + (a.bytes or 0) if base.memory else None
    params = count(base.parameters.total) if base.parameters else "?"
    return f"{line}\nbase {a.base_model}: {params} params; memory with the adapter {human_bytes(total)}"


def _components(components: Sequence[Component], room: int) -> RenderableType:
    rows = [(c.name, c.class_name or "", count(c.parameters), human_bytes(c.bytes)) for c in components]
    return _grid(("component", "class", "params", "bytes"), rows, ("left", "left", "right", "right"), room)


def _variants(variants: Sequence[Variant], room: int) -> RenderableType:
    """Each quant of a multi-quant repo: size, bits per weight, memory at the scan's context."""
    rows = [
        (v.quant or v.name, human_bytes(v.bytes), f"{v.bits_per_weight:.2f}" if v.bits_per_weight else "?",
         human_bytes(v.total_bytes), "← read" if v.chosen else "")
        for v in variants
    ]  # fmt: skip
    header = ("quant", "file size", "bpw", "memory", "")
    return _grid(header, rows, ("left", "right", "right", "right", "left"), room)


def _matrix(rows: Sequence[FitRow], v: Verdict, *, compact: bool, room: int) -> Group:
    """Precision × shown GPUs: the largest context that fits each cell; ✓ where the asked context fits."""
    where = "your" if v.context_asked else "the model's"
    caption = Text(
        f"largest context that fits (tokens) at batch {v.batch}, {v.engine} engine; ✓ = fits {where} "
        f"context {v.context:,}, ✗ = not even 1 token",
        style="dim",
    )
    header = [""]
    for fit in rows[0].fits:
        model, _, size = fit.gpu.name.replace("RTX ", "").replace(" SXM", "").rpartition(" ")
        header.append(f"{model or size}\n{size if model else ''}")
    cells: list[list[str | Text]] = []
    for row in rows:
        longest = row.max_context or (None,) * len(row.fits)
        cells.append([row.precision, *(_cell(f, n, compact) for f, n in zip(row.fits, longest, strict=True))])
    return Group(caption, _grid(header, cells, ["left"] + ["right"] * len(rows[0].fits), room))


def _cell(fit: Fit, longest: int | None, compact: bool) -> Text:
    if longest is None:
        return Text("✗", style="red")
    if fit.fits:
        return Text(f"✓ {tokens_short(longest, compact=compact)}", style="green")
    return Text(tokens_short(longest, compact=compact), style="yellow")


GRID_LABEL_ROOM = 18
"""What the outer table's label column takes at most (longest label + its padding): a nested grid laid out by hand
must fit in the rest."""


def _grid(
    header: Sequence[str], rows: Sequence[Sequence[str | Text]], justify: Sequence[str], room: int
) -> RenderableType:
    """A headed grid without borders, one space either side of each cell: laid out here when it fits in `room`
    columns, else by rich. Same text as rich's own `Table(box=None, pad_edge=False, padding=(0, 1))`; laying it out
    by hand is about 10× faster (rich measures every cell of every nested table), which matters for a batch of
    thousands of results. rich still handles the grid that needs squeezing, so narrow terminals look as before."""
    head = [h.split("\n") for h in header]
    cells = [[c if isinstance(c, Text) else Text(c) for c in row] for row in rows]
    widths = [max([cell_len(line) for line in head[i]] + [c[i].cell_len for c in cells]) for i in range(len(header))]
    if sum(widths) + 2 * (len(widths) - 1) > room:
        grid = Table(box=None, pad_edge=False, padding=(0, 1), show_header=True, header_style="dim")
        for name, how in zip(header, justify, strict=True):
            grid.add_column(name, justify=how, no_wrap=True)  # type: ignore[arg-type]
        for row in rows:
            grid.add_row(*row)
        return grid
    lines: list[Text] = []
    for k in range(max(len(h) for h in head)):  # a header cell may span lines
        lines.append(_line([Text(h[k] if k < len(h) else "", style="dim") for h in head], widths, justify))
    lines += [_line(row, widths, justify) for row in cells]
    return Text("\n").join(lines)


def _line(cells: Sequence[Text], widths: Sequence[int], justify: Sequence[str]) -> Text:
    """One grid line: cells padded to their column (right- or left-justified), two spaces apart."""
    out = Text()
    for i, (cell, width, how) in enumerate(zip(cells, widths, justify, strict=True)):
        if i:
            out.append("  ")
        gap = " " * (width - cell.cell_len)
        if how == "right":
            out.append(gap)
            out.append_text(cell)
        else:
            out.append_text(cell)
            out.append(gap)
    return out
