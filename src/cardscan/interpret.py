"""Fetched bytes → `Parsed`: config, card and headers read into figures (parameters, weights, claims, agreement).

Pure: no I/O and no estimates. The estimate stage (`estimate/stage.py`) runs once, after repo parts are combined.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cardscan.fetch import Fetched
from cardscan.parse.card import CardInfo, compare, parse_card
from cardscan.parse.config import ArchFacts, active_parameters, arch_facts, count_from_config
from cardscan.parse.gguf import gguf_config, gguf_quant_label
from cardscan.parse.meta_count import meta_parameter_count
from cardscan.parse.params import ParameterCount, count_parameters
from cardscan.parse.quant import declared_quantization
from cardscan.result import Alternative, ModelFacts, Parameters, ScanResult, WeightFile, Weights
from cardscan.tensors import DTYPE_ALIASES, TensorInfo


@dataclass(frozen=True)
class Parsed:
    """One repo (or one part of it) after parsing: the result so far and what the estimator needs beside it."""

    result: ScanResult
    """Everything read: parameters, weights, card, agreement; no memory figures yet."""
    facts: ArchFacts | None
    """Architecture facts from config.json or GGUF metadata; None when neither describes the model."""
    kind: str = "model"
    """model, diffusers, sentence-transformers or adapter (set by the combine step)."""


# Which parser's count `parameters.source` names, by weight format.
_FORMAT_SOURCE = {"safetensors": "header", "gguf": "gguf", "torch": "torch"}


def interpret(target: str, fetched: Fetched) -> Parsed:
    """Turn what was read into figures. Pure: no I/O."""
    listing = fetched.listing
    notes: list[str] = [f"weights: {fetched.selection.reason}"]
    warnings: list[str] = list(fetched.warnings)
    config = _effective_config(fetched, notes)
    facts = _arch_facts(config, warnings)
    counts = _count(fetched, config)
    card = parse_card(fetched.card, listing.repo_id, listing.card_data)  # the name's last part carries hints too
    parameters = _parameters(counts, facts, card, fetched, notes)
    weights = _weights(fetched, counts, parameters)
    quant = counts.quantization if counts else None
    declared = None if counts else declared_quantization(config or {}, fetched.side_files)
    if counts:
        notes.extend(counts.notes)
    for h in fetched.headers:
        notes.extend(f"{h.path}: {n}" for n in h.notes)
    if facts and facts.assumed:
        notes.append("config defaults assumed for: " + ", ".join(facts.assumed))
    agreement = compare(
        card,
        parameters=parameters.total if parameters.source not in ("card", "name") else None,
        active=parameters.active,
        dtypes=_observed_dtypes(parameters, config),
        # Without weight headers nothing is observed of the weights but what config.json declares: compare with
        # that (noted below), never with "not quantized".
        quant_method=quant.method if quant else declared[0] if declared else None,
        quant_bits=quant.bits if quant else declared[1] if declared else None,
    )
    if declared:
        notes.append(f"no weight headers read: quantization {declared[0]} as config.json declares it, not observed")
    result = ScanResult(
        input=target,
        repo_id=listing.repo_id,
        revision=listing.revision,
        commit=listing.commit,
        model=_model_facts(facts, config),
        parameters=parameters,
        weights=weights,
        quantization=quant,
        card=card,
        agreement=tuple(agreement),
        notes=tuple(notes),
        warnings=tuple(warnings + list(card.warnings)),
    )
    return Parsed(result, facts)


def _effective_config(fetched: Fetched, notes: list[str]) -> dict[str, Any] | None:
    """config.json; for GGUF repos the GGUF metadata fills what config.json lacks (often just `model_type`)."""
    gguf = next((h for h in fetched.headers if h.format == "gguf" and h.metadata.get("general.architecture")), None)
    if gguf is None:
        return fetched.config
    notes.append("architecture from GGUF metadata" + (", config.json on top" if fetched.config else ""))
    config = {**gguf_config(gguf.metadata, (t.name for t in gguf.tensors)), **(fetched.config or {})}
    # Per-layer KV head counts (0 = a layer without attention) matter to the KV cache: hand the list over.
    per_layer = config.get("num_key_value_heads_per_layer")
    if isinstance(per_layer, list):
        config["num_key_value_heads"] = per_layer
    return config


def _arch_facts(config: Mapping[str, Any] | None, warnings: list[str]) -> ArchFacts | None:
    if not config:
        return None
    try:
        return arch_facts(config)
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
        warnings.append(f"config.json lacks the architecture fields the estimator needs ({exc})")
        return None


def _count(fetched: Fetched, config: Mapping[str, Any] | None) -> ParameterCount | None:
    tensors = [t for h in fetched.headers for t in h.tensors]
    if not tensors:
        return None
    return count_parameters(tensors, config, side_files=fetched.side_files, metadata=_metadata(fetched))


def _metadata(fetched: Fetched) -> dict[str, str]:
    """Header metadata merged across files, as strings: safetensors `__metadata__`, GGUF scalar key-values."""
    merged: dict[str, str] = {}
    for h in fetched.headers:
        for key, value in h.metadata.items():
            if isinstance(value, (str, int, float, bool)):
                merged.setdefault(key, str(value))
    return merged


def _parameters(
    counts: ParameterCount | None, facts: ArchFacts | None, card: CardInfo, fetched: Fetched, notes: list[str]
) -> Parameters:
    if counts is not None:
        fmt = fetched.headers[0].format
        return Parameters(
            total=counts.total,
            by_dtype=dict(counts.by_dtype),
            active=counts.active,
            stored_elements=counts.stored_elements,
            non_parameter_elements=counts.non_parameter_elements,
            mtp=counts.mtp,
            source=_FORMAT_SOURCE.get(fmt, fmt),
            by_component=_by_component(fetched, counts.total),
        )
    if facts is not None:
        return _config_parameters(facts, fetched.config, notes)
    if not card.parameters:
        return Parameters(None, {}, None, None, 0, 0, "none")
    source = "name" if card.source_of("parameters") == "name" else "card"  # never "text"/"yaml": see compare() below
    notes.append(f"no weights and no config.json: parameter count is the {source} claim, not a measurement")
    return Parameters(card.parameters, {}, card.active_parameters, None, 0, 0, source)


# Tensor-name prefixes of the parts of a multimodal checkpoint (transformers' LLaVA, Qwen-VL, Gemma 3, Whisper-style
# layouts); whatever matches none is the language model.
MODALITY_PREFIXES: dict[str, tuple[str, ...]] = {
    "vision": ("vision_tower.", "vision_model.", "visual.", "model.vision_tower.", "model.visual.", "vision_encoder.",
               "model.vision_model.", "image_encoder.", "vpm."),
    "projector": ("multi_modal_projector.", "model.multi_modal_projector.", "mm_projector.", "model.mm_projector.",
                  "connector.", "model.connector."),
    "audio": ("audio_tower.", "model.audio_tower.", "audio_encoder.", "audio_model."),
}  # fmt: skip


_ALL_MODALITY_PREFIXES = tuple(p for prefixes in MODALITY_PREFIXES.values() for p in prefixes)


def _by_component(fetched: Fetched, total: int) -> dict[str, int]:
    """Split a multimodal count by part; counted per part with the same rules as the whole."""
    tensors = [t for h in fetched.headers for t in h.tensors]
    if not any(t.name.startswith(_ALL_MODALITY_PREFIXES) for t in tensors):
        return {}  # a text-only model: one C-level check per tensor
    groups: dict[str, list[TensorInfo]] = {}
    for t in tensors:
        part = next((k for k, prefixes in MODALITY_PREFIXES.items() if t.name.startswith(prefixes)), "language")
        groups.setdefault(part, []).append(t)
    if len(groups) < 2:
        return {}
    split = {part: count_parameters(ts, fetched.config).total for part, ts in groups.items()}
    split["language"] = total - sum(v for k, v in split.items() if k != "language")
    return split


def _config_parameters(facts: ArchFacts, config: Mapping[str, Any] | None, notes: list[str]) -> Parameters:
    """No readable headers: exact from the meta device when torch + transformers are installed, else the formula."""
    meta = meta_parameter_count(config) if config else None
    total: int | None
    bound: float | None = None
    if meta is not None:
        # Checkpoints store DeepSeek's router bias as a tensor while transformers keeps it as a buffer.
        total = meta.total + meta.buffer_elements
        notes.append(
            f"no readable weight headers: exact parameter count from config.json ({meta.architecture} built on the "
            f"meta device, transformers {meta.transformers_version})"
        )
        notes.extend(meta.notes)
    else:
        counted = count_from_config(config or {}, facts)
        total, bound = counted.total, counted.expected_error
        notes.append(f"no readable weight headers: parameter count from config.json, {counted.label}: {counted.note}")
    if not total or total <= 0:
        # A formula that finds none of the fields it reads gives 0: that is "unknown", never a count.
        return Parameters(None, {}, None, None, 0, 0, "none")
    return Parameters(total, {}, active_parameters(facts, total), None, 0, 0, "config", error_bound=bound)


def _weights(fetched: Fetched, counts: ParameterCount | None, parameters: Parameters) -> Weights:
    chosen = fetched.selection.chosen
    sizes = {f.path: f.size for f in fetched.listing.files}
    files = tuple(
        WeightFile(h.path, h.file_size or sizes.get(h.path), h.header_bytes, len(h.tensors)) for h in fetched.headers
    )
    # Buffers (gpt2's causal masks) are stored but never loaded as weights; without parsed tensors (legacy
    # pickles) the files' size is the best figure there is.
    stored = counts.stored_bytes - counts.non_parameter_bytes if counts else (chosen.bytes if chosen else None)
    bpw = round(stored * 8 / parameters.total, 3) if stored and parameters.total else None
    alternatives = tuple(
        Alternative(s.name, s.format, len(s.files), s.bytes, _gguf_label(s.name) if s.format == "gguf" else None)
        for s in fetched.selection.alternatives
    )
    label = _gguf_label(files[0].path) if chosen and chosen.format == "gguf" and files else None
    return Weights(stored, bpw, chosen.format if chosen else None, files, alternatives, label)


def _gguf_label(path: str) -> str | None:
    """The quant type a GGUF file or set name carries (Q4_K_M…), for comparing a repo's quants."""
    return gguf_quant_label(path if path.endswith(".gguf") else path + ".gguf", None)


