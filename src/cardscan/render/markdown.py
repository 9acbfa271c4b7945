"""Results → a GitHub-flavoured Markdown report (PR comments, wiki pages).

The plain-text rows built here (facts, memory breakdown, fit lists, summary) are public so the HTML renderer shows the
same values; each format only adds its own escaping and layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

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
)  # fmt: skip
from cardscan.result import ModelFacts, Parameters, ScanResult, Weights

if TYPE_CHECKING:
    from cardscan.estimate.capacity import FitRow
    from cardscan.estimate.engines import MemoryEstimate
    from cardscan.estimate.fit import Fit
    from cardscan.estimate.verdict import Verdict
    from cardscan.parse.card import CardInfo

Row = tuple[str, str]

# Summary table columns (one row per result); `summary_row` returns cells in this order.
SUMMARY_COLUMNS = ("Model", "Parameters", "Bits/weight", "Quantization", "Total memory", "Status")
# Alternatives named before the list is cut short (repos can hold dozens of GGUF variants).
MAX_ALTERNATIVES = 6


def render(results: Sequence[ScanResult]) -> str:
    """The whole report: a summary table when there are several results, then one section per result."""
    parts = ["# cardscan report", ""]
    if len(results) > 1:
        parts += ["## Summary", "", *table(SUMMARY_COLUMNS, [summary_row(r) for r in results]), ""]
    for r in results:
        section = _section(r)
        while section and not section[-1]:
            section.pop()
        parts += [*section, ""]
    return "\n".join(parts).rstrip("\n") + "\n"


# ---- plain-text rows (shared with the HTML renderer) ---------------------------------------------------------


def title(r: ScanResult) -> str:
    """Repo id (or input), the revision and the short commit."""
    name = r.repo_id or r.input
    if r.commit:
        return f"{name} @ {r.revision or 'main'} ({r.commit[:12]})"
    return f"{name} @ {r.revision}" if r.revision else name


def summary_row(r: ScanResult) -> list[str]:
    """One result's cells in SUMMARY_COLUMNS order."""
    name = r.repo_id or r.input
    if r.error is not None:
        return [name, "", "", "", "", f"error: {r.error.code}"]
    p, w, m = r.parameters, r.weights, r.memory
    return [
        name,
        count(p.total) if p and p.total else "?",
        f"{w.bits_per_weight:.2f}" if w and w.bits_per_weight else "?",
        quant_label(r.quantization) if r.quantization is not None else ("none" if w and w.bytes else "?"),
        gib(m.total_bytes) if m is not None else "?",
        "ok",
    ]


def fact_rows(r: ScanResult) -> list[Row]:
    """What the model is: architecture, parameters, stored weights, quantization, card claims, capacity, cost."""
    rows: list[Row] = []
    if r.verdict is not None and r.verdict.gpus:
        rows += [("Verdict", line) for line in verdict_lines(r.verdict)]
    if r.input != r.repo_id:
        rows.append(("Input", r.input))
    if r.model is not None:
        rows += _model_rows(r.model)
    if r.parameters is not None:
        rows += _parameter_rows(r.parameters)
    if r.weights is not None:
        rows += _weight_rows(r, r.weights)
    if r.card is not None:
        rows += _card_rows(r, r.card)
    if r.verdict is not None:
        rows.append(("Rule of thumb", quick_rule_text(r.verdict)))
    if r.capacity is not None:
        rows.append(("Capacity", capacity_text(r.capacity)))
    if r.training is not None:
        rows.append(("Fine-tuning", training_text(r.training)))
    if r.io is not None:
        io = r.io
        rows.append(("Scan cost", f"{io.requests} requests, {human_bytes(io.bytes_read)} read, {io.seconds:.2f} s"))
    return rows


def memory_heading(m: MemoryEstimate) -> str:
    """The assumptions behind the breakdown: engine, context, batch, KV dtype, TP."""
    tp = f" · TP {m.tp} (per GPU)" if m.tp > 1 else ""
    return f"{m.engine} · context {m.context:,} · batch {m.batch} · KV {m.kv_dtype}{tp}"


