"""Repos that hold more than one model: PEFT adapters (read with their base model) and diffusers pipelines
(one scan per component folder, summed)."""

from __future__ import annotations

import json
from dataclasses import replace

from cardscan.fetch import Fetched, fetch
from cardscan.result import Adapter, Component, Parameters, ScanResult, Weights
from cardscan.select import Selection, select_weights
from cardscan.sources.base import Chunk, Listing, Source

ADAPTER_CONFIG = "adapter_config.json"
PIPELINE_INDEX = "model_index.json"
SENTENCE_MODULES = "modules.json"


def adapter_of(fetched: Fetched, result: ScanResult) -> Adapter | None:
    """Adapter details when the chosen weights are a PEFT adapter (`adapter_config.json` beside them)."""
    cfg = fetched.side_files.get(ADAPTER_CONFIG)
    chosen = fetched.selection.chosen
    if cfg is None or chosen is None or not chosen.name.endswith("adapter_model"):
        return None
    targets = cfg.get("target_modules") or ()
    return Adapter(
        peft_type=cfg.get("peft_type"),
        rank=cfg.get("r"),
        alpha=cfg.get("lora_alpha"),
        target_modules=tuple([targets] if isinstance(targets, str) else targets),
        base_model=cfg.get("base_model_name_or_path"),
        parameters=result.parameters.total if result.parameters else None,
        bytes=result.weights.bytes if result.weights else None,
    )


class SubSource:
    """A folder of another source seen as a source of its own (a pipeline component)."""

    def __init__(self, parent: Source, folder: str) -> None:
        self.parent, self.prefix = parent, folder.rstrip("/") + "/"
        self.stats = parent.stats

    def listing(self) -> Listing:
        """The parent's files under the folder, with the folder stripped from their paths."""
        whole = self.parent.listing()
        files = tuple(
            replace(f, path=f.path[len(self.prefix) :]) for f in whole.files if f.path.startswith(self.prefix)
        )
        return replace(whole, files=files, card_data=None)

    def read_range(self, path: str, start: int, end: int) -> Chunk:
        """Read from the parent at the folder's path."""
        return self.parent.read_range(self.prefix + path, start, end)

    def read_file(self, path: str, max_bytes: int = 16 << 20) -> bytes | None:
        """Read from the parent at the folder's path."""
        return self.parent.read_file(self.prefix + path, max_bytes)


def pipeline_folders(source: Source, listing: Listing) -> dict[str, str | None] | None:
    """Component folder → class name from `model_index.json`, or None when the repo is not a pipeline."""
    if listing.file(PIPELINE_INDEX) is None:
        return None
    raw = source.read_file(PIPELINE_INDEX)
    try:
        index = json.loads(raw or b"{}")
    except json.JSONDecodeError:
        return None
    folders = {f.path.split("/", 1)[0] for f in listing.files if "/" in f.path}
    # Entries look like "unet": ["diffusers", "UNet2DConditionModel"]; schedulers and tokenizers have no weights.
    return {
        name: value[1] if isinstance(value, list) and len(value) > 1 else None
        for name, value in index.items()
        if not name.startswith("_") and name in folders
    }


def scan_pipeline(source: Source, listing: Listing, folders: dict[str, str | None], target: str, options) -> ScanResult:
    """One interpretation per component with weights; the repo's figures are their sums."""
    from cardscan.interpret import interpret

    top = interpret(target, fetch(source, listing, Selection(None, (), "diffusers pipeline")), options)
    components = []
    for name, class_name in sorted(folders.items()):
        sub = SubSource(source, name)
        sub_listing = sub.listing()
        selection = select_weights(sub_listing)
        if selection.chosen is None:
            continue  # schedulers, tokenizers, feature extractors
        part = interpret(f"{target}/{name}", fetch(sub, sub_listing, selection), options)
        components.append(_component(name, class_name, part))
    note = f"diffusers pipeline: {len(components)} components summed; memory = weights + runtime (no KV cache)"
    return _summed(top, tuple(components), note)


def add_sentence_modules(source: Source, fetched: Fetched, result: ScanResult, target: str, options) -> ScanResult:
    """sentence-transformers: the transformer at the top, plus weighted modules in subfolders (`2_Dense`)."""
    from cardscan.interpret import interpret

    modules = fetched.side_files.get(SENTENCE_MODULES)
    if not isinstance(modules, list) or result.parameters is None:
        return result
    parts = [Component("transformer", "Transformer", result.parameters.total, result.weights.bytes,
                       dict(result.parameters.by_dtype))]  # fmt: skip
    for module in modules:
        folder = module.get("path") if isinstance(module, dict) else None
        if not folder:
            continue
        sub = SubSource(source, folder)
        sub_listing = sub.listing()
        selection = select_weights(sub_listing)
        if selection.chosen is not None:  # Pooling and Normalize modules have no weights
            part = interpret(f"{target}/{folder}", fetch(sub, sub_listing, selection), options)
            parts.append(_component(folder, str(module.get("type", "")).rsplit(".", 1)[-1] or None, part))
    if len(parts) == 1:
        return result
    extra = parts[1:]
    folders = tuple(c.name + "/" for c in extra)
    p, w = result.parameters, result.weights
    by_dtype = dict(p.by_dtype)
    for c in extra:
        for dtype, n in c.by_dtype.items():
            by_dtype[dtype] = by_dtype.get(dtype, 0) + n
    total = p.total + sum(c.parameters or 0 for c in extra)
    stored = (w.bytes or 0) + sum(c.bytes or 0 for c in extra)
    note = (
        f"sentence-transformers: {len(extra)} module(s) with weights added; the memory estimate covers the transformer"
    )
    return replace(
        result,
        parameters=replace(p, total=total, by_dtype=by_dtype),
        weights=replace(w, bytes=stored, bits_per_weight=round(stored * 8 / total, 3) if total else None,
                        alternatives=tuple(a for a in w.alternatives if not a.name.startswith(folders))),
        components=tuple(parts),
        notes=(*result.notes, note),
    )  # fmt: skip


def _component(name: str, class_name: str | None, part: ScanResult) -> Component:
    p, w = part.parameters, part.weights
    return Component(
        name=name,
        class_name=class_name,
        parameters=p.total if p else None,
        bytes=w.bytes if w else None,
        by_dtype=dict(p.by_dtype) if p else {},
        error=part.error.message if part.error else None,
    )


def _summed(top: ScanResult, components: tuple[Component, ...], note: str) -> ScanResult:
    total = sum(c.parameters or 0 for c in components)
    stored = sum(c.bytes or 0 for c in components)
    by_dtype: dict[str, int] = {}
    for c in components:
        for dtype, n in c.by_dtype.items():
            by_dtype[dtype] = by_dtype.get(dtype, 0) + n
    parameters = Parameters(total, by_dtype, None, None, 0, 0, "header")
    weights = Weights(stored, round(stored * 8 / total, 3) if total else None, "safetensors", (), ())
    return replace(top, parameters=parameters, weights=weights, components=components, notes=(*top.notes, note))