def _model_facts(facts: ArchFacts | None, config: Mapping[str, Any] | None) -> ModelFacts | None:
    if facts is None:
        if not config:
            return None
        archs = config.get("architectures") or [None]
        return ModelFacts(archs[0], config.get("model_type"), None, None, None, None, None, None, None, None)
    return ModelFacts(
        architecture=facts.architectures[0] if facts.architectures else None,
        model_type=facts.model_type,
        max_context=facts.max_context,
        layers=facts.num_layers,
        hidden_size=facts.hidden_size,
        attention_heads=facts.num_heads,
        kv_heads=facts.num_kv_heads,
        head_dim=_qk_head_dim(facts, config),
        vocab_size=facts.vocab_size,
        dtype=DTYPE_ALIASES.get(str(facts.dtype).lower()) if facts.dtype else None,
        layer_kinds=facts.kind_counts,
        v_head_dim=facts.v_head_dim if facts.qk_nope_head_dim and facts.v_head_dim else None,
    )


def _qk_head_dim(facts: ArchFacts, config: Mapping[str, Any] | None) -> int:
    """MLA heads are qk_nope + qk_rope wide (not hidden / heads); others keep `head_dim`."""
    if not facts.qk_nope_head_dim:
        return facts.head_dim
    return facts.qk_nope_head_dim + int((config or {}).get("qk_rope_head_dim") or 0)


def _observed_dtypes(parameters: Parameters, config: Mapping[str, Any] | None) -> list[str]:
    if parameters.by_dtype:
        return sorted(parameters.by_dtype, key=lambda k: -parameters.by_dtype[k])
    dtype = (config or {}).get("torch_dtype") or (config or {}).get("dtype")
    return [DTYPE_ALIASES[dtype]] if isinstance(dtype, str) and dtype in DTYPE_ALIASES else []
