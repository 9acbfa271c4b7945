"""GGML tensor types (block size, bytes per block) and GGUF `general.file_type` names, as data.

Sources: https://github.com/ggml-org/llama.cpp/blob/master/gguf-py/gguf/constants.py (`GGMLQuantizationType`,
`GGML_QUANT_SIZES`, `LlamaFileType`), `ggml/include/ggml.h` and `include/llama.h` in the same repository; the file
layout is https://github.com/ggml-org/ggml/blob/master/docs/gguf.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GGMLType:
    """Storage facts of one GGML tensor type."""

    name: str
    """Type name as ggml spells it (`Q4_K`), or `unknown(N)` for an id this table lacks."""
    block_size: int | None
    """Elements per block along dims[0]; None when unknown."""
    type_size: int | None
    """Bytes per block; None when unknown."""

    @property
    def known(self) -> bool:
        """Whether sizes are known, so bytes can be computed."""
        return self.block_size is not None and self.type_size is not None

    @property
    def bits_per_weight(self) -> float | None:
        """Exact stored bits per element (8·bytes/block)."""
        if not self.known:
            return None
        return 8 * self.type_size / self.block_size  # type: ignore[operator]

    def nbytes(self, numel: int) -> int | None:
        """Stored bytes of `numel` elements, or None when unknown or not a whole number of blocks."""
        if not self.known or numel % self.block_size:  # type: ignore[operator]
            return None
        return numel // self.block_size * self.type_size  # type: ignore[operator]


# id: (name, block size, bytes per block) — gguf-py GGML_QUANT_SIZES.
_TABLE: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    # 4, 5 (Q4_2, Q4_3) were removed before GGUF existed.
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    9: ("Q8_1", 32, 40),
    10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66),
    17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18),
    21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2),
    # 31–33 and 36–38: ARM/AVX repacks of Q4_0 / IQ4_NL, removed from gguf-py but present in 2024 Hub uploads;
    # same block layout as their base type (gguf-py 0.10 GGML_QUANT_SIZES).
    31: ("Q4_0_4_4", 32, 18),
    32: ("Q4_0_4_8", 32, 18),
    33: ("Q4_0_8_8", 32, 18),
    34: ("TQ1_0", 256, 54),
    35: ("TQ2_0", 256, 66),
    36: ("IQ4_NL_4_4", 32, 18),
    37: ("IQ4_NL_4_8", 32, 18),
    38: ("IQ4_NL_8_8", 32, 18),
    39: ("MXFP4", 32, 17),
    40: ("NVFP4", 64, 36),
    41: ("Q1_0", 128, 18),
}

GGML_TYPES: dict[int, GGMLType] = {tid: GGMLType(*row) for tid, row in _TABLE.items()}
"""Every GGML type id cardscan knows, with its block layout."""

GGML_TYPE_IDS: dict[str, int] = {t.name: tid for tid, t in GGML_TYPES.items()}
"""Type name → id (for writers and tests)."""


def ggml_type(type_id: int) -> GGMLType:
    """The type for `type_id`; unknown ids (e.g. newer ggml's Q2_0 = 42) give `unknown(N)` with no sizes."""
    return GGML_TYPES.get(type_id) or GGMLType(f"unknown({type_id})", None, None)


# general.file_type (llama.h `llama_ftype`, gguf-py `LlamaFileType`) → the quant label users know.
GGUF_FILE_TYPES: dict[int, str] = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    4: "Q4_1_SOME_F16",
    # 5, 6 removed (Q4_2, Q4_3)
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    33: "Q4_0_4_4",  # removed from llama.h, still in older files
    34: "Q4_0_4_8",
    35: "Q4_0_8_8",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
    39: "NVFP4",
}

GGUF_FILE_TYPE_GUESSED = 1024
"""Flag bit llama.cpp ORs in when the file type was guessed from tensors rather than stated."""

GGUF_TYPE_NAMES: frozenset[str] = frozenset(t.name for t in GGML_TYPES.values()) | frozenset(GGUF_FILE_TYPES.values())
"""Every GGML tensor-type and GGUF file-type name (`Q4_K`, `Q4_K_M`, `IQ2_XXS`, `MXFP4_MOE`): what GGUF cards list."""
