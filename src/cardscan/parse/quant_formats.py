"""Quantized-checkpoint facts as data: one row per format (tensor names, aux suffixes, shape identities).

Every shape identity below comes from the producing libraries' source (summarised in docs/quant-formats.md:
AutoGPTQ/GPTQModel qlinear, AutoAWQ `awq/modules/linear`, bitsandbytes `functional.py`, transformers
`integrations/{finegrained_fp8,mxfp4}.py`, compressed-tensors compressors, vLLM `modelopt.py`, hqq `quantize.py`,
AQLM `inference.py`, quip-sharp `quantized_linear.py`, exllamav2/v3, torchao `safetensors_support.py`, mlx-lm).
Adding a format is adding a `QuantFormat` row (recognition, config keys, side files; and, when its shape rule is new,
one short identity function): `METHOD_ALIASES`, `CONFIG_KEYS` and the side files fetch reads derive from the rows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from cardscan.parse import ggml_types as _ggml
from cardscan.tensors import SAFETENSORS_DTYPES, TensorInfo


class Logical(NamedTuple):
    """What one weight-carrying tensor stands for."""

    elements: int
    """Logical parameters (in·out of the unpacked weight)."""
    bits: float | None
    """Weight bits of this layer (from shapes where possible), None when unknown."""
    label: str | None = None
    """Precision label for `by_dtype`; None means `int{bits}`."""


@dataclass(frozen=True)
class LayerParams:
    """What an identity may know beyond shapes: config values and the module it is looking at."""

    bits: float | None = None
    """Configured weight bits (cross-check / fallback only)."""
    group_size: int | None = None
    """Configured group size (`-1` means per-channel)."""
    details: Mapping[str, Any] = field(default_factory=dict)
    """Format-specific config values (version, quant_type, axis, strategy…)."""
    module: str = ""
    """Module prefix of the tensor (`model.layers.0.self_attn.q_proj`)."""
    metadata: Mapping[str, str] = field(default_factory=dict)
    """Safetensors `__metadata__` (torchao stores logical shapes there)."""


Identity = Callable[[TensorInfo, Mapping[str, TensorInfo], LayerParams], "Logical | None"]


def _container_bits(t: TensorInfo) -> int:
    return SAFETENSORS_DTYPES[t.dtype].bits if t.dtype in SAFETENSORS_DTYPES else 32


def _itemsize(t: TensorInfo) -> int:
    return max(_container_bits(t) // 8, 1)


def _clean(bits: float) -> float:
    """3.0 → 3 so labels read `int3`; fractional EXL2 bits stay floats."""
    return round(bits) if abs(bits - round(bits)) < 1e-6 else round(bits, 4)


def _rows(t: TensorInfo) -> int:
    return math.prod(t.shape[:-1]) if t.shape else 1


# --- shape identities (docs/quant-formats.md) -------------------------------------------------------------------------


def gptq_qweight(w: TensorInfo, sib: Mapping[str, TensorInfo], p: LayerParams) -> Logical | None:
    """`qweight [in·b/W, out]` packed along in; in = len(g_idx), else from qzeros' per-layer bits."""
    if len(w.shape) != 2:
        return None
    width, out = _container_bits(w), w.shape[1]
    n_in: float
    if ".g_idx" in sib:
        n_in = sib[".g_idx"].shape[0]
    elif ".qzeros" in sib and out:
        n_in = w.shape[0] * out / sib[".qzeros"].shape[-1]  # qzeros [G, out·b/W] gives this layer's b
    elif p.bits:
        n_in = w.shape[0] * width / p.bits
    else:
        return None
    n_in = round(n_in)
    return Logical(n_in * out, _clean(w.shape[0] * width / n_in))


