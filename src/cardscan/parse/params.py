"""Parameter accounting from a tensor list: logical totals, buffers, tied embeddings, MoE active params, MTP layers.

Pure functions over values: the quantization module (parse/quant.py) says what each tensor stands for; this module
decides which of those count as the model's parameters, with the per-family facts (tying, expert and MTP keys) read
from parse/families.py.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cardscan.parse.families import MTP_KEYS, ROUTED_EXPERT_PATTERN, alias_keys, tied_default
from cardscan.parse.quant import QuantInfo, TensorRole, classify, recognise, summarise
from cardscan.tensors import TensorInfo


@dataclass(frozen=True)
class ParameterCount:
    """What a checkpoint's tensors add up to."""

    total: int
    """Logical parameters (unpacked quantized weights, tied lm_head once, buffers and MTP layers excluded)."""
    by_dtype: dict[str, int]
    """Precision label → logical params (`bf16`, `int4`, `nf4`, `mxfp4`, `q4_k`…); sums to `total`."""
    stored_elements: int
    """Naive Σ numel of every tensor (what the Hub shows for packed formats)."""
    stored_bytes: int
    """Σ stored bytes of every tensor."""
    non_parameter_elements: int
    """Elements of stored buffers (attention masks, inv_freq, position_ids, BatchNorm counters…)."""
    non_parameter_tensors: tuple[str, ...]
    """A few buffer names, as examples."""
    non_parameter_bytes: int
    """Stored bytes of those buffers (engines never load them as weights)."""
    aux_bytes: int
    """Bytes of quantization auxiliaries (scales, zeros, g_idx, absmax…), 0 params."""
    active: int | None
    """Params used per token for MoE (routed experts scaled by k/E), None for dense models."""
    mtp: int
    """Params of multi-token-prediction layers, reported apart from `total` (0 if none)."""
    embedding: int
    """Input-embedding params (vocab × hidden), plus an untied lm_head."""
    quantization: QuantInfo | None
    """Recognised quantization, None for unquantized weights."""
    notes: tuple[str, ...]
    """Ambiguities and adjustments made while counting."""


def bits_per_weight(pc: ParameterCount) -> float | None:
    """Whole-checkpoint bits per logical parameter: 8 · stored_bytes / total."""
    return 8 * pc.stored_bytes / pc.total if pc.total else None


# Buffers saved in checkpoints (transformers `_keys_to_ignore_on_load_unexpected` in the modeling files): the last
# name component(s) it ends with (the whole name for a pattern anchored at both ends), the name pattern, and the minimum rank that makes it a buffer (GPT-2's `attn.bias`
# mask is 4-D; a real `attn.bias` would be 1-D).
BUFFER_PATTERNS: tuple[tuple[tuple[str, ...], re.Pattern[str], int], ...] = (
    (("bias",), re.compile(r"(^|\.)(attn|attention|crossattention)\.bias$"), 4),
    (("masked_bias",), re.compile(r"(^|\.)(attn|attention|crossattention)\.masked_bias$"), 0),
    (("causal_mask",), re.compile(r"(^|\.)attn\.causal_mask$"), 0),
    (("inv_freq", "original_inv_freq"), re.compile(r"(^|\.)(original_)?inv_freq$"), 0),
    (("position_ids", "token_type_ids"), re.compile(r"(^|\.)(position_ids|token_type_ids)$"), 0),
    (("num_batches_tracked", "running_mean", "running_var"),
     re.compile(r"(^|\.)(num_batches_tracked|running_mean|running_var)$"), 0),
    (("relative_position_index",), re.compile(r"(^|\.)relative_position_index$"), 0),
    (("rope_freqs.weight",), re.compile(r"^rope_freqs\.weight$"), 0),  # GGUF Llama-3.x rope scaling factors
)  # fmt: skip
_BUFFERS_BY_LEAF: dict[str, list[tuple[re.Pattern[str], int]]] = {}
for _leaves, _pattern, _rank in BUFFER_PATTERNS:
    for _leaf in _leaves:
        _BUFFERS_BY_LEAF.setdefault(_leaf, []).append((_pattern, _rank))
"""Last name component → the patterns that can match it: a dict lookup spares most tensors every regex (DeepSeek-V3
has 92k tensors, GPT-2 a bias per layer norm)."""

# Input embeddings and output heads (HF, GGUF and GPT-2/NeoX spellings).
EMBEDDING = re.compile(r"(^|\.)(embed_tokens|wte|word_embeddings|tok_embeddings|token_embd|embed_in)\.weight$")
LM_HEAD = re.compile(r"^(lm_head|output|embed_out)\.weight$|(^|\.)lm_head\.weight$")

ROUTED_EXPERT = re.compile(ROUTED_EXPERT_PATTERN)

# Multi-token-prediction modules that transformers drops on load (DeepSeek-V3 `model.layers.61`, GLM `mtp.*`:
# modeling_deepseek_v3.py `_keys_to_ignore_on_load_unexpected`).
MTP_ALWAYS = re.compile(r"(^|\.)(mtp|mtp_layers)\.")
DECODER_LAYER = re.compile(r"(^|\.)layers\.(\d+)\.")


def _text(config: Mapping[str, Any]) -> Mapping[str, Any]:
    """The `text_config` of a multimodal config, else an empty mapping."""
    text = config.get("text_config")
    return text if isinstance(text, Mapping) else {}


