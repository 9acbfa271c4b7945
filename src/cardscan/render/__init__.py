"""Renderers: results in, text out. One module per format; each exposes `render(results) -> str`.

Adding a format is one module with `render(results: Sequence[ScanResult]) -> str` plus a line in FORMATS (or
`register()` from outside the package). Renderers read plain result values only; they never call the pipeline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the engine registry and renderer table are read at CLI start-up
    from cardscan.result import ScanResult


# Format name → module under cardscan.render (imported only when used: rich is slow to import).
FORMATS: dict[str, str] = {
    "table": "table",
    "json": "json",
    "csv": "csv",
    "markdown": "markdown",
    "html": "html",
}


Renderer = Callable[[Sequence["ScanResult"]], str]
_REGISTERED: dict[str, Renderer] = {}


def register(name: str, renderer: Renderer) -> None:
    """Add an output format (a function from results to text) under `name`."""
    _REGISTERED[name] = renderer
    FORMATS.setdefault(name, "")


def renderer(fmt: str) -> Renderer:
    """The render function of one of FORMATS."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt in _REGISTERED:
        return _REGISTERED[fmt]
    module = import_module(f"cardscan.render.{FORMATS[fmt]}")
    fn: Renderer = module.render
    return fn


def render(results: Sequence[ScanResult], fmt: str = "table") -> str:
    """Render results in one of FORMATS."""
    return renderer(fmt)(results)