def awq_qweight(w: TensorInfo, sib: Mapping[str, TensorInfo], p: LayerParams) -> Logical | None:
    """GEMM `[in, out·b/32]`, GEMV `[out, in·b/32]`, GEMV_fast I16 `[out/4, in]`, Marlin numel·8."""
    version = str(p.details.get("version") or "").lower()
    bits = p.bits or 4
    if version == "marlin":
        return Logical(w.numel * 8, 4)
    if w.dtype == "I16" or version == "gemv_fast":
        return Logical(int(w.numel * 16 / bits), bits)
    scales = sib.get(".scales")
    if version == "gemv" or (not version and scales is not None and scales.shape[0] == w.shape[0]):
        return Logical(int(w.shape[0] * w.shape[1] * 32 / bits), bits)
    out = scales.shape[1] if scales is not None else int(w.shape[1] * 32 / bits)
    return Logical(w.shape[0] * out, _clean(w.shape[1] * 32 / out))


def bnb_4bit(w: TensorInfo, sib: Mapping[str, TensorInfo], p: LayerParams) -> Logical | None:
    """`[X, 1]` in quant_storage dtype: 2 nibbles per byte of storage (BF16 storage holds 4)."""
    if len(w.shape) > 2 or (len(w.shape) == 2 and w.shape[1] != 1):
        return None
    if ".weight.quant_state.bitsandbytes__fp4" in sib:
        label = "fp4"
    elif ".weight.quant_state.bitsandbytes__nf4" in sib:
        label = "nf4"
    else:
        label = str(p.details.get("quant_type") or "nf4")
    return Logical(w.numel * 2 * _itemsize(w), 4, label)


def numel_8bit(w: TensorInfo, sib: Mapping[str, TensorInfo], p: LayerParams) -> Logical | None:
    """Unpacked 8-bit weight (LLM.int8, EETQ, int8/fp8 W8A8): one element per parameter."""
    family = SAFETENSORS_DTYPES.get(w.dtype)
    if family is None or family.bits != 8 or w.dtype == "U8":
        return None
    return Logical(w.numel, 8, "fp8" if family.is_float else "int8")


def fp8_block(w: TensorInfo, sib: Mapping[str, TensorInfo], p: LayerParams) -> Logical | None:
    """F8 weights count numel; I8/U8 next to a scale are packed fp4 experts (DeepSeek-V4) → ×2."""
    if w.dtype in ("I8", "U8"):
        return Logical(w.numel * 2, 4, "fp4")
    return numel_8bit(w, sib, p)


def ct_packed(w: TensorInfo, sib: Mapping[str, TensorInfo], p: LayerParams) -> Logical | None:
    """compressed-tensors `weight_packed`: U8 fp4 ×2; I32 packs along the last (input) dim."""
    if w.dtype == "U8":
        scale = sib.get(".weight_scale")
        nv = ".weight_global_scale" in sib or (scale is not None and scale.dtype.startswith("F8"))
        return Logical(w.numel * 2, 4, "nvfp4" if nv else "mxfp4")
    cols, rows, gs = w.shape[-1], _rows(w), p.group_size or 0
    scale = sib.get(".weight_scale")
    if scale is not None and gs > 0 and p.details.get("strategy", "group") == "group" and scale.shape[-1] > 1:
        n_in = scale.shape[-1] * gs  # exact under both the current and the legacy packing
        return Logical(rows * n_in, p.bits or _clean(round(cols * 32 / n_in)))
    if not p.bits:
        return None
    return Logical(rows * int(cols * 32 / p.bits), p.bits)


def ct_dense(w: TensorInfo, sib: Mapping[str, TensorInfo], p: LayerParams) -> Logical | None:
    """compressed-tensors int-/float-quantized `weight` (I8/F8 next to `weight_scale`): numel. W4AFP8 keeps int4
    values unpacked in I8: the values have the config's bits, the storage has 8."""
    logical = numel_8bit(w, sib, p)
    if logical is not None and w.dtype == "I8" and p.bits and p.bits < 8:
        return Logical(logical.elements, p.bits)
    return logical


def ct_sparse24(w: TensorInfo, sib: Mapping[str, TensorInfo], p: LayerParams) -> Logical | None:
    """2:4 sparse `compressed [out, in/2]`: half the values are stored."""
    return Logical(w.numel * 2, _clean(8 * w.nbytes / (w.numel * 2)))