def _lookup(config: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    """First key found in config, then in `text_config`."""
    for source in (config, _text(config)):
        for key in keys:
            if source.get(key) is not None:
                return source[key]
    return None


def is_buffer(t: TensorInfo) -> bool:
    """Whether a stored tensor is a buffer rather than a parameter."""
    candidates = _BUFFERS_BY_LEAF.get(t.name[t.name.rfind(".") + 1 :]) or _BUFFERS_BY_LEAF.get(t.name)
    if not candidates:
        return False
    # A boolean or byte matrix under a buffer name is a mask whatever its rank (some exports drop the [1, 1] dims).
    rank = 4 if len(t.shape) < 2 or t.dtype not in ("BOOL", "U8") else 2
    return any(len(t.shape) >= min(need, rank) and p.search(t.name) for p, need in candidates)


def _mtp_names(tensors: Sequence[TensorInfo], config: Mapping[str, Any]) -> set[str]:
    layers = _lookup(config, alias_keys("num_hidden_layers"))
    nextn = _lookup(config, MTP_KEYS) or 0
    names = {t.name for t in tensors if "mtp" in t.name and MTP_ALWAYS.search(t.name)}
    if layers and nextn:
        for t in tensors:
            m = DECODER_LAYER.search(t.name)
            if m and int(m.group(2)) >= layers:
                names.add(t.name)
    return names


def _tied(config: Mapping[str, Any]) -> bool | None:
    tie = _lookup(config, ("tie_word_embeddings",))
    if tie is None:
        tie = tied_default(str(_text(config).get("model_type") or config.get("model_type") or ""))
    return bool(tie) if tie is not None else None


def _duplicate_head(
    tensors: Sequence[TensorInfo], roles: Mapping[str, TensorRole], config: Mapping[str, Any]
) -> tuple[str | None, str | None]:
    """(lm_head name to drop, note) when a tied head is stored next to the embedding it shares."""
    weights = [t for t in tensors if t.name.endswith("weight")]  # both patterns end so; a C-level test first
    embed = next((t for t in weights if EMBEDDING.search(t.name)), None)
    head = next((t for t in weights if LM_HEAD.search(t.name)), None)
    if embed is None or head is None or roles[embed.name].logical != roles[head.name].logical:
        return None, None
    tie = _tied(config)
    if tie:
        return head.name, f"tied embeddings: {head.name} stored but counted once"
    if tie is None:
        return None, f"{head.name} has the embedding's shape and tying is unknown; counted both"
    return None, None


def _active(
    total: int, routed: int, config: Mapping[str, Any], metadata: Mapping[str, str]
) -> tuple[int | None, str | None]:
    """total − routed·(1 − k/E); None for dense models or when E/k are unknown."""
    if not routed:
        return None, None
    experts = _lookup(config, alias_keys("num_experts")) or _meta_int(metadata, ".expert_count")
    topk = _lookup(config, alias_keys("experts_per_token")) or _meta_int(metadata, ".expert_used_count")
    if not experts or not topk:
        return None, "routed expert tensors found but expert count / top-k unknown; active params not computed"
    return total - routed + round(routed * topk / experts), None


def _meta_int(metadata: Mapping[str, str], suffix: str) -> int | None:
    for key, value in metadata.items():
        if key.endswith(suffix):
            try:
                return int(value)
            except (TypeError, ValueError):
                return None
    return None


def count_parameters(
    tensors: Sequence[TensorInfo],
    config: Mapping[str, Any] | None = None,
    side_files: Mapping[str, Mapping[str, Any]] | None = None,
    metadata: Mapping[str, str] | None = None,
) -> ParameterCount:
    """Logical parameter accounting of one weight set (all shards' tensors together)."""
    config, metadata = config or {}, metadata or {}
    buffers = [t for t in tensors if is_buffer(t)]
    buffer_names = {t.name for t in buffers}
    kept = [t for t in tensors if t.name not in buffer_names]
    rec = recognise(kept, config, side_files, metadata)
    roles = classify(kept, rec, metadata)
    mtp_names = _mtp_names(kept, config)
    dropped, tie_note = _duplicate_head(kept, roles, config)
    by_dtype: dict[str, int] = defaultdict(int)
    mtp = routed = embedding = 0
    for t in kept:
        role = roles[t.name]
        if role.kind == "aux" or t.name == dropped:
            continue
        if t.name in mtp_names:
            mtp += role.logical
            continue
        by_dtype[role.label] += role.logical
        # Cheap substring tests first: every ROUTED_EXPERT match holds "exp", every EMBEDDING/LM_HEAD one ends "weight".
        routed += role.logical if "exp" in t.name and ROUTED_EXPERT.search(t.name) else 0
        if t.name.endswith("weight") and (EMBEDDING.search(t.name) or LM_HEAD.search(t.name)):
            embedding += role.logical
    total = sum(by_dtype.values())
    active, moe_note = _active(total, routed, config, metadata)
    quant, quant_notes = summarise(rec, kept, roles, metadata)
    notes = [*rec.notes, *quant_notes, *(n for n in (tie_note, moe_note) if n)]
    if mtp:
        notes.append(f"{mtp:,} params in multi-token-prediction layers reported apart from the total")
    if buffers:
        notes.append(f"{len(buffers)} stored buffers (not parameters) excluded")
    return ParameterCount(
        total=total,
        by_dtype=dict(sorted(by_dtype.items(), key=lambda kv: -kv[1])),
        stored_elements=sum(t.numel for t in tensors),
        stored_bytes=sum(t.nbytes for t in tensors),
        non_parameter_elements=sum(t.numel for t in buffers),
        non_parameter_tensors=tuple(t.name for t in buffers[:5]),
        non_parameter_bytes=sum(t.nbytes for t in buffers),
        aux_bytes=sum(t.nbytes for t in kept if roles[t.name].kind == "aux"),
        active=active,
        mtp=mtp,
        embedding=embedding,
        quantization=quant,
        notes=tuple(notes),
    )
