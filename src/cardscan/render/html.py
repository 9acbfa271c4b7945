"""Results → one self-contained HTML page with charts: inline CSS, inline vanilla JS and inline SVG, nothing fetched.

The page is built from plain data: `chart_data(result)` is everything one repo's section shows (the series of every
chart, the fit matrix, claims, facts, notes), embedded once as JSON; the inline script draws each section from it
(lazily on long pages, all at once before printing). The summary tiles and the sortable, filterable table are real
HTML, so a reader without JavaScript still gets the overview. An audit page (`render(..., audit=data)`) adds the
audit's tiles, violation and change badges, the diff against the last run and a trend per repo, from a plain dict
whose shape is `AuditData` below (docs/output-formats.md).

Renderers never call the estimator: memory against context comes from `ScanResult.curves` (estimate/curves.py).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from html import escape
from typing import Any, TypedDict

from cardscan.render import markdown as md
from cardscan.render.html_assets import CSS, JS
from cardscan.render.units import count, human_bytes, quant_label
from cardscan.result import ScanResult

# Pages with more results than this draw each section when it scrolls into view (load stays fast at 1,000 repos).
EAGER_SECTIONS = 30
# Fact rows (markdown.fact_rows labels) the section already shows as figures, bars or the claims table.
_SHOWN_ELSEWHERE = ("Parameters", "By dtype", "Stored weights", "Bits per weight", "Card claims", "Agreement:",
                    "License", "Quantization")  # fmt: skip
# Components of `Parameters.by_component` as the breakdown names them.
_COMPONENT_LABELS = {"language": "language", "vision": "vision", "audio": "audio", "projector": "projector"}


class AuditTile(TypedDict, total=False):
    """One summary tile of an audit page."""

    label: str
    value: int | str
    kind: str  # info | ok | warning | error | changed: the tile's badge colour (its label says it too)
    title: str  # how the figure was derived (tooltip)


class AuditViolation(TypedDict, total=False):
    """One broken policy rule of one repo."""

    rule: str
    severity: str  # error | warning
    message: str


class AuditChange(TypedDict, total=False):
    """One difference against the last run (a repo's field, or a repo new/removed)."""

    repo: str
    field: str  # new | removed | commit | parameters | dtypes | quantization | weights_bytes | licence | gated | status
    before: Any
    after: Any


class AuditRow(TypedDict, total=False):
    """The audit's verdict on one repo; `repo` matches a result's repo_id."""

    repo: str
    status: str  # ok | violation | warning | error | unchanged
    violations: list[AuditViolation]
    changes: list[AuditChange]


class AuditTrendPoint(TypedDict, total=False):
    """One past run of one repo."""

    run: str  # run id or date, as the history stores it
    weights_bytes: int | None
    commit: str | None


class AuditData(TypedDict, total=False):
    """What `audit_report_data(run)` hands this renderer (every key optional)."""

    title: str
    run: dict[str, Any]  # id, started, previous, policy: shown in the header as text
    tiles: list[AuditTile]
    rows: list[AuditRow]
    diff: list[AuditChange]
    trend: dict[str, list[AuditTrendPoint]]


def render(results: Sequence[ScanResult], *, audit: Mapping[str, Any] | None = None) -> str:
    """The whole page for one repo, a batch, or (with `audit`) an audit run."""
    data = page_data(results, audit)
    title = data["title"]
    blob = json.dumps(compact_page(data), separators=(",", ":"), ensure_ascii=False).replace("<", "\\u003c")
    tiles = _tiles(data["tiles"]) if data["kind"] != "repo" else ""
    body = [_header(data), tiles, _diff(data), _table(data), _sections(data)]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        # Nothing may load from anywhere: no fonts, images, scripts or styles outside this file.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; img-src data:\">\n"
        f'<meta name="color-scheme" content="light dark">\n<title>{escape(title)}</title>\n'
        f"<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(part for part in body if part)
        + f'\n<script type="application/json" id="cardscan-data">{blob}</script>\n<script>{JS}</script>\n'
        "</body>\n</html>\n"
    )


# ---- data (plain values; golden-tested) ----------------------------------------------------------------------


