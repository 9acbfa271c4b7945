"""The engine registry: every module of this package that defines `ENGINE` is an `--engine` choice.

Adding an engine is one file here (a subclass of `base.Engine` and `ENGINE = YourEngine()`) plus its tests; the CLI
choices, option validation and the fit check read `ENGINES`. `register()` adds one from outside the package.
"""

from __future__ import annotations

import pkgutil
from dataclasses import replace
from importlib import import_module
from typing import TYPE_CHECKING

from cardscan.errors import ErrorCode, ScanError
from cardscan.estimate.engines.base import DEFAULT_CONTEXT, Engine, EstimateOptions, MemoryEstimate

if TYPE_CHECKING:  # annotations only: the engine registry and renderer table are read at CLI start-up
    from cardscan.parse.config import ArchFacts


ENGINES: dict[str, Engine] = {}


def register(engine: Engine) -> Engine:
    """Make `engine` a choice (replacing one of the same name)."""
    ENGINES[engine.name] = engine
    return engine


def _discover() -> None:
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base":
            engine = getattr(import_module(f"{__name__}.{info.name}"), "ENGINE", None)
            if isinstance(engine, Engine):
                found.append(engine)
    for engine in sorted(found, key=lambda e: (getattr(e, "order", 100), e.name)):
        register(engine)


_discover()


def get(name: str) -> Engine:
    """The engine called `name`, or a bad-input error listing the known ones."""
    if name not in ENGINES:
        raise ScanError(ErrorCode.BAD_INPUT, f"unknown engine {name!r}; known: {', '.join(ENGINES)}")
    return ENGINES[name]


def estimate_memory(facts: ArchFacts, weights_bytes: int, params: int, options: EstimateOptions) -> MemoryEstimate:
    """Inference memory per GPU for `facts` with `weights_bytes` of weights under `options`."""
    engine = get(options.engine)
    if options.tp < 1 or options.batch < 1:
        raise ScanError(ErrorCode.BAD_INPUT, "tp and batch must be ≥ 1")
    context = options.context or facts.max_context or DEFAULT_CONTEXT
    est = engine.memory(facts, weights_bytes, params, options, context)
    if not options.context and not facts.max_context:
        est = replace(est, notes=(*est.notes, f"no max context in config: assumed {DEFAULT_CONTEXT}"))
    return est


__all__ = ["ENGINES", "Engine", "EstimateOptions", "MemoryEstimate", "estimate_memory", "get", "register"]
