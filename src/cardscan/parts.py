"""Detect what a repo is made of, from files already fetched: a diffusers pipeline's component folders,
sentence-transformers modules with weights, a PEFT adapter's base model. Pure: it reads only `Fetched` values;
the scanner fetches the parts it names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cardscan.fetch import Fetched
from cardscan.repo_files import ADAPTER_CONFIG, PIPELINE_INDEX, SENTENCE_MODULES
from cardscan.sources.base import Listing


@dataclass(frozen=True)
class Part:
    """A folder of the repo that holds one model of its own."""

    folder: str
    """Repo-relative folder (`unet`, `2_Dense`)."""
    class_name: str | None
    """Its class (model_index.json's `["diffusers", "UNet2DConditionModel"]`, modules.json's `type`)."""


@dataclass(frozen=True)
class AdapterConfig:
    """What adapter_config.json says (counts are filled in by the combine step from the adapter's own header)."""

    peft_type: str | None
    """LORA, IA3, …"""
    rank: int | None
    """LoRA rank r."""
    alpha: float | None
    """LoRA alpha."""
    target_modules: tuple[str, ...]
    """Modules the adapter attaches to."""
    base_model: str | None
    """`base_model_name_or_path`."""


@dataclass(frozen=True)
class RepoParts:
    """The repo's kind and the parts the scanner must read besides the top level."""

    kind: str
    """model, diffusers, sentence-transformers or adapter."""
    parts: tuple[Part, ...] = ()
    """Folders to select, fetch and parse like a repo of their own."""
    top_name: str = "transformer"
    """sentence-transformers: the component name of the top-level weights."""
    top_class: str | None = "Transformer"
    """sentence-transformers: its class."""
    adapter: AdapterConfig | None = None
    """PEFT adapter settings when the chosen weights are an adapter."""


def is_pipeline(listing: Listing) -> bool:
    """A diffusers pipeline has model_index.json at the top; its weights live in component folders."""
    return listing.file(PIPELINE_INDEX) is not None


def detect(fetched: Fetched) -> RepoParts:
    """The repo's parts, from its side files and listing."""
    index = fetched.side_files.get(PIPELINE_INDEX)
    if isinstance(index, dict) and fetched.selection.chosen is None:
        return RepoParts("diffusers", _pipeline_parts(index, fetched.listing))
    modules = fetched.side_files.get(SENTENCE_MODULES)
    if isinstance(modules, list):
        return _sentence_parts(modules, fetched)
    adapter = _adapter(fetched)
    if adapter is not None:
        return RepoParts("adapter", adapter=adapter)
    return RepoParts("model")


def _pipeline_parts(index: dict[str, Any], listing: Listing) -> tuple[Part, ...]:
    folders = {f.path.split("/", 1)[0] for f in listing.files if "/" in f.path}
    # Entries look like "unet": ["diffusers", "UNet2DConditionModel"]; schedulers and tokenizers have no weights
    # (the scanner skips folders whose selection is empty).
    return tuple(
        Part(name, value[1] if isinstance(value, list) and len(value) > 1 else None)
        for name, value in sorted(index.items())
        if not name.startswith("_") and name in folders
    )


def _sentence_parts(modules: list[Any], fetched: Fetched) -> RepoParts:
    chosen = fetched.selection.chosen
    top_folder = chosen.files[0].rsplit("/", 1)[0] if chosen and "/" in chosen.files[0] else ""
    parts: list[Part] = []
    top_name: str = "transformer"
    top_class: str | None = "Transformer"
    for module in modules:
        folder = module.get("path") if isinstance(module, dict) else None
        if not folder:
            continue
        class_name = str(module.get("type", "")).rsplit(".", 1)[-1] or None
        if folder.rstrip("/") == top_folder:
            # No readable top-level weights (an ONNX-only transformer): selection fell on this module's file, so
            # the top level *is* this module; reading it again would count it twice.
            top_name, top_class = top_folder, class_name
            continue
        parts.append(Part(folder.rstrip("/"), class_name))
    return RepoParts("sentence-transformers", tuple(parts), top_name, top_class)


def _adapter(fetched: Fetched) -> AdapterConfig | None:
    cfg = fetched.side_files.get(ADAPTER_CONFIG)
    chosen = fetched.selection.chosen
    if not isinstance(cfg, dict) or chosen is None or not chosen.name.endswith("adapter_model"):
        return None
    targets = cfg.get("target_modules") or ()
    return AdapterConfig(
        peft_type=cfg.get("peft_type"),
        rank=cfg.get("r"),
        alpha=cfg.get("lora_alpha"),
        target_modules=tuple([targets] if isinstance(targets, str) else targets),
        base_model=cfg.get("base_model_name_or_path"),
    )
