"""Renderers: results in, text out. One module per format; each exposes `render(results, options) -> str`."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import import_module

from cardscan.result import ScanResult

# Format name → module under cardscan.render (imported only when used: rich is slow to import).
FORMATS: dict[str, str] = {
    "table": "table",
    "json": "json",
    "csv": "csv",
    "markdown": "markdown",
    "html": "html",
}


def render(results: Sequence[ScanResult], fmt: str = "table", options=None) -> str:
    """Render results in one of FORMATS."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    module = import_module(f"cardscan.render.{FORMATS[fmt]}")
    return module.render(results, options) if fmt != "json" else module.render(results)