def packed_fp4(w: TensorInfo, sib: Mapping[str, TensorInfo], p: LayerParams) -> Logical | None:
    """gpt-oss `*_blocks` U8 `[E, rows, G, 16]`: two fp4 values per byte."""
    return Logical(w.numel * 2, 4, "mxfp4")


def modelopt_weight(w: TensorInfo, sib: Mapping[str, TensorInfo], p: LayerParams) -> Logical | None:
    """ModelOpt NVFP4 stores a plain-named U8 `weight` (marked by `weight_scale_2`); FP8 is numel."""
    if w.dtype == "U8" and ".weight_scale_2" in sib:
        return Logical(w.numel * 2, 4, "nvfp4")
    return numel_8bit(w, sib, p) if ".weight_scale" in sib else None


def hqq_wq(w: TensorInfo, sib: Mapping[str, TensorInfo], p: LayerParams) -> Logical | None:
    """HQQ `W_q`: axis 1 → scale.shape[0]·W_q.shape[1]; axis 0 → scale.shape[1]·group_size."""
    scale = sib.get(".scale")
    if scale is None or len(scale.shape) != 2:
        return None
    if scale.shape[1] == 1:
        n = scale.shape[0] * w.shape[-1]
    elif p.group_size:
        n = scale.shape[1] * p.group_size
    else:
        return None
    # hqq packs 3-bit as ten values per int32 word; U8 packing (8/4/2/1 bit) is exact from bytes.
    return Logical(n, p.bits or (3 if w.dtype == "I32" else _clean(8 * w.nbytes / n)))


def aqlm_codes(w: TensorInfo, sib: Mapping[str, TensorInfo], p: LayerParams) -> Logical | None:
    """AQLM `codes [out/og, in/ig, C]`, `codebooks [C, 2^nbits, og, ig]`."""
    cb = sib.get(".codebooks")
    if cb is None or len(cb.shape) != 4 or len(w.shape) != 3:
        return None
    og, ig = cb.shape[2], cb.shape[3]
    bits = w.shape[2] * math.log2(cb.shape[1]) / (og * ig)
    return Logical(w.shape[0] * og * w.shape[1] * ig, _clean(bits), "aqlm")


def quip_qidxs(w: TensorInfo, sib: Mapping[str, TensorInfo], p: LayerParams) -> Logical | None:
    """QuIP# `Qidxs`: logical = len(SU)·len(SV) (the Hadamard sign vectors)."""
    n = sib[".SU"].numel * sib[".SV"].numel
    return Logical(n, _clean(8 * w.nbytes / n), "quip#")


def exl2_qweight(w: TensorInfo, sib: Mapping[str, TensorInfo], p: LayerParams) -> Logical | None:
    """EXL2 `q_weight [Σ rows·bits/32, out]`; in = len(q_invperm); bits per layer from the rows."""
    n_in = sib[".q_invperm"].numel
    return Logical(n_in * w.shape[-1], _clean(w.shape[0] * 32 / n_in), "exl2")


def exl3_trellis(w: TensorInfo, sib: Mapping[str, TensorInfo], p: LayerParams) -> Logical | None:
    """EXL3 `trellis I16 [in/16, out/16, 16·K]`: K bits per weight."""
    if len(w.shape) != 3:
        return None
    return Logical(w.shape[0] * 16 * w.shape[1] * 16, _clean(w.shape[2] / 16), "exl3")