def memory_rows(r: ScanResult) -> list[tuple[str, str, str]]:
    """(component, GiB, exact bytes) for the inference breakdown, total last."""
    m = r.memory
    if m is None:
        return []
    parts = [("Weights", m.weights_bytes), ("KV cache", m.kv_cache_bytes), ("Activations", m.activations_bytes),
             ("Overhead", m.overhead_bytes)]  # fmt: skip
    rows = [(name, gib(n), f"{n:,}") for name, n in parts]
    rows.append(("Total", gib(m.total_bytes), f"{m.total_bytes:,}"))
    if m.host_bytes:
        rows.append(("Host (CPU) memory", gib(m.host_bytes), f"{m.host_bytes:,}"))
    return rows


def kv_text(m: MemoryEstimate) -> str:
    """KV cache cost per token and per 1k tokens."""
    per_token = int(m.kv_bytes_per_token)
    return f"{human_bytes(per_token)}/token ({human_bytes(per_token * 1000)} per 1k tokens)"


def precision_rows(r: ScanResult) -> list[tuple[str, str, str]]:
    """(precision, weights, quick rule params × bytes × 2) at each reporting precision."""
    return [(k, gib(v), gib(r.rule_of_thumb_bytes.get(k))) for k, v in r.precision_bytes.items()]


