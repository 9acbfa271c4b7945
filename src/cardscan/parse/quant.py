"""Which quantization a checkpoint uses, and what each stored tensor stands for (logical params, aux, plain).

Recognition order (docs/quant-formats.md): `quantization_config` (also under `text_config`), MLX `quantization`,
`quip_params`, side files, safetensors `__metadata__`, then tensor-name sniffing. The config only names the format and
cross-checks it: logical parameters always come from per-layer shape identities (`quant_formats.FORMATS`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from cardscan.parse.quant_formats import (
    CONFIG_KEYS,
    FORMATS,
    FORMATS_BY_METHOD,
    GGML_TYPES,
    GGML_UNQUANTIZED,
    GGUF_FILE_TYPES,
    METHOD_ALIASES,
    MODELOPT_ALGO_BITS,
    QUIP_CODEBOOK_BITS,
    SIDE_FILE_FORMATS,
    LayerParams,
    QuantFormat,
)
from cardscan.tensors import SAFETENSORS_DTYPES, TensorInfo


@dataclass(frozen=True)
class QuantInfo:
    """How the weights are quantized, as recognised from config, side files, headers and names."""

    method: str
    """Canonical method: gptq, awq, bitsandbytes, fp8, compressed-tensors, mxfp4, modelopt, hqq, eetq, aqlm, quip#,
    exl2, exl3, torchao, mlx, bitnet, gguf…"""
    bits: int | float | None
    """Weight bits of the quantized layers (the most common per-layer value; config value if shapes cannot say)."""
    group_size: int | None
    """Quantization group size (`-1` = per channel), None when unknown or not grouped."""
    format_details: dict[str, Any]
    """Format specifics: checkpoint_format, version, quant_type, double_quant, storage, block_size, desc_act…"""
    source: str
    """Where the method was recognised: `config`, `header`, `side_file:<name>` or `names`."""
    quantized_params: int
    """Logical parameters held in quantized layers."""
    bits_per_weight: float | None
    """8·(quantized weight bytes + their aux bytes) / quantized_params."""
    layers_quantized: int
    """Count of quantized weight tensors (linear modules, or fused expert stacks)."""


@dataclass(frozen=True)
class Recognition:
    """The format a checkpoint is read with, plus the config values its identities may use."""

    method: str | None
    """Canonical method, or None for unquantized weights."""
    fmt: QuantFormat | None
    """Table row used to classify tensors (None for gguf, unknown methods, or no quantization)."""
    source: str | None
    """Where the method was recognised (see `QuantInfo.source`)."""
    params: LayerParams = field(default_factory=LayerParams)
    """Config-level bits, group size and details."""
    overrides: Mapping[str, Any] = field(default_factory=dict)
    """Per-module config overrides (MLX `quantization` sub-dicts)."""
    notes: tuple[str, ...] = ()
    """What was ambiguous or contradictory while recognising."""


class TensorRole(NamedTuple):
    """What one stored tensor counts as (a NamedTuple, not a frozen dataclass: one is built per tensor, and a frozen
    dataclass's __init__ costs 4x as much; DeepSeek-V3 has 92k tensors)."""

    kind: str
    """`weight` (quantized, logical params), `aux` (bytes only) or `plain` (numel params)."""
    logical: int
    """Logical parameters it stands for (0 for aux)."""
    label: str
    """Precision label used in `by_dtype` (`bf16`, `int4`, `nf4`, `q4_k`…)."""
    bits: float | None = None
    """Weight bits of a quantized tensor."""
    module: str = ""
    """Module prefix for quantized and aux tensors (groups a layer's aux bytes with its weight)."""


# Detail keys renamed to the names reports use (config spellings differ per producer).
DETAIL_NAMES: dict[str, str] = {
    "bnb_4bit_quant_type": "quant_type",
    "bnb_4bit_use_double_quant": "double_quant",
    "bnb_4bit_quant_storage": "storage",
    "weight_block_size": "block_size",
}


# --- recognition -------------------------------------------------------------------------------------------


def quantization_block(config: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """`quantization_config` of the model, also when nested under `text_config` (Kimi-K2.5, multimodal)."""
    block = config.get("quantization_config")
    if not block and isinstance(config.get("text_config"), Mapping):
        block = config["text_config"].get("quantization_config")
    return block if isinstance(block, Mapping) and block else None


def method_of(block: Mapping[str, Any]) -> str | None:
    """Canonical method named by a quantization block."""
    raw = str(block.get("quant_method") or "").lower()
    if raw in ("auto-round", "auto_round"):
        packing = str(block.get("packing_format") or "").lower()
        return "awq" if "awq" in packing else "gptq"
    if not raw and (block.get("load_in_4bit") or block.get("load_in_8bit")):
        return "bitsandbytes"
    if not raw and ("w_bit" in block or "q_group_size" in block):
        return "awq"
    return METHOD_ALIASES.get(raw, raw or None)


def _narrow(method: str, block: Mapping[str, Any]) -> Mapping[str, Any]:
    """The part of the block that holds the weight settings (CT `config_groups.*.weights`, hqq params)."""
    if method == "compressed-tensors":
        groups = [g for g in (block.get("config_groups") or {}).values() if isinstance(g, Mapping)]
        weights = (groups[0].get("weights") or {}) if groups else {}
        return {**weights, "format": block.get("format")}
    if method == "hqq":
        inner = (block.get("quant_config") or {}).get("weight_quant_params") or block.get("quant_config") or {}
        return {**block, **inner}
    if method == "torchao" and isinstance(block.get("quant_type"), Mapping):
        default = block["quant_type"].get("default", block["quant_type"])
        return {**block, **(default if isinstance(default, Mapping) else {})}
    if method == "modelopt" and isinstance(block.get("quantization"), Mapping):
        return {**block, **block["quantization"]}
    return block


def _first(block: Mapping[str, Any], keys: Any) -> Any:
    if not isinstance(keys, tuple):
        return keys
    return next((block[k] for k in keys if block.get(k) is not None), None)


def layer_params(method: str, block: Mapping[str, Any]) -> LayerParams:
    """Config bits, group size and details for one method (`CONFIG_KEYS` row)."""
    row = CONFIG_KEYS.get(method, {})
    narrowed = _narrow(method, block)
    details = {DETAIL_NAMES.get(k, k): narrowed[k] for k in row.get("details", ()) if narrowed.get(k) is not None}
    if method == "awq" and "version" not in details and narrowed.get("format"):
        details["version"] = narrowed["format"]
    bits = _first(narrowed, row.get("bits"))
    if method == "bitsandbytes":
        bits = 4 if narrowed.get("load_in_4bit") else 8 if narrowed.get("load_in_8bit") else None
    elif method == "modelopt":
        bits = MODELOPT_ALGO_BITS.get(str(narrowed.get("quant_algo") or "").upper())
    elif method == "quip#":
        bits = QUIP_CODEBOOK_BITS.get(str(narrowed.get("codebook") or ""))
    elif method == "aqlm" and narrowed.get("nbits_per_codebook"):
        groups = (narrowed.get("in_group_size") or 1) * (narrowed.get("out_group_size") or 1)
        bits = narrowed["nbits_per_codebook"] * (narrowed.get("num_codebooks") or 1) / groups
    group = _first(narrowed, row.get("group"))
    return LayerParams(
        bits=bits if isinstance(bits, (int, float)) and not isinstance(bits, bool) else None,
        group_size=int(group) if isinstance(group, (int, float)) else None,
        details=details,
    )


def _from_side_files(side_files: Mapping[str, Any]) -> tuple[str, str, Mapping[str, Any]] | None:
    """(method, source, block) from the first side file a format row names (`QuantFormat.side_files`)."""
    for name, body in side_files.items():
        base = name.rsplit("/", 1)[-1]
        fmt = SIDE_FILE_FORMATS.get(base)
        if fmt is None or not isinstance(body, Mapping):
            continue  # a marker file arrives as {}: its presence is the evidence
        block = {**body, **(body.get(fmt.side_block) or {})} if fmt.side_block else dict(body)
        # A quant_config.json may be written by a producer other than the row's (its quant_method says which).
        method = method_of(body) or fmt.method
        return method, f"side_file:{base}", block
    return None


def _from_metadata(metadata: Mapping[str, str]) -> tuple[str, Mapping[str, Any]] | None:
    if str(metadata.get("format", "")).lower() == "mlx":
        return "mlx", {}
    if "gptq_bits" in metadata:  # AutoGPTQ header hint (PR #208)
        return "gptq", {"bits": _num(metadata.get("gptq_bits")), "group_size": _num(metadata.get("gptq_group_size"))}
    return None


def _num(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _declared(
    config: Mapping[str, Any], side_files: Mapping[str, Mapping[str, Any]], metadata: Mapping[str, str]
) -> tuple[str | None, str | None, Mapping[str, Any], Mapping[str, Any]]:
    """(method, source, block, overrides) from everything except tensor names."""
    block = quantization_block(config)
    if isinstance(config.get("quantization"), Mapping):  # MLX writes `quantization` (and sometimes both)
        mlx = config["quantization"]
        overrides = {k: v for k, v in mlx.items() if isinstance(v, (Mapping, bool))}
        return "mlx", "config", mlx, overrides
    if block:
        method = method_of(block)
        if method:
            return method, "config", block, {}
    if isinstance(config.get("quip_params"), Mapping):
        return "quip#", "config", config["quip_params"], {}
    found = _from_side_files(side_files)
    if found:
        return (*found, {})
    meta = _from_metadata(metadata)
    if meta:
        return meta[0], "header", meta[1], {}
    return None, None, {}, {}


def is_gguf(tensors: Sequence[TensorInfo]) -> bool:
    """GGUF tensor lists carry GGML type names (Q4_K…) or come from `.gguf` files."""
    return any(t.file.endswith(".gguf") for t in tensors) or any(
        t.dtype not in SAFETENSORS_DTYPES and t.dtype.upper() in GGML_TYPES for t in tensors
    )


def sniff(tensors: Sequence[TensorInfo]) -> QuantFormat | None:
    """The format whose distinctive tensor names appear (no config said)."""
    names = {t.name: t for t in tensors}
    qweight = next((t for n, t in names.items() if n.endswith(".qweight")), None)
    if qweight is not None:
        return FORMATS_BY_METHOD[_gptq_or_awq(qweight, names)]
    markers = tuple(m for fmt in FORMATS for m in fmt.markers)
    marked = [n for n in names if n.endswith(markers)]  # one C-level pass; most checkpoints have none
    for fmt in FORMATS if marked else ():
        if fmt.markers and any(n.endswith(fmt.markers) for n in marked):
            return fmt
    if any(t.dtype == "U32" and n.endswith(".weight") and f"{n[:-7]}.scales" in names for n, t in names.items()):
        return FORMATS_BY_METHOD["mlx"]
    if any(_is_8bit(t) and f"{n[:-7]}.weight_scale" in names for n, t in names.items() if n.endswith(".weight")):
        return FORMATS_BY_METHOD["compressed-tensors"]  # ambiguous by header alone; recognise() notes it
    return None


def _is_8bit(t: TensorInfo) -> bool:
    return t.dtype in ("I8",) or t.dtype.startswith("F8_")


def _gptq_or_awq(qweight: TensorInfo, names: Mapping[str, TensorInfo]) -> str:
    """GPTQ (AutoGPTQ qlinear) has g_idx and qweight.shape[1] == scales.shape[1]; AWQ GEMM packs the out dim."""
    module = qweight.name[: -len(".qweight")]
    if f"{module}.g_idx" in names:
        return "gptq"
    scales = names.get(f"{module}.scales")
    if scales is not None and len(scales.shape) == 2 and len(qweight.shape) == 2:
        return "gptq" if scales.shape[1] == qweight.shape[1] else "awq"
    return "gptq"


def declared_quantization(
    config: Mapping[str, Any], side_files: Mapping[str, Any] | None = None
) -> tuple[str, float | None] | None:
    """(method, weight bits) that config.json or a side file declares: for repos whose weight headers were not read,
    where that declaration is all there is."""
    method, _source, block, _ = _declared(config, side_files or {}, {})
    if method is None:
        return None
    return method, layer_params(method, block).bits


def recognise(
    tensors: Sequence[TensorInfo],
    config: Mapping[str, Any] | None = None,
    side_files: Mapping[str, Mapping[str, Any]] | None = None,
    metadata: Mapping[str, str] | None = None,
) -> Recognition:
    """Name the quantization format and collect the config values its shape identities may use."""
    config, metadata = config or {}, metadata or {}
    if is_gguf(tensors):
        return Recognition("gguf", None, "header")
    method, source, block, overrides = _declared(config, side_files or {}, metadata)
    sniffed = sniff(tensors)
    notes: list[str] = []
    if method is None:
        if sniffed is None:
            return Recognition(None, None, None)
        method, source = sniffed.method, "names"
        if not _has_any(tensors, sniffed.markers):
            notes.append("8-bit weights with `weight_scale`: compressed-tensors, fbgemm or ModelOpt FP8 look alike")
    fmt = FORMATS_BY_METHOD.get(method)
    if fmt is not None and not _has_weight(tensors, fmt) and sniffed is not None and sniffed is not fmt:
        notes.append(f"{source} says {method} but tensor names look like {sniffed.method}; counted as {sniffed.method}")
        fmt = sniffed
    if fmt is None:
        notes.append(f"no shape rules for {method}; tensors counted by stored elements")
    params = layer_params(fmt.method if fmt else method, block)
    return Recognition(method, fmt, source, params, overrides, tuple(notes))


def _has_any(tensors: Sequence[TensorInfo], suffixes: tuple[str, ...]) -> bool:
    return bool(suffixes) and any(t.name.endswith(suffixes) for t in tensors)


def _has_weight(tensors: Sequence[TensorInfo], fmt: QuantFormat) -> bool:
    """Whether any tensor carries this format's weights (plain-named `.weight` rules need their marker sibling)."""
    evidence = tuple(r.suffix for r in fmt.weights if not r.suffix.endswith(".weight"))
    evidence += tuple(s for r in fmt.weights if r.suffix.endswith(".weight") for s in r.requires)
    return _has_any(tensors, evidence)


# --- classification ----------------------------------------------------------------------------------------


def plain_label(dtype: str) -> str:
    """Precision family of an unquantized tensor (`BF16` → `bf16`; GGML names lower-cased)."""
    info = SAFETENSORS_DTYPES.get(dtype)
    return info.family if info else dtype.lower()


def _plain(t: TensorInfo) -> TensorRole:
    if t.dtype == "F8_E8M0":  # only ever block scales (MX formats, DeepSeek ue8m0)
        return TensorRole("aux", 0, "fp8")
    return TensorRole("plain", t.numel, plain_label(t.dtype))


def _split(fmt: QuantFormat, tensors: Sequence[TensorInfo]) -> dict[str, tuple[str, str]]:
    """name → (module, suffix) for tensors whose names end with one of the format's suffixes (longest wins)."""
    suffixes = sorted({*fmt.aux, *(r.suffix for r in fmt.weights)}, key=len, reverse=True)
    any_suffix = tuple(suffixes)
    found = {}
    for t in tensors:
        if not t.name.endswith(any_suffix):  # one C-level check spares most tensors the per-suffix scan
            continue
        s = next((s for s in suffixes if t.name.endswith(s) and len(t.name) > len(s)), None)
        if s is not None:
            found[t.name] = (t.name[: -len(s)], s)
    return found


def _module_params(rec: Recognition, module: str, metadata: Mapping[str, str]) -> LayerParams:
    override = rec.overrides.get(module)
    params = replace(rec.params, module=module, metadata=metadata)
    if isinstance(override, Mapping):
        params = replace(
            params, bits=override.get("bits", params.bits), group_size=override.get("group_size", params.group_size)
        )
    return params


def classify(
    tensors: Sequence[TensorInfo], rec: Recognition, metadata: Mapping[str, str] | None = None
) -> dict[str, TensorRole]:
    """Role of every tensor under the recognised format (plain numel where no rule applies)."""
    if rec.method == "gguf":
        return {t.name: TensorRole("plain", t.numel, t.dtype.lower()) for t in tensors}
    if rec.fmt is None:
        return {t.name: _plain(t) for t in tensors}
    split = _split(rec.fmt, tensors)
    modules: dict[str, dict[str, TensorInfo]] = defaultdict(dict)
    for t in tensors:
        if t.name in split:
            module, suffix = split[t.name]
            modules[module][suffix] = t
    return {t.name: _role(t, split.get(t.name), modules, rec, metadata or {}) for t in tensors}


def _role(
    t: TensorInfo,
    where: tuple[str, str] | None,
    modules: Mapping[str, Mapping[str, TensorInfo]],
    rec: Recognition,
    metadata: Mapping[str, str],
) -> TensorRole:
    if where is None or rec.fmt is None:
        return _plain(t)
    module, suffix = where
    siblings = modules[module]
    for rule in rec.fmt.weights:
        if rule.suffix != suffix or (rule.requires and not any(r in siblings for r in rule.requires)):
            continue
        logical = rule.identity(t, siblings, _module_params(rec, module, metadata))
        if logical is not None:
            label = logical.label or _bits_label(logical.bits, rec.fmt.method)
            return TensorRole("weight", logical.elements, label, logical.bits, module)
    if suffix in rec.fmt.aux:
        return TensorRole("aux", 0, plain_label(t.dtype), None, module)
    return _plain(t)


def _bits_label(bits: float | None, method: str) -> str:
    return f"int{int(bits)}" if bits is not None and float(bits).is_integer() else method


# --- summary -----------------------------------------------------------------------------------------------


def summarise(
    rec: Recognition, tensors: Sequence[TensorInfo], roles: Mapping[str, TensorRole], metadata: Mapping[str, str]
) -> tuple[QuantInfo | None, tuple[str, ...]]:
    """`QuantInfo` over the classified tensors, plus cross-check notes."""
    if rec.method is None:
        return None, ()
    if rec.method == "gguf":
        return _gguf_summary(tensors, metadata), ()
    weights = [t for t in tensors if roles[t.name].kind == "weight"]
    quantized = {roles[t.name].module for t in weights}
    aux = sum(t.nbytes for t in tensors if roles[t.name].kind == "aux" and roles[t.name].module in quantized)
    params = sum(roles[t.name].logical for t in weights)
    by_bits: Counter[float | None] = Counter()
    for t in weights:
        by_bits[roles[t.name].bits] += roles[t.name].logical
    bits = by_bits.most_common(1)[0][0] if by_bits else rec.params.bits
    details = dict(rec.params.details)
    notes = []
    if len(by_bits) > 1:
        details["bits_by_layer"] = {str(b): n for b, n in sorted(by_bits.items(), key=lambda kv: str(kv[0]))}
    if rec.params.bits and bits and abs(float(rec.params.bits) - float(bits)) > 0.01:
        notes.append(f"config says {rec.params.bits}-bit but tensor shapes give {bits}-bit for most layers")
    info = QuantInfo(
        method=rec.method,
        bits=bits,
        group_size=rec.params.group_size,
        format_details=details,
        source=rec.source or "names",
        quantized_params=params,
        bits_per_weight=8 * (sum(t.nbytes for t in weights) + aux) / params if params else None,
        layers_quantized=len(weights),
    )
    return info, tuple(notes)


def _gguf_summary(tensors: Sequence[TensorInfo], metadata: Mapping[str, str]) -> QuantInfo:
    quant = [t for t in tensors if t.dtype.upper() not in GGML_UNQUANTIZED]
    types: Counter[str] = Counter()
    for t in quant:
        types[t.dtype.upper()] += t.numel
    dominant = types.most_common(1)[0][0] if types else None
    block, size = GGML_TYPES.get(dominant, (None, None)) if dominant else (None, None)
    params = sum(types.values())
    details: dict[str, Any] = {"types": {k.lower(): v for k, v in types.most_common()}}
    file_type = _num(metadata.get("general.file_type"))
    if file_type is not None:
        details["file_type"] = GGUF_FILE_TYPES.get(file_type, f"unknown({file_type})")
    unknown = sorted({t.dtype for t in tensors if t.dtype.upper() not in GGML_TYPES})
    if unknown:
        details["unknown_types"] = unknown
    return QuantInfo(
        method="gguf",
        bits=8 * size / block if block and size else None,
        group_size=block,
        format_details=details,
        source="header",
        quantized_params=params,
        bits_per_weight=8 * sum(t.nbytes for t in quant) / params if params else None,
        layers_quantized=len(quant),
    )