# torchao tensor-subclass `_type` → (elements per stored element, bits, label).
TORCHAO_TYPES: dict[str, tuple[int, int, str]] = {
    "Int4Tensor": (2, 4, "int4"),
    "Int4PreshuffledTensor": (2, 4, "int4"),
    "IntxUnpackedToInt8Tensor": (1, 8, "int8"),
    "Int8Tensor": (1, 8, "int8"),
    "Float8Tensor": (1, 8, "fp8"),
}
# transformers `TorchAoConfig` `quant_type` config class → the tensor subclass it saves (torchao quant_api.py).
TORCHAO_CONFIG_TYPES: dict[str, str] = {
    "Int4WeightOnlyConfig": "Int4Tensor",
    "Int8WeightOnlyConfig": "Int8Tensor",
    "Int8DynamicActivationInt8WeightConfig": "Int8Tensor",
    "Float8WeightOnlyConfig": "Float8Tensor",
    "Float8DynamicActivationFloat8WeightConfig": "Float8Tensor",
}


def torchao_qdata(w: TensorInfo, sib: Mapping[str, TensorInfo], p: LayerParams) -> Logical | None:
    """torchao `_weight_qdata`: the logical shape is in `__metadata__[module.weight]._data.shape`."""
    try:
        info = json.loads(p.metadata.get(f"{p.module}.weight", "{}"))
    except (TypeError, ValueError):
        info = {}
    kind = info.get("_type") or TORCHAO_CONFIG_TYPES.get(str(p.details.get("_type")), "")
    per, bits, label = TORCHAO_TYPES.get(kind, (1, None, None))
    shape = (info.get("_data") or {}).get("shape")
    n = math.prod(shape) if isinstance(shape, list) and shape else w.numel * per
    return Logical(n, bits or _clean(8 * w.nbytes / n), label)


def mlx_weight(w: TensorInfo, sib: Mapping[str, TensorInfo], p: LayerParams) -> Logical | None:
    """MLX `weight U32 [out, in·b/32]` + `scales [out, in/gs]`: numel·32/b, b per module."""
    if w.dtype != "U32":
        return None
    bits = p.bits
    if not bits and p.group_size and ".scales" in sib:
        bits = _clean(w.shape[-1] * 32 / (sib[".scales"].shape[-1] * p.group_size))
    if not bits:
        return None
    mode = str(p.details.get("mode") or "affine")
    return Logical(int(w.numel * 32 / bits), bits, mode if mode != "affine" else None)


def bitnet_weight(w: TensorInfo, sib: Mapping[str, TensorInfo], p: LayerParams) -> Logical | None:
    """BitNet b1.58 `weight U8 [out/4, in]`: four ternary values per byte."""
    if w.dtype != "U8":
        return None
    return Logical(w.numel * 4, 1.58, "ternary")


@dataclass(frozen=True)
class WeightRule:
    """One weight-carrying tensor name of a format."""

    suffix: str
    """Name ending, separator included (`.qweight`, `_blocks`)."""
    identity: Identity
    """Shape identity giving the logical elements; returns None when the tensor is not quantized after all."""
    requires: tuple[str, ...] = ()
    """Sibling suffixes of which one must exist (a plain-named `.weight` is quantized only next to these)."""


@dataclass(frozen=True)
class QuantFormat:
    """One quantization format: how to recognise it and how to read its tensors."""

    method: str
    """Canonical method name reported in `QuantInfo.method`."""
    weights: tuple[WeightRule, ...]
    """Weight-carrying tensors, tried in order."""
    aux: tuple[str, ...]
    """Auxiliary suffixes: stored bytes, zero parameters."""
    markers: tuple[str, ...] = ()
    """Suffixes that identify the format by name alone (sniffing when no config says)."""
    aliases: tuple[str, ...] = ()
    """`quant_method` strings producers write for it (besides `method` itself)."""
    config: Mapping[str, Any] = field(default_factory=dict)
    """Where bits, group size and details sit in its config block: {"bits": keys or a fixed value, "group": …,
    "details": keys} (searched recursively inside the quantization block)."""
    side_files: tuple[str, ...] = ()
    """Files beside the weights that name the format (fetch reads them; their `quant_method` wins if present)."""
    side_block: str | None = None
    """Key of a side file whose value holds the settings (ModelOpt's `quantization`)."""
    marker_files: tuple[str, ...] = ()
    """Files whose presence alone names the format (listed, never read)."""


