"""Results → one self-contained HTML page: inline CSS, no scripts, no external fetches, so it works opened from disk.

Values come from the Markdown renderer's plain-text rows; every piece of text passes through `html.escape` here.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from cardscan.render import markdown as md
from cardscan.result import ScanResult

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin: 0 0 .5em; } h3 { font-size: 1em; margin: 1em 0 .3em; }
table { border-collapse: collapse; margin: .3em 0; }
th, td { border: 1px solid #ddd; padding: .2em .6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.card { border: 1px solid #ccc; border-radius: 6px; padding: 1em; margin: 1.5em 0; }
.error { color: #b00020; } .warn { color: #8a5a00; } .ok { color: #1a7f37; } .muted { color: #666; }
code { background: #f4f4f4; padding: 0 .2em; }
""".strip()
_NUM = ' class="num"'


def render(results: Sequence[ScanResult]) -> str:
    """The whole page: a summary table, then a card per result."""
    body = [
        "<h1>cardscan report</h1>",
        _summary(results),
        *(_card(i, r) for i, r in enumerate(results)),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>cardscan report</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _summary(results: Sequence[ScanResult]) -> str:
    rows = []
    for i, r in enumerate(results):
        cells = md.summary_row(r)
        name = f'<a href="#r{i}">{escape(cells[0])}</a>'
        status_class = "ok" if r.ok else "error"
        rest = "".join(f"<td{_NUM if j != 3 else ''}>{escape(c)}</td>" for j, c in enumerate(cells[1:5], 1))
        rows.append(f'<tr><td>{name}</td>{rest}<td class="{status_class}">{escape(cells[5])}</td></tr>')
    return _table(md.SUMMARY_COLUMNS, rows, "summary")


def _card(i: int, r: ScanResult) -> str:
    parts = [f'<section class="card" id="r{i}">', f"<h2>{escape(md.title(r))}</h2>"]
    if r.error is not None:
        parts.append(f'<p class="error">error <code>{escape(r.error.code)}</code>: {escape(r.error.message)}</p>')
        return "\n".join([*parts, "</section>"])
    parts.append(_table(("Fact", "Value"), [_row(label, value) for label, value in md.fact_rows(r)], "facts"))
    if r.memory is not None:
        parts.append(f"<h3>Memory: {escape(md.memory_heading(r.memory))}</h3>")
        parts.append(_table(("Component", "Per GPU", "Bytes"), [_row(*row) for row in md.memory_rows(r)], "memory"))
        parts.append(f'<p class="muted">KV cache: {escape(md.kv_text(r.memory))}</p>')
    if r.precision_bytes:
        parts.append("<h3>Weights by precision</h3>")
        rows = [_row(*row) for row in md.precision_rows(r)]
        parts.append(_table(("Precision", "Weights", "Quick rule (× 2)"), rows, "precision"))
    if r.fits:
        parts.append(_fits(r))
    parts.append(_list("Notes", [*r.notes, *(r.memory.notes if r.memory is not None else ())], ""))
    parts.append(_list("Warnings", r.warnings, "warn"))
    return "\n".join([*(p for p in parts if p), "</section>"])


def _fits(r: ScanResult) -> str:
    if len(r.fits) == 1:  # the GPU the user chose: say by how much
        fit = r.fits[0]
        return f'<h3>GPU fit</h3>\n<p class="{"ok" if fit.fits else "error"}">{escape(md.fit_detail(fit))}</p>'
    yes, no = md.fit_lists(r)
    return (
        "<h3>GPU fit</h3>\n"
        f'<p><span class="ok">Fits:</span> {escape(", ".join(yes) or "none")}</p>\n'
        f'<p><span class="error">Does not fit:</span> {escape(", ".join(no) or "none")}</p>'
    )


def _row(label: str, *values: str) -> str:
    cells = "".join(f'<td class="num">{escape(v)}</td>' if len(values) > 1 else f"<td>{escape(v)}</td>" for v in values)
    return f"<tr><th>{escape(label)}</th>{cells}</tr>"


def _table(header: Sequence[str], rows: Sequence[str], css_class: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    return f'<table class="{css_class}">\n<tr>{head}</tr>\n' + "\n".join(rows) + "\n</table>"


def _list(heading: str, items: Sequence[str], css_class: str) -> str:
    if not items:
        return ""
    attr = f' class="{css_class}"' if css_class else ""
    lis = "".join(f"<li>{escape(item)}</li>" for item in items)
    return f"<h3>{escape(heading)}</h3>\n<ul{attr}>{lis}</ul>"