def page_data(
    results: Sequence[ScanResult], audit: Mapping[str, Any] | None = None, *, compact: bool = False
) -> dict[str, Any]:
    """Everything the page shows: tiles, one entry per result (chart_data + its audit row and trend), the diff.

    `compact=True` gives what the page embeds (`compact_page`)."""
    audit = audit or {}
    rows = {row.get("repo"): row for row in audit.get("rows", ())}
    trend = audit.get("trend", {}) or {}
    repos = []
    for i, r in enumerate(results):
        entry = {"id": f"r{i}", **chart_data(r)}
        key = r.repo_id or r.input
        if key in rows:
            entry["audit"] = dict(rows[key])
        if key in trend:
            entry["trend"] = list(trend[key])
        repos.append(entry)
    title = audit.get("title") or ("cardscan audit" if audit else "cardscan report")
    data = {
        "title": title,
        "kind": "audit" if audit else ("repo" if len(results) == 1 else "batch"),
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "run": dict(audit.get("run", {}) or {}),
        "tiles": list(audit.get("tiles", ())) or _batch_tiles(results),
        "diff": list(audit.get("diff", ())),
        "eager": len(results) <= EAGER_SECTIONS,
        "repos": repos,
    }
    return compact_page(data) if compact else data


def compact_page(data: Mapping[str, Any]) -> dict[str, Any]:
    """The page data as embedded: what repos share is stored once and byte series shrink to MiB.

    The GPU lines (`gpus`), derivation notes and context grids (`texts`) and run ids (`runs`) are referenced by
    index; series bytes become MiB (integers); a limit's `fits` flag is dropped (it is max_context ≥ context) and a
    max_context equal to the chart's end is -1; a
    trend's commit is kept only where it changed; the name, title and empty values are left out (the HTML has
    them). The script expands it back (`expand` in html_assets.JS) and draws `chart_data` with bytes to 1 MiB.
    """
    shared = _Shared()
    repos = [shared.compact(e) for e in data["repos"]]
    return {**data, "mib": True, "gpus": shared.gpus, "texts": shared.texts.keys_list(),
            "runs": shared.runs.keys_list(), "repos": repos}  # fmt: skip


class _Index(dict[Any, int]):
    """Strings (or keys) → their position in a shared list."""

    def at(self, key: Any) -> int:
        return self.setdefault(key, len(self))

    def keys_list(self) -> list[Any]:
        return list(self)