_BNB_AUX = (
    ".weight.absmax",
    ".weight.quant_map",
    ".weight.nested_absmax",
    ".weight.nested_quant_map",
    ".weight.quant_state.bitsandbytes__nf4",
    ".weight.quant_state.bitsandbytes__fp4",
)
_CT_AUX = (
    ".weight_scale",
    ".weight_shape",
    ".weight_zero_point",
    ".weight_g_idx",
    ".weight_global_scale",
    ".input_global_scale",
    ".input_scale",
    ".input_zero_point",
    ".output_scale",
    ".k_scale",
    ".v_scale",
    ".bitmask",
    ".shape",
)
# hqq `HQQLinear.state_dict` meta entries stored next to W_q (hqq/core/quantize.py).
_HQQ_META = "scale zero shape nbits group_size axis packing unpack_view_dtype view_as_float channel_wise optimize"
# hqq 0.2.8 also writes per-module `quant_scale`, `quant_zero`, `stores_quant_config` (U8 scalars; seen in checkpoints
# it saved, tests/fixtures/real_quant).
_HQQ_AUX = tuple(
    f".{n}"
    for n in f"{_HQQ_META} round_zero compute_dtype encoded_state_dict offload_meta quant_scale quant_zero "
    "stores_quant_config".split()
)