def matrix_rows(rows: Sequence[FitRow]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the fit matrix: the largest context per GPU × precision, ✓ where the asked context fits."""
    header = ["Precision", *(f.gpu.name for f in rows[0].fits)] if rows else []
    body = []
    for row in rows:
        longest = row.max_context or (None,) * len(row.fits)
        cells = [
            "✗" if n is None else ("✓ " if f.fits else "") + tokens_short(n)
            for f, n in zip(row.fits, longest, strict=True)
        ]
        body.append([row.precision, *cells])
    return header, body


def matrix_caption(v: Verdict) -> str:
    """What the matrix assumes: batch, engine and the context ✓ refers to."""
    where = "your" if v.context_asked else "the model's"
    return (f"Largest context that fits (tokens) at batch {v.batch} with the {v.engine} engine; "
            f"✓ = fits {where} context {v.context:,}; ✗ = not even one token.")  # fmt: skip


def fit_lists(r: ScanResult) -> tuple[list[str], list[str]]:
    """GPU names that fit and that do not, in catalogue order."""
    return [f.gpu.name for f in r.fits if f.fits], [f.gpu.name for f in r.fits if not f.fits]


def fit_detail(fit: Fit) -> str:
    """One GPU's verdict with the margin: `RTX 4090 24GB: fits, 6.27 GiB free (73% of usable memory)`."""
    verdict = f"fits, {gib(fit.free_bytes)} free" if fit.fits else f"does not fit, {gib(-fit.free_bytes)} short"
    return f"{fit.gpu.name}: {verdict} ({fit.utilization:.0%} of usable memory)"


def _model_rows(m: ModelFacts) -> list[Row]:
    rows = [("Architecture", " / ".join(x for x in (m.architecture, m.model_type) if x) or "?")]
    shape = model_shape(m)
    if m.vocab_size:
        shape.append(f"vocab {m.vocab_size:,}")
    if shape:
        rows.append(("Shape", " · ".join(shape)))
    if m.max_context:
        rows.append(("Max context", f"{m.max_context:,}"))
    if m.dtype:
        rows.append(("Config dtype", m.dtype))
    return rows


def _parameter_rows(p: Parameters) -> list[Row]:
    total = f"{count(p.total)} ({p.total:,}) from {p.source}" if p.total else f"unknown (source {p.source})"
    rows = [("Parameters", total)]
    if p.active:
        rows.append(("Active per token", f"{count(p.active)} ({p.active:,})"))
    if p.by_dtype:
        rows.append(("By dtype", ", ".join(f"{k} {count(v)}" for k, v in p.by_dtype.items())))
    if p.mtp:
        rows.append(("MTP layers", f"{count(p.mtp)} (not in the total)"))
    if p.stored_elements and p.stored_elements != p.total:
        rows.append(("Hub-style count", f"{count(p.stored_elements)} ({p.stored_elements:,} stored elements)"))
    return rows


def _weight_rows(r: ScanResult, w: Weights) -> list[Row]:
    files = f" in {len(w.files)} {w.format} file{'s' if len(w.files) != 1 else ''}" if w.files else ""
    rows = [("Stored weights", f"{human_bytes(w.bytes)} ({w.bytes:,} B){files}" if w.bytes else "no weights read")]
    if w.bits_per_weight:
        rows.append(("Bits per weight", f"{w.bits_per_weight:.2f}"))
    q = r.quantization
    if q is not None:
        bpw = f", {q.bits_per_weight:.2f} bpw in quantized layers" if q.bits_per_weight else ""
        rows.append(("Quantization", f"{quant_label(q)} (from {q.source}{bpw})"))
    if w.alternatives:
        shown = ", ".join(f"{a.name} ({a.format}, {human_bytes(a.bytes)})" for a in w.alternatives[:MAX_ALTERNATIVES])
        more = len(w.alternatives) - MAX_ALTERNATIVES
        rows.append(("Not counted", shown + (f" +{more} more" if more > 0 else "")))
    return rows


def _card_rows(r: ScanResult, card: CardInfo) -> list[Row]:
    if not card.present:  # the repo name's claims are still checked
        return [("Model card", "none"), *_agreement_rows(r)]
    claims = []
    if card.parameters:
        claims.append(f"{count(card.parameters)} parameters")
    if card.active_parameters:
        claims.append(f"{count(card.active_parameters)} active")
    if card.quantization:
        cq = card.quantization
        parts = (cq.method or cq.scheme, f"{cq.bits:g}-bit" if cq.bits else None, f"via {cq.tool}" if cq.tool else None)
        claims.append(" ".join(x for x in parts if x) or "quantized")
    claims.extend(card.dtypes)
    rows = [("Card claims", ", ".join(claims) or "nothing measurable")]
    rows += _agreement_rows(r)
    if card.base_model:
        base = card.base_model if isinstance(card.base_model, str) else ", ".join(card.base_model)
        rows.append(("Base model", base + (f" ({card.base_model_relation})" if card.base_model_relation else "")))
    if card.license:
        rows.append(("License", card.license))
    return rows


def _agreement_rows(r: ScanResult) -> list[Row]:
    """The agreement rows JSON and CSV carry, by whom the claim was made (card or name)."""
    return [(f"Agreement: {a.field}", f"{a.status} ({a.note})") for a in r.agreement if a.status != "unknown"]


# ---- Markdown layout -----------------------------------------------------------------------------------------


def cell(text: object) -> str:
    """Text safe inside a table cell: pipes escaped and line breaks flattened (either would end the row); `<` as an
    entity so card text cannot open raw HTML on renderers that allow it."""
    text = str(text).replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
    return " ".join(text.split())


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """A GFM table, every row with the header's column count."""
    width = len(header)
    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * width]
    for row in rows:
        cells = [cell(c) for c in row][:width] + [""] * (width - len(row))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _section(r: ScanResult) -> list[str]:
    lines = [f"## {cell(title(r))}", ""]
    if r.error is not None:
        return [*lines, f"> **Error** `{r.error.code}`: {cell(r.error.message)}"]
    lines += [*table(("Fact", "Value"), fact_rows(r)), ""]
    if r.memory is not None:
        lines += [f"### Memory: {cell(memory_heading(r.memory))}", ""]
        lines += [*table(("Component", "Per GPU", "Bytes"), memory_rows(r)), ""]
        lines += [f"KV cache: {cell(kv_text(r.memory))}", ""]
    if r.precision_bytes:
        lines += ["### Weights by precision", ""]
        lines += [*table(("Precision", "Weights", "Quick rule (× 2)"), precision_rows(r)), ""]
    if r.fits:
        lines += ["### GPU fit", "", *_fit_bullets(r), ""]
    if r.fit_matrix and r.verdict is not None:
        header, body = matrix_rows(r.fit_matrix)
        lines += ["### Fit matrix", "", matrix_caption(r.verdict), "", *table(header, body), ""]
    lines += _bullets("Notes", [*r.notes, *(r.memory.notes if r.memory is not None else ())])
    lines += _bullets("Warnings", [f"⚠️ {w}" for w in r.warnings])
    return lines


def _fit_bullets(r: ScanResult) -> list[str]:
    if len(r.fits) == 1:  # the GPU the user chose: say by how much
        return [f"- {cell(fit_detail(r.fits[0]))}"]
    yes, no = fit_lists(r)
    return [f"- Fits: {cell(', '.join(yes) or 'none')}", f"- Does not fit: {cell(', '.join(no) or 'none')}"]


def _bullets(heading: str, items: Sequence[str]) -> list[str]:
    if not items:
        return []
    return [f"### {heading}", "", *(f"- {cell(item)}" for item in items), ""]