class _Shared:
    """What many repos of a page have in common, stored once."""

    def __init__(self) -> None:
        self.gpus: list[dict[str, Any]] = []
        self._gpu_index = _Index()
        self.texts = _Index()
        self.runs = _Index()

    def compact(self, entry: dict[str, Any]) -> dict[str, Any]:
        # The section's heading and the table row are HTML already; unknown and empty values are left out.
        entry = {k: v for k, v in entry.items() if k not in ("name", "title", "status") and v not in (None, [], {})}
        entry["row"] = {k: v for k, v in entry["row"].items() if v is not None and k != "status"}
        if "trend" in entry:
            entry["trend"] = self.trend(entry["trend"])
        m = entry.get("memory")
        if not m:
            return entry
        gpus = [self._gpu(g) for g in m["gpus"]]
        end = m["max_context"]
        series = [{**s, "weights": _mib(s["weights"]), "totals": [_mib(t) for t in s["totals"]],
                   "at": [_mib(a) for a in s["at"]], "limits": [[-1 if lim[0] == end else lim[0], lim[1]] for lim in s["limits"]]}
                  for s in m["series"]]  # fmt: skip
        notes = [self.texts.at(t) for t in m["notes"]]
        contexts = self.texts.at(tuple(m["contexts"]))
        return {**entry, "memory": {**m, "gpus": gpus, "series": series, "notes": notes, "contexts": contexts}}

    def _gpu(self, g: Mapping[str, Any]) -> int:
        key = (g["name"], g["usable"], g["budget"], g["chosen"])
        if key not in self._gpu_index:
            self.gpus.append(dict(g))
        return self._gpu_index.at(key)

    def trend(self, points: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
        """Runs as indices into `runs`, weights in MiB, commits cut to 12 characters."""
        return {"run": [self.runs.at(str(p.get("run", ""))) for p in points],
                "w": [_mib(p.get("weights_bytes")) for p in points],
                "commit": _changes([(str(p["commit"])[:12] if p.get("commit") else None) for p in points])}  # fmt: skip


def _changes(commits: list[str | None]) -> list[str | None]:
    """Each commit only where it differs from the run before (None: unchanged): the trend marks the changes."""
    return [c if i == 0 or c != commits[i - 1] else None for i, c in enumerate(commits)]


def _mib(n: int | None) -> int | None:
    return None if n is None else round(n / (1 << 20))


def chart_data(r: ScanResult) -> dict[str, Any]:
    """One repo's section as plain values: the summary row, facts, and the series of every chart."""
    data: dict[str, Any] = {"name": r.repo_id or r.input, "title": md.title(r), "status": "ok" if r.ok else "error"}
    data["row"] = _row(r)
    if r.error is not None:
        data["error"] = {"code": r.error.code, "message": r.error.message}
        return data
    data["facts"] = [list(row) for row in md.fact_rows(r) if not row[0].startswith(_SHOWN_ELSEWHERE)]
    data["memory"] = _memory(r)
    data["fit_text"] = _fit_text(r)
    data["params"] = _params(r)
    data["claims"] = _claims(r)
    data["quants"] = _quants(r)
    data["notes"] = list(r.notes)
    data["warnings"] = list(r.warnings)
    return data


def _row(r: ScanResult) -> dict[str, Any]:
    """The table's cells as raw values (sorting) and display text."""
    p, w, m, c = r.parameters, r.weights, r.memory, r.curves
    base = _base(r)
    if base is not None and base.memory is not None:  # an adapter: memory is the base model's plus its weights
        c = base.curves
        m = dataclasses.replace(base.memory, total_bytes=base.memory.total_bytes + _adapter_bytes(r))
    fitting = _fitting_gpus(c) if c is not None else []
    return {
        "params": p.total if p else None,
        "bpw": round(w.bits_per_weight, 2) if w and w.bits_per_weight else None,
        "weights": w.bytes if w else None,
        "memory": m.total_bytes if m is not None else None,
        "context": m.context if m is not None else None,
        "fits": len(fitting),
        "of": len(c.gpus) if c is not None else 0,
        "smallest": fitting[0] if fitting else None,
        "licence": (r.card.license if r.card is not None else None) or None,
        "quant": quant_label(r.quantization) if r.quantization is not None else None,
        "status": "ok" if r.ok else f"error: {r.error.code}" if r.error else "ok",
    }


def _fitting_gpus(c: Any) -> list[str]:
    """GPUs the stored weights fit at the chosen context, smallest budget first."""
    stored = c.curves[0] if c.curves else None
    if stored is None:
        return []
    ok = {lim.gpu for lim in stored.limits if lim.fits}
    return [g.name for g in sorted(c.gpus, key=lambda g: g.budget_bytes) if g.name in ok]


def _base(r: ScanResult) -> ScanResult | None:
    """The scanned base model of an adapter repo without its own estimate (the charts show the base)."""
    b = r.base
    if r.curves is None and r.adapter is not None and b is not None and b.curves is not None and b.memory is not None:
        return b
    return None


def _adapter_bytes(r: ScanResult) -> int:
    return (r.adapter.bytes or 0) if r.adapter is not None else 0


def _memory(r: ScanResult) -> dict[str, Any] | None:
    """Memory against context per precision, the GPU lines, and each precision's limits on each GPU."""
    base = _base(r)
    source = base if base is not None else r
    c = source.curves
    if c is None:
        return None
    notes = [*c.notes, *(source.memory.notes if source.memory is not None else ())]
    if base is not None:
        notes.insert(0, f"the base model's curves ({base.repo_id}); the adapter adds {_adapter_bytes(r):,} bytes")
    return {
        "engine": c.engine, "batch": c.batch, "context": c.context, "max_context": c.max_context,
        "kv_dtype": c.kv_dtype, "tp": c.tp,
        "contexts": [p.context for p in c.curves[0].points] if c.curves else [],
        "gpus": [{"name": g.name, "usable": g.usable_bytes, "budget": g.budget_bytes, "chosen": g.chosen}
                 for g in c.gpus],
        "series": [_series(s) for s in c.curves],
        "notes": notes,
    }  # fmt: skip


def _fit_text(r: ScanResult) -> str | None:
    """The estimate's verdict on the catalogue GPUs (or the one chosen), as the Markdown report words it."""
    if not r.fits:
        return None
    if len(r.fits) == 1:
        return md.fit_detail(r.fits[0])
    yes, no = md.fit_lists(r)
    n = len(r.fits)
    if not no:
        return f"Fits all {n} catalogue GPUs at this context."
    if not yes:
        return f"Fits none of the {n} catalogue GPUs at this context."
    if len(no) < len(yes):  # name the shorter list
        return f"Fits {len(yes)} of {n} catalogue GPUs at this context; not: {', '.join(no)}."
    return f"Fits {len(yes)} of {n} catalogue GPUs at this context: {', '.join(yes)}."


def _series(s: Any) -> dict[str, Any]:
    at = s.at_context
    return {
        "key": s.precision,
        "label": s.label,
        "weights": s.weights_bytes,
        "totals": [p.total_bytes for p in s.points],
        "at": [at.weights_bytes, at.kv_cache_bytes, at.activations_bytes, at.overhead_bytes, at.total_bytes],
        "limits": [[lim.max_context, lim.max_batch, lim.fits] for lim in s.limits],
    }


def _params(r: ScanResult) -> dict[str, Any] | None:
    """Two stacked bars: parameters by component (language / vision / experts / MTP) and by stored dtype."""
    p = r.parameters
    if p is None or not p.total:
        return None
    components: list[list[Any]] = [[_COMPONENT_LABELS.get(k, k), v] for k, v in p.by_component.items() if v]
    if not components and p.active and p.active < p.total:
        components = [["used per token (active)", p.active], ["other experts", p.total - p.active]]
    if not components:
        components = [["model", p.total]]
    if p.mtp:
        components.append(["MTP (not in the total)", p.mtp])
    bars = [{"title": "by component", "segments": components}]
    if p.by_dtype:
        bars.append({"title": "by stored dtype", "segments": [[k, v] for k, v in p.by_dtype.items() if v]})
    return {"total": p.total, "active": p.active, "source": p.source, "bars": bars}


def _claims(r: ScanResult) -> list[dict[str, Any]]:
    """Each agreement row beside the headers' figure, with the card snippets that made the claim."""
    card = r.card
    if card is None or not card.present:
        return []
    evidence = list(getattr(card, "evidence", ()) or ())
    rows = []
    for a in r.agreement:
        snippets = [{"source": e.source, "text": e.text} for e in evidence if e.field == a.field or
                    (a.field == "quantization" and e.field.startswith("quant"))]  # fmt: skip
        if a.status == "unknown" and a.claimed is None and not snippets:
            continue
        rows.append({"field": a.field, "claimed": _claim_text(a.field, a.claimed),
                     "observed": _claim_text(a.field, a.observed), "status": a.status, "note": a.note,
                     "snippets": snippets[:2]})  # fmt: skip
    return rows


def _claim_text(field: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and field.endswith("parameters"):
        return f"{count(value)} ({value:,})"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def _quants(r: ScanResult) -> dict[str, Any] | None:
    """Every quant of a multi-quant (GGUF) repo: bits per weight against memory, and which GPU lines it is under."""
    if not r.variants:
        return None
    budgets = [(g.name, g.budget_bytes) for g in r.curves.gpus] if r.curves is not None else []
    points = []
    for v in r.variants:
        fits = [v.total_bytes is not None and v.total_bytes <= b for _, b in budgets]
        points.append({"label": v.quant or v.name, "bpw": v.bits_per_weight, "file": v.bytes,
                       "memory": v.total_bytes, "chosen": v.chosen, "fits": fits})  # fmt: skip
    context = r.memory.context if r.memory is not None else None
    return {"context": context, "gpus": [name for name, _ in budgets], "points": points}


def _batch_tiles(results: Sequence[ScanResult]) -> list[dict[str, Any]]:
    errors = sum(1 for r in results if not r.ok)
    params = sum(r.parameters.total or 0 for r in results if r.parameters)
    return [
        {"label": "repos", "value": len(results), "kind": "info", "title": "results on this page"},
        {"label": "scanned", "value": len(results) - errors, "kind": "ok", "title": "scans that succeeded"},
        {"label": "errors", "value": errors, "kind": "error" if errors else "ok", "title": "scans that failed"},
        {"label": "parameters", "value": count(params), "kind": "info", "title": "sum of logical parameters"},
    ]


# ---- HTML (escaped text and layout only) -----------------------------------------------------------------------


def _header(data: Mapping[str, Any]) -> str:
    run = data.get("run") or {}
    bits = [f"{escape(str(k))} <b>{escape(str(v))}</b>" for k, v in run.items() if v not in (None, "")]
    meta = " · ".join([*bits, f"generated {escape(data['generated'])}"])
    return (
        f'<header><h1>{escape(data["title"])}</h1><p class="muted">{meta}</p>'
        "<noscript><p>Charts and repo sections are drawn by the page's inline script; the tables work without it."
        "</p></noscript></header>"
    )


def _tiles(tiles: Sequence[Mapping[str, Any]]) -> str:
    items = []
    for t in tiles:
        kind = escape(str(t.get("kind", "info")))
        items.append(f'<li class="tile {kind}" title="{escape(str(t.get("title", "")))}"><span class="v">'
                     f'{escape(str(t.get("value", "")))}</span> <span class="l">{escape(str(t.get("label", "")))}'
                     "</span></li>")  # fmt: skip
    return f'<ul class="tiles" aria-label="summary">{"".join(items)}</ul>'


# (key, heading, kind, how the column is derived): kind "num" sorts by the raw value in data-v, "text" by the text.
_COLUMNS = (
    ("name", "Repo", "text", "repo id; links to its section"),
    ("params", "Parameters", "num", "logical parameters (packed formats unpacked)"),
    ("bpw", "Bits/weight", "num", "stored weight bytes × 8 / parameters"),
    ("weights", "Weights", "num", "stored tensor bytes (GiB = 2^30 B)"),
    ("memory", "Memory", "num", "weights + KV cache + activations + overhead per GPU at the scan's context"),
    ("fits", "Fits", "num", "GPUs of the drawn set the stored weights fit at the scan's context, and the smallest"),
    ("licence", "Licence", "text", "model card YAML licence"),
    ("status", "Status", "status", "scan result, policy violations and changes since the last run"),
)


def _table(data: Mapping[str, Any]) -> str:
    if data["kind"] == "repo":
        return ""
    contexts = {e["row"]["context"] for e in data["repos"] if e["row"].get("context")}
    at = f" at {next(iter(contexts)):,} tokens" if len(contexts) == 1 else ""
    head = "".join(
        f'<th scope="col" data-key="{key}" data-type="{kind}" aria-sort="none" title="{escape(tip)}">'
        f'<button type="button">{label}{at if key == "memory" else ""}<span class="arrow" aria-hidden="true"></span>'
        "</button></th>"
        for key, label, kind, tip in _COLUMNS
    )
    trend = (
        '<th scope="col" title="stored weight bytes per run; dots: a new commit">Trend</th>'
        if data["kind"] == "audit"
        else ""
    )
    rows = "\n".join(_table_row(e, data["kind"] == "audit", not at) for e in data["repos"])
    return (
        '<section class="overview"><h2 id="overview">Repos</h2><div class="controls" role="search">'
        '<label>Filter <input type="search" id="filter" placeholder="name, licence, status…"></label> '
        '<label>Status <select id="status-filter"><option value="">all</option><option>ok</option>'
        "<option>error</option><option>violation</option><option>changed</option></select></label> "
        '<span id="shown" aria-live="polite"></span></div>'
        f'<div class="scroll"><table id="repos" class="repos"><caption>One row per repo; select a column heading to '
        f"sort, type to filter.</caption><thead><tr>{head}{trend}</tr></thead><tbody>\n{rows}\n</tbody></table>"
        "</div></section>"
    )


def _table_row(e: Mapping[str, Any], audit: bool, own_context: bool) -> str:
    row = e["row"]
    status, badges, tags = _status(e)
    ctx = f"<small>at {row['context']:,}</small>" if own_context and row.get("context") else ""
    smallest = f"<small>{escape(row['smallest'])}</small>" if row.get("smallest") else ""
    cells = [
        (None, f'<a href="#{e["id"]}">{escape(e["name"])}</a>'),
        (row["params"], escape(count(row["params"])) if row["params"] else ""),
        (row["bpw"], f"{row['bpw']:.2f}" if row["bpw"] else ""),
        (row["weights"], escape(human_bytes(row["weights"])) if row["weights"] else ""),
        (row["memory"], escape(human_bytes(row["memory"])) + ctx if row["memory"] else ""),
        (row["fits"] if row["of"] else None, f"{row['fits']}/{row['of']}{smallest}" if row["of"] else ""),
        (None, escape(row["licence"] or "")),
        (status, badges),
    ]
    tds = "".join(
        f"<td>{html}</td>" if kind == "text" else
        f'<td data-v="{"" if v is None else escape(str(v))}"{" class=num" if kind == "num" else ""}>{html}</td>'
        for (v, html), (_, _, kind, _) in zip(cells, _COLUMNS, strict=True)
    )  # fmt: skip
    trend = "<td class=trend></td>" if audit else ""
    return f'<tr id="row-{e["id"]}" data-tags="{escape(" ".join(tags))}">{tds}{trend}</tr>'


def _status(e: Mapping[str, Any]) -> tuple[str, str, list[str]]:
    """Status word (sort key), its badges as HTML, and the filter tags of a table row."""
    audit = e.get("audit") or {}
    tags = ["ok" if e["status"] == "ok" else "error"]
    badges = [_badge("ok", "ok") if e["status"] == "ok" else _badge("error", e["row"]["status"])]
    violations = audit.get("violations") or []
    if violations:
        tags.append("violation")
        rules = ", ".join(str(v.get("rule", "?")) for v in violations)
        kind = "error" if any(v.get("severity", "error") == "error" for v in violations) else "warning"
        badges.append(_badge(kind, f"{len(violations)} violation{'s' if len(violations) > 1 else ''}", rules))
    changes = audit.get("changes") or []
    if changes:
        tags.append("changed")
        fields = ", ".join(str(c.get("field", "?")) for c in changes)
        badges.append(_badge("changed", "changed", fields))
    word = "violation" if violations else ("error" if e["status"] != "ok" else "ok")
    return word, " ".join(badges), tags


def _badge(kind: str, text: str, title: str = "") -> str:
    mark = {"ok": "✓", "error": "✗", "warning": "!", "changed": "Δ"}.get(kind, "•")
    tip = f' title="{escape(title)}"' if title else ""
    return f'<span class="badge {kind}"{tip}><span aria-hidden="true">{mark}</span> {escape(text)}</span>'


def _diff(data: Mapping[str, Any]) -> str:
    diff = data.get("diff") or []
    if data["kind"] != "audit":
        return ""
    if not diff:
        return '<section class="diff"><h2 id="diff">Changes since the last run</h2><p>None.</p></section>'
    ids = {e["name"]: e["id"] for e in data["repos"]}
    rows = "".join(
        f"<tr><td>{_repo_link(str(c.get('repo', '')), ids)}</td><td>{_badge('changed', str(c.get('field', '')))}</td>"
        f"<td>{escape(_plain(c.get('before')))}</td><td>{escape(_plain(c.get('after')))}</td></tr>"
        for c in diff
    )
    return (
        '<section class="diff"><h2 id="diff">Changes since the last run</h2><div class="scroll"><table class="diff">'
        f"<caption>{len(diff)} change{'s' if len(diff) != 1 else ''} against the previous run</caption><thead><tr>"
        '<th scope="col">Repo</th><th scope="col">What</th><th scope="col">Before</th><th scope="col">After</th>'
        f"</tr></thead><tbody>{rows}</tbody></table></div></section>"
    )


def _repo_link(name: str, ids: Mapping[str, str]) -> str:
    return f'<a href="#{ids[name]}">{escape(name)}</a>' if name in ids else escape(name)


def _plain(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 1 << 20:
        return f"{human_bytes(value)} ({value:,})" if value < 10**9 or value % 1024 == 0 else f"{value:,}"
    return str(value)


def _sections(data: Mapping[str, Any]) -> str:
    """One empty section per repo (title and a one-line summary as text); the script draws the rest into it."""
    parts = []
    for e in data["repos"]:
        row = e["row"]
        line = (f"error {e['error']['code']}: {e['error']['message']}" if "error" in e else
                " · ".join(x for x in (count(row["params"]) + " parameters" if row["params"] else "",
                                       human_bytes(row["memory"]) + " at context" if row["memory"] else "") if x))  # fmt: skip
        lede = f'<p class="lede">{escape(line)}</p>' if data["eager"] else ""  # long pages: the table says it
        parts.append(f'<section class="repo" id="{e["id"]}"><h2>{escape(e["title"])}</h2>{lede}'
                     '<div class="body"></div></section>')  # fmt: skip
    return '<main id="sections">' + "\n".join(parts) + "</main>"