# Table order is sniffing priority: the most specific markers first.
# Sources of the config keys: transformers `utils/quantization_config.py`, AutoAWQ `quant_config.json`,
# compressed-tensors `QuantizationArgs`, hqq `BaseQuantizeConfig`, mlx-lm `quantization`. `bits` is a fixed value
# where the format has one.
# fmt: off
FORMATS: list[QuantFormat] = [
    QuantFormat(
        "gptq", (WeightRule(".qweight", gptq_qweight),), (".qzeros", ".scales", ".g_idx"), (".g_idx",),
        config={"bits": ("bits",), "group": ("group_size",),
                "details": ("desc_act", "sym", "checkpoint_format", "pack_dtype", "dynamic", "lm_head")},
        side_files=("quantize_config.json",),
    ),
    QuantFormat(
        "awq", (WeightRule(".qweight", awq_qweight),), (".qzeros", ".scales"),
        config={"bits": ("bits", "w_bit"), "group": ("group_size", "q_group_size"), "details": ("version", "zero_point")},
        side_files=("quant_config.json",),
    ),
    QuantFormat(
        "bitsandbytes",
        (WeightRule(".weight", bnb_4bit, _BNB_AUX), WeightRule(".weight", numel_8bit, (".SCB",))),
        (*_BNB_AUX, ".SCB", ".weight_format"),
        (".weight.absmax", ".weight.quant_state.bitsandbytes__nf4", ".weight.quant_state.bitsandbytes__fp4", ".SCB"),
        config={"details": ("bnb_4bit_quant_type", "bnb_4bit_use_double_quant", "bnb_4bit_quant_storage",
                            "load_in_4bit", "load_in_8bit")},
    ),
    QuantFormat(
        "modelopt",
        (WeightRule(".weight", modelopt_weight, (".weight_scale_2", ".weight_scale")),),
        (".weight_scale", ".weight_scale_2", ".input_scale", ".output_scale", ".k_scale", ".v_scale"),
        (".weight_scale_2",),
        config={"group": ("group_size",), "details": ("quant_algo", "kv_cache_quant_algo")},
        side_files=("hf_quant_config.json",), side_block="quantization",
    ),
    QuantFormat(
        "compressed-tensors",
        (
            WeightRule(".weight_packed", ct_packed),
            WeightRule(".compressed", ct_sparse24, (".bitmask",)),
            WeightRule(".weight", ct_dense, (".weight_scale",)),
        ),
        _CT_AUX,
        (".weight_packed", ".weight_shape", ".weight_global_scale", ".bitmask"),
        aliases=("compressed_tensors",),
        config={"bits": ("num_bits",), "group": ("group_size",),
                "details": ("format", "strategy", "type", "actorder", "symmetric")},
    ),
    QuantFormat(
        "fp8",
        (WeightRule(".weight", fp8_block, (".weight_scale_inv", ".weight_scale")),),
        (".weight_scale_inv", ".weight_scale", ".activation_scale", ".input_scale"),
        (".weight_scale_inv",),
        aliases=("fbgemm_fp8", "finegrained_fp8"),
        config={"bits": 8, "details": ("fmt", "weight_block_size", "activation_scheme", "scale_fmt", "expert_dtype")},
    ),
    QuantFormat(
        "mxfp4", (WeightRule("_blocks", packed_fp4),), ("_scales",), ("_blocks",),
        config={"bits": 4, "group": 32, "details": ("modules_to_not_convert",)},
    ),
    QuantFormat(
        "hqq", (WeightRule(".W_q", hqq_wq),), _HQQ_AUX, (".W_q",),
        config={"bits": ("nbits",), "group": ("group_size",), "details": ("axis",)},
    ),
    QuantFormat(
        "eetq", (WeightRule(".weight", numel_8bit, (".weight_scales",)),), (".weight_scales",), (".weight_scales",),
        config={"bits": 8, "details": ("weights",)},
    ),
    QuantFormat(
        "aqlm", (WeightRule(".codes", aqlm_codes),), (".codebooks", ".scales"), (".codebooks",),
        config={"group": ("in_group_size",),
                "details": ("in_group_size", "out_group_size", "num_codebooks", "nbits_per_codebook")},
    ),
    QuantFormat(
        "quip#",
        (WeightRule(".Qidxs", quip_qidxs, (".SU",)),),
        (".SU", ".SV", ".Wscale", ".codebook_id", ".fuse_scales"),
        (".Qidxs",),
        aliases=("quip",),
        config={"details": ("codebook", "codesz", "packsz", "idx_dtype")},
    ),
    QuantFormat(
        "exl2",
        (WeightRule(".q_weight", exl2_qweight, (".q_invperm",)),),
        (".q_scale", ".q_scale_max", ".q_groups", ".q_invperm", ".q_perm"),
        (".q_invperm", ".q_groups"),
        config={"bits": ("bits",), "details": ("head_bits",)},
        marker_files=("measurement.json",),  # exllamav2's convert.py writes it beside every EXL2 export
    ),
    QuantFormat(
        "exl3",
        (WeightRule(".trellis", exl3_trellis),),
        (".suh", ".svh", ".su", ".sv", ".mcg", ".mul1"),
        (".trellis",),
        config={"bits": ("bits",), "details": ("head_bits", "codebook")},
    ),
    QuantFormat(
        "torchao",
        (WeightRule("._weight_qdata", torchao_qdata),),
        ("._weight_scale", "._weight_zero_point", "._weight_act_pre_scale"),
        ("._weight_qdata",),
        config={"details": ("_type",)},
    ),
    QuantFormat(
        "mlx", (WeightRule(".weight", mlx_weight, (".scales",)),), (".scales", ".biases"), (".biases",),
        config={"bits": ("bits",), "group": ("group_size",), "details": ("mode",)},
    ),
    QuantFormat(
        "bitnet", (WeightRule(".weight", bitnet_weight, (".weight_scale",)),), (".weight_scale",),
        config={"bits": 1.58, "details": ("linear_class", "quantization_mode")},
    ),
]
# fmt: on

FORMATS_BY_METHOD: dict[str, QuantFormat] = {f.method: f for f in FORMATS}
# Methods a config can name that have no tensor layout of their own here (counted as plain tensors).
CONFIG_ONLY_METHODS: tuple[str, ...] = ("higgs", "quanto")

