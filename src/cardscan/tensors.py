"""The one value every weight-format parser produces: a tensor as stored, plus the dtype facts table."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DType:
    """Storage facts of one element type."""

    bits: int
    """Bits per stored element (sub-byte for F4/F6)."""
    family: str
    """Normalised precision name used in reports: fp32, bf16, fp16, fp8, int8, uint8, int4, fp4…"""
    is_float: bool
    """True for floating-point element types."""


# Safetensors dtype strings (huggingface/safetensors `Dtype`), with the precision family we report.
SAFETENSORS_DTYPES: dict[str, DType] = {
    "BOOL": DType(8, "bool", False),
    "U8": DType(8, "uint8", False),
    "I8": DType(8, "int8", False),
    "F8_E5M2": DType(8, "fp8", True),
    "F8_E4M3": DType(8, "fp8", True),
    "F8_E4M3FNUZ": DType(8, "fp8", True),
    "F8_E5M2FNUZ": DType(8, "fp8", True),
    "F8_E8M0": DType(8, "fp8", True),
    "F4": DType(4, "fp4", True),
    "F6_E2M3": DType(6, "fp6", True),
    "F6_E3M2": DType(6, "fp6", True),
    "I16": DType(16, "int16", False),
    "U16": DType(16, "uint16", False),
    "F16": DType(16, "fp16", True),
    "BF16": DType(16, "bf16", True),
    "I32": DType(32, "int32", False),
    "U32": DType(32, "uint32", False),
    "F32": DType(32, "fp32", True),
    "C64": DType(64, "complex64", True),
    "F64": DType(64, "fp64", True),
    "I64": DType(64, "int64", False),
    "U64": DType(64, "uint64", False),
}

# Precision words (config `torch_dtype`, card text) → family.
DTYPE_ALIASES: dict[str, str] = {
    "float32": "fp32",
    "fp32": "fp32",
    "f32": "fp32",
    "float": "fp32",
    "float16": "fp16",
    "fp16": "fp16",
    "f16": "fp16",
    "half": "fp16",
    "bfloat16": "bf16",
    "bf16": "bf16",
    "float8": "fp8",
    "fp8": "fp8",
    "float8_e4m3fn": "fp8",
    "float8_e5m2": "fp8",
    "int8": "int8",
    "int4": "int4",
    "fp4": "fp4",
    "nf4": "int4",
}


@dataclass(frozen=True)
class TensorInfo:
    """One stored tensor, as a weight file's header describes it."""

    name: str
    """Tensor name as stored (e.g. `model.layers.0.self_attn.q_proj.weight`)."""
    dtype: str
    """Stored element type: a safetensors dtype string (`BF16`) or a GGUF type name (`Q4_K`)."""
    shape: tuple[int, ...]
    """Stored shape; `()` is a scalar."""
    nbytes: int
    """Exact stored bytes (from data offsets or block sizes, never re-derived from dtype × shape)."""
    file: str = ""
    """Repo-relative path of the file holding it."""

    @property
    def numel(self) -> int:
        """Stored elements (1 for a scalar)."""
        n = 1
        for dim in self.shape:
            n *= dim
        return n
