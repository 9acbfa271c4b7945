"""Combine the parsed parts of a repo into one `Parsed`: a pipeline's components summed, sentence-transformers
modules added to the transformer, an adapter's details (and its scanned base) attached. Pure: values in, value out;
the estimate stage runs after this, once, on the combined figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from cardscan.interpret import Parsed
from cardscan.parts import Part, RepoParts
from cardscan.result import Adapter, Component, Parameters, ScanResult, Weights


def combine(top: Parsed, found: RepoParts, parts: Sequence[tuple[Part, Parsed]]) -> Parsed:
    """One value for the whole repo."""
    if found.kind == "diffusers":
        return _pipeline(top, parts)
    if found.kind == "sentence-transformers":
        return _sentence(top, found, parts)
    if found.kind == "adapter" and found.adapter is not None:
        return _adapter(top, found)
    return top


def with_base(parsed: Parsed, base: ScanResult) -> Parsed:
    """An adapter with its base model's scan attached (inference memory = base + adapter)."""
    r = parsed.result
    adapter_bytes = r.adapter.bytes if r.adapter and r.adapter.bytes else 0
    note = f"PEFT adapter on {base.input}: inference memory = base model + {adapter_bytes:,} adapter bytes"
    return replace(parsed, result=replace(r, base=base, notes=(*r.notes, note)))


def _component(part: Part, parsed: Parsed) -> Component:
    r = parsed.result
    p, w = r.parameters, r.weights
    return Component(
        name=part.folder,
        class_name=part.class_name,
        parameters=p.total if p else None,
        bytes=w.bytes if w else None,
        by_dtype=dict(p.by_dtype) if p else {},
        error=r.error.message if r.error else None,
    )


def _sum_dtypes(components: Sequence[Component]) -> dict[str, int]:
    by_dtype: dict[str, int] = {}
    for c in components:
        for dtype, n in c.by_dtype.items():
            by_dtype[dtype] = by_dtype.get(dtype, 0) + n
    return by_dtype


def _bpw(stored: int | None, total: int | None) -> float | None:
    return round(stored * 8 / total, 3) if stored and total else None


def _pipeline(top: Parsed, parts: Sequence[tuple[Part, Parsed]]) -> Parsed:
    """Components with weights, summed; the repo's parameters and weights are their totals."""
    components = tuple(_component(part, parsed) for part, parsed in parts)
    total = sum(c.parameters or 0 for c in components)
    stored = sum(c.bytes or 0 for c in components)
    parameters = Parameters(total, _sum_dtypes(components), None, None, 0, 0, "header")
    weights = Weights(stored, _bpw(stored, total), "safetensors", (), ())
    note = f"diffusers pipeline: {len(components)} components summed; memory = weights + runtime (no KV cache)"
    r = top.result
    result = replace(r, parameters=parameters, weights=weights, components=components, notes=(*r.notes, note))
    return Parsed(result, None, "diffusers")


def _sentence(top: Parsed, found: RepoParts, parts: Sequence[tuple[Part, Parsed]]) -> Parsed:
    """The top-level transformer plus every module with weights (`2_Dense`); alternatives inside modules dropped."""
    r = top.result
    if r.parameters is None or r.weights is None or not parts:
        return replace(top, kind="sentence-transformers")
    p, w = r.parameters, r.weights
    first = Component(found.top_name, found.top_class, p.total, w.bytes, dict(p.by_dtype))
    extra = tuple(_component(part, parsed) for part, parsed in parts)
    total = (p.total or 0) + sum(c.parameters or 0 for c in extra)
    stored = (w.bytes or 0) + sum(c.bytes or 0 for c in extra)
    folders = tuple(c.name + "/" for c in extra)
    note = f"sentence-transformers: {len(extra)} module(s) with weights added; memory covers all modules' weights"
    result = replace(
        r,
        parameters=replace(p, total=total, by_dtype=_sum_dtypes((first, *extra))),
        weights=replace(w, bytes=stored, bits_per_weight=_bpw(stored, total),
                        alternatives=tuple(a for a in w.alternatives if not a.name.startswith(folders))),
        components=(first, *extra),
        notes=(*r.notes, note),
    )  # fmt: skip
    return Parsed(result, top.facts, "sentence-transformers")


def _adapter(top: Parsed, found: RepoParts) -> Parsed:
    """Adapter settings from adapter_config.json, counts from the adapter's own header."""
    cfg, r = found.adapter, top.result
    assert cfg is not None
    adapter = Adapter(
        peft_type=cfg.peft_type,
        rank=cfg.rank,
        alpha=cfg.alpha,
        target_modules=cfg.target_modules,
        base_model=cfg.base_model,
        parameters=r.parameters.total if r.parameters else None,
        bytes=r.weights.bytes if r.weights else None,
    )
    return Parsed(replace(r, adapter=adapter), top.facts, "adapter")