# Quantization algorithms and tools → the storage formats (canonical methods above, plus `gguf`) their output is
# saved in. A card naming the tool agrees with any of them: AutoRound exports gptq/awq/its own auto-round layout
# (read as gptq) and GGUF (intel/auto-round `export/`); llm-compressor's GPTQ/AWQ modifiers save compressed-tensors
# (vllm-project/llm-compressor); mlx-lm has its own GPTQ/AWQ/DWQ (ml-explore/mlx-lm `quant/`).
TOOL_FORMATS: dict[str, frozenset[str]] = {
    "gptq": frozenset({"gptq", "compressed-tensors", "mlx", "exl2"}),
    "awq": frozenset({"awq", "compressed-tensors", "mlx", "gguf"}),
    "autoround": frozenset({"gptq", "awq", "autoround", "gguf", "compressed-tensors", "mlx"}),
    "llm-compressor": frozenset({"compressed-tensors"}),
    "modelopt": frozenset({"modelopt", "compressed-tensors"}),
    "llama.cpp": frozenset({"gguf"}),
    "imatrix": frozenset({"gguf"}),
    "dwq": frozenset({"mlx"}),
    "exllamav2": frozenset({"exl2"}),
}

# ModelOpt `quant_algo` → weight bits (NVIDIA TensorRT Model Optimizer `hf_quant_config.json`).
MODELOPT_ALGO_BITS: dict[str, int] = {
    "NVFP4": 4,
    "W4A16_NVFP4": 4,
    "NVFP4_AWQ": 4,
    "W4A8_AWQ": 4,
    "INT4_AWQ": 4,
    "FP8": 8,
    "MXFP8": 8,
    "INT8_SQ": 8,
}

# QuIP# codebook → weight bits (quip-sharp `lib/codebook/`).
QUIP_CODEBOOK_BITS: dict[str, int] = {"E8P12": 2, "E8P12RVQ3B": 3, "E8P12RVQ4B": 4, "HI4B1C": 4}


def _method_aliases() -> dict[str, str]:
    aliases = {m: m for m in CONFIG_ONLY_METHODS}
    for f in FORMATS:
        aliases.update({a: f.method for a in (f.method, *f.aliases)})
    return aliases


# `quant_method` strings as producers write them → canonical method (transformers `QuantizationMethod`).
METHOD_ALIASES: dict[str, str] = _method_aliases()
# Config keys per method, from the rows.
CONFIG_KEYS: dict[str, Mapping[str, Any]] = {f.method: f.config for f in FORMATS if f.config}
# Side file name → the format it names, in row order: fetch reads the side files and notes the marker files.
SIDE_FILE_FORMATS: dict[str, QuantFormat] = {name: f for f in FORMATS for name in (*f.side_files, *f.marker_files)}
QUANT_SIDE_FILES: list[str] = [name for f in FORMATS for name in f.side_files]
QUANT_MARKER_FILES: list[str] = [name for f in FORMATS for name in f.marker_files]


def register(fmt: QuantFormat) -> QuantFormat:
    """Add a format row at run time; every table derived from the rows learns it (in place, so importers see it)."""
    FORMATS.append(fmt)
    FORMATS_BY_METHOD[fmt.method] = fmt
    METHOD_ALIASES.update({a: fmt.method for a in (fmt.method, *fmt.aliases)})
    if fmt.config:
        CONFIG_KEYS[fmt.method] = fmt.config
    SIDE_FILE_FORMATS.update({name: fmt for name in (*fmt.side_files, *fmt.marker_files)})
    QUANT_SIDE_FILES.extend(fmt.side_files)
    QUANT_MARKER_FILES.extend(fmt.marker_files)
    return fmt


# GGML tensor types by name → (block size, type size in bytes); the facts live in ggml_types.py.
GGML_TYPES: dict[str, tuple[int, int]] = {
    t.name: (t.block_size, t.type_size) for t in _ggml.GGML_TYPES.values() if t.block_size and t.type_size
}
# GGML types that hold unquantized values (counted as plain precision, not as quantized layers).
GGML_UNQUANTIZED: frozenset[str] = frozenset({"F32", "F16", "BF16", "F64", "I8", "I16", "I32", "I64"})

# `general.file_type` ids (gguf-py `LlamaFileType`), from ggml_types.py.
GGUF_FILE_TYPES: dict[int, str] = _ggml.GGUF_FILE_TYPES
