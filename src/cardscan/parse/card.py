"""Model-card (README.md) and repo-name hints: what the author *claims* about this repo's own model, where each claim
came from, and how the claims compare with what the weight headers show.

A card talks about many models: the family it belongs to, the models it beats, the base it was tuned from, the
quantizations others made of it. Only what it says of the repo's own model is a claim; everything else stays
evidence. Measured on 100 real cards: `bench/card_eval.py`, `docs/card-hints.md`. Card metadata fields follow the Hub's
model-card spec (https://huggingface.co/docs/hub/model-cards); size labels follow gguf-py's naming
(https://github.com/ggml-org/llama.cpp/blob/master/gguf-py/gguf/utility.py `size_label`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from cardscan.parse.ggml_types import GGML_TYPES, GGUF_TYPE_NAMES
from cardscan.parse.quant_formats import METHOD_ALIASES, TOOL_FORMATS
from cardscan.tensors import DTYPE_ALIASES, SAFETENSORS_DTYPES

__all__ = ["Agreement", "CardInfo", "CardQuant", "Evidence", "compare", "parse_card"]


@dataclass(frozen=True)
class CardQuant:
    """A quantization the card or repo name claims for this repo's weights."""

    method: str | None
    """Storage format (gptq, awq, gguf, exl2, mlx, bitsandbytes, compressed-tensors, fp8, …); None when not said."""
    bits: float | None
    """Claimed bits per weight (4, 8, 4.65 for EXL2 `4.65bpw`); None when not said."""
    scheme: str | None = None
    """Number format of the quantized weights (int4, int8, fp8, nvfp4, mxfp4, nf4, fp4, …); None when not said."""
    tool: str | None = None
    """Algorithm or tool named as having made the weights (gptq, awq, autoround, llm-compressor, imatrix, …)."""
    source: str = "text"
    """Where the claim came from: `name` when every part was read from the repo id, else `text` (card body
    involved) or `yaml` (front matter only)."""


@dataclass(frozen=True)
class Evidence:
    """One hint and the place it came from."""

    field: str
    """CardInfo field the hint feeds (`parameters`, `active_parameters`, `quant_method`, `dtype`, …)."""
    value: object
    """The value read (int counts, str names, float bits, (lo, hi) for ranges)."""
    source: str
    """`yaml` (front matter or the Hub's cardData), `text` (card body) or `name` (repo id)."""
    text: str
    """The snippet the hint came from (≤ 120 characters)."""


@dataclass(frozen=True)
class CardInfo:
    """Everything a model card and repo name claim about a model."""

    present: bool
    """A card existed (its text was given)."""
    parameters: int | None = None
    """Claimed total parameters (7B → 7_000_000_000); None for `8x7B` unless a total is stated."""
    active_parameters: int | None = None
    """Claimed parameters active per token (MoE: `A3B`, "37B activated")."""
    experts: int | None = None
    """Expert count from an `8x7B` / `34Bx2`-style name."""
    expert_size: int | None = None
    """Per-expert model class from an `8x7B`-style name (7e9); not a total."""
    effective_parameters: int | None = None
    """Gemma-3n style "effective" size (`E2B`); not the stored count."""
    non_embedding_parameters: int | None = None
    """Claimed count without embeddings (Qwen "Number of Paramaters (Non-Embedding)")."""
    hub_model_size: int | None = None
    """A copied Hub widget "Model size: 1.1B params": the Hub's storage count, wrong for packed formats."""
    dtypes: tuple[str, ...] = ()
    """Claimed precision families of the stored weights: fp32 fp16 bf16 int8 fp8 int4 fp4 nf4 …"""
    quantization: CardQuant | None = None
    """Claimed quantization; CardQuant(None, None) when the card only says the repo is a quantization."""
    gguf_types: tuple[str, ...] = ()
    """GGUF type names a GGUF card lists (Q4_K_M, Q8_0, …), in order of first mention."""
    base_model: str | list[str] | None = None
    """`base_model` from YAML, or from `base_model:…` tags."""
    base_model_relation: str | None = None
    """adapter | merge | quantized | finetune: YAML, else inferred from tags or `quantized_by`."""
    quantized_by: str | None = None
    """Who made the quantization (TheBloke, bartowski, …)."""
    license: str | None = None
    """YAML `license`."""
    tags: tuple[str, ...] = ()
    """YAML `tags`."""
    library_name: str | None = None
    """YAML `library_name`."""
    pipeline_tag: str | None = None
    """YAML `pipeline_tag`."""
    evidence: tuple[Evidence, ...] = ()
    """Every hint found, including the ones not chosen; for each field the chosen hint comes first."""
    chosen: tuple[Evidence, ...] = ()
    """The hint each chosen count came from (parameters, active_parameters, …): its `source` says name or card."""
    warnings: tuple[str, ...] = ()
    """Problems met while reading the card (bad YAML, no front matter)."""

    def source_of(self, fld: str) -> str | None:
        """`name`, `yaml` or `text` for a chosen field (`quantization` included), None when there is no claim."""
        if fld == "quantization":
            return self.quantization.source if self.quantization else None
        return next((e.source for e in self.chosen if e.field == fld), None)


@dataclass(frozen=True)
class Agreement:
    """How one card claim compares with what the weights show."""

    field: str
    """`parameters`, `active_parameters`, `dtype` or `quantization`."""
    claimed: object
    """The card's claim (None when it makes none)."""
    observed: object
    """What the weights show (None when unknown)."""
    status: str
    """`consistent`, `differs` or `unknown`."""
    note: str
    """One line saying why."""
    claimed_by: str | None = None
    """`card` (front matter or body) or `name` (inferred from the repo id); None when nothing is claimed."""


# ---- fact tables -------------------------------------------------------------------------------------------

_SCALE: dict[str, int] = {
    "k": 10**3, "thousand": 10**3, "m": 10**6, "million": 10**6,
    "b": 10**9, "billion": 10**9, "t": 10**12, "trillion": 10**12, "亿": 10**8,
}  # fmt: skip


@dataclass(frozen=True)
class _Word:
    """What one quantization word on a card says: storage format, number format, bits, tool."""

    method: str | None = None
    scheme: str | None = None
    bits: float | None = None
    tool: str | None = None


# Card vocabulary → facts. Methods are canonical `quant_formats.METHOD_ALIASES` values (plus `gguf`, which has no
# config `quant_method`); tools are `quant_formats.TOOL_FORMATS` keys. Words a card uses for the same thing share a row.
_WORDS: dict[str, _Word] = {
    "gptq": _Word("gptq", tool="gptq"), "awq": _Word("awq", tool="awq"),
    "gguf": _Word("gguf"), "llama.cpp": _Word("gguf", tool="llama.cpp"), "llamacpp": _Word("gguf", tool="llama.cpp"),
    "imatrix": _Word("gguf", tool="imatrix"), "exl2": _Word("exl2"), "exllamav2": _Word("exl2", tool="exllamav2"),
    "exl3": _Word("exl3"), "mlx": _Word("mlx"), "dwq": _Word("mlx", tool="dwq"),
    "hqq": _Word("hqq"), "aqlm": _Word("aqlm"), "eetq": _Word("eetq", "int8", 8), "quanto": _Word("quanto"),
    "torchao": _Word("torchao"), "bitnet": _Word("bitnet"),
    "bnb": _Word("bitsandbytes"), "bitsandbytes": _Word("bitsandbytes"), "nf4": _Word("bitsandbytes", "nf4", 4),
    "autoround": _Word(tool="autoround"), "auto-round": _Word(tool="autoround"), "auto_round": _Word(tool="autoround"),
    "compressed-tensors": _Word("compressed-tensors"), "llm-compressor": _Word("compressed-tensors", tool="llm-compressor"),
    "llmcompressor": _Word("compressed-tensors", tool="llm-compressor"),
    "llm compressor": _Word("compressed-tensors", tool="llm-compressor"),
    "modelopt": _Word("modelopt", tool="modelopt"), "model optimizer": _Word("modelopt", tool="modelopt"),
    "nvfp4": _Word(scheme="nvfp4", bits=4), "mxfp4": _Word(scheme="mxfp4", bits=4), "fp8": _Word(scheme="fp8", bits=8),
    "mxfp8": _Word(scheme="mxfp8", bits=8), "mxfp6": _Word(scheme="mxfp6", bits=6),
    "fp4": _Word(scheme="fp4", bits=4), "int2": _Word(scheme="int2", bits=2), "int3": _Word(scheme="int3", bits=3),
    "int4": _Word(scheme="int4", bits=4), "int8": _Word(scheme="int8", bits=8),
    "w4a16": _Word(scheme="int4", bits=4), "w4a4": _Word(scheme="int4", bits=4), "w4a8": _Word(scheme="int4", bits=4),
    "w8a8": _Word(scheme="int8", bits=8), "w8a16": _Word(scheme="int8", bits=8), "w2a16": _Word(scheme="int2", bits=2),
}  # fmt: skip

# Plain precision words (not quantization) → family; float words as in config `torch_dtype`.
_PRECISION_WORDS: dict[str, str] = {
    "fp32": "fp32", "float32": "fp32", "fp16": "fp16", "float16": "fp16",
    "bf16": "bf16", "bfloat16": "bf16", "float8": "fp8", "f32": "fp32", "f16": "fp16",
}  # fmt: skip

# Number format → precision family (the dtype a claim implies).
_SCHEME_FAMILY: dict[str, str] = {"nvfp4": "fp4", "mxfp4": "fp4", "mxfp8": "fp8", "mxfp6": "fp6"}

# Bits of each precision family, to match "4-bit" claims against packed formats of the same width.
_FAMILY_BITS: dict[str, float] = {
    "fp64": 64, "fp32": 32, "fp16": 16, "bf16": 16, "int8": 8, "fp8": 8, "uint8": 8,
    "fp6": 6, "int6": 6, "int5": 5, "int4": 4, "fp4": 4, "nf4": 4, "int3": 3, "int2": 2, "int1": 1,
}  # fmt: skip

_T = TypeVar("_T")  # element type of `_unique`

# Observed methods that are containers for several number formats: a card naming the format, not the container,
# agrees with them when the format matches (compressed-tensors `mxfp4-pack-quantized`, ModelOpt NVFP4, GGUF MXFP4).
_CONTAINERS = frozenset({"compressed-tensors", "modelopt", "torchao", "gguf", "mlx", "quanto", "fp8", "mxfp4"})
_RELATIONS = ("adapter", "merge", "quantized", "finetune")

# ---- regexes (Python re, IGNORECASE) -----------------------------------------------------------------------

_I = re.IGNORECASE
_NUM = r"\d+(?:[.,]\d+)?"
_UNIT = r"(?:billion|million|trillion|[KMBT])"
_SIZE_LABEL = re.compile(r"(?:^|(?<=[-_/ .(]))(?P<lab>(?:A|\d+x)?\d+(?:[._]\d+)?[KMBT]\d?)(?=$|[-_/ .,:;)])", _I)
_LABEL_PARTS = re.compile(r"(\d+)(?:[._](\d+))?([KMBT])(\d)?", _I)  # 7b1 (Bloom) = 7.1B
_TOTAL_ACTIVE = re.compile(rf"\b({_NUM})([BT])-A({_NUM})([BM])\b", _I)  # Qwen3-30B-A3B, Qwen3.8-2.4T-A95B
_NAME_ACTIVE = re.compile(rf"(?:^|(?<=[-_]))A({_NUM})([BM])(?=$|[-_.])", _I)  # Qwen1.5-MoE-A2.7B, granite-3b-a800m
_EXPERTS = (
    re.compile(rf"(?:^|(?<=[-_ ]))(\d+)x({_NUM})([BM])(?=$|[-_ .])", _I),  # 8x7B
    re.compile(rf"(?:^|(?<=[-_ ]))({_NUM})([BM])x(\d+)(?=$|[-_ .])", _I),  # 34Bx2, 10.7Bx4
    re.compile(r"(?:^|(?<=[-_ ]))(\d{1,2})x(\d+\.\d+)(?=$|[-_ ])", _I),  # Lumosia-MoE-4x10.7 (B implied)
)
_EFFECTIVE = re.compile(rf"\bE({_NUM})B\b", _I)
_QWEN = re.compile(
    rf"Number of Param[ae]ters(?P<ne>\s*\(Non-Embedding\))?\s*:?\s*(?P<t>{_NUM})\s*(?P<tu>[KMBT])\b"
    rf"(?:\s+in total and\s+(?P<a>{_NUM})\s*(?P<au>[KMBT])\s+activated)?",
    _I,
)
# Key-value lines and two-column table rows: `- Number of parameters: 12.9B`, `| Params | 7.3B |`, `Model size: 7B`.
_KV_TOTAL = re.compile(
    rf"^\W*(?:total\s+)?(?:number\s+of\s+)?(?:param(?:eter)?s?|n_parameters|num_params|model\s+size|parameter\s+count)"
    rf"\s*(?:\((?!non)[^)]*\))?\s*[:|]\s*~?\s*(?P<n>{_NUM})\s*(?P<u>{_UNIT})\b",
    _I,
)
_HUB_SIZE = re.compile(rf"Model size\W+({_NUM})\s*([KMBT]) params", _I)
_RANGE = re.compile(rf"from ({_NUM}) (billion|million) to ({_NUM}) (billion|million) param", _I)
_PROSE_TOTAL = re.compile(rf"({_NUM})\s*({_UNIT})\b[\s-]*(?:total\s+)?param(?:eter)?s?\b", _I)
# "a 7B English language model", "is a 34B bilingual Chinese-English dialogue model" (one model, not "models").
_PROSE_MODEL = re.compile(
    rf"(?:^|\b(?:is|was)\s+an?\s+)({_NUM})\s*({_UNIT})\b(?![\w.])[-\s]+(?:[\w-]+\s+){{0,3}}?model\b(?!s)", _I
)
_CJK_TOTAL = re.compile(rf"({_NUM})\s*(亿)\s*(?:个)?参数")  # 160亿参数 = 16B
_PROSE_ACTIVE = (
    re.compile(rf"({_NUM})\s*(billion|[BM])\s+(?:are\s+)?(?:activated|active)(?:\s+param(?:eter)?s)?", _I),
    re.compile(rf"of which ({_NUM})\s*(billion|B)\s+(?:are\s+)?activ", _I),
)
_BPW = re.compile(rf"({_NUM})\s?bpw\b", _I)
_HEAD_BITS = re.compile(r"(?<=bpw)[-_]H(\d)\b", _I)  # EXL2 `4.65bpw_H6`: lm_head bits
# GGUF type names from ggml_types, longest first; `_L` / `_XL` are bartowski's "embed/output at Q8_0" variants.
_GGUF_TYPE = re.compile(
    r"\b(?:" + "|".join(sorted(map(re.escape, GGUF_TYPE_NAMES), key=len, reverse=True)) + r")(?:_XL|_L)?\b", _I
)
_WORD_ALT = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(_WORDS, key=len, reverse=True))
_BITS_WORD = r"(?P<n>[1-8])[-_ ]?bits?"
_QUANT_RE = re.compile(rf"\b(?:{_BITS_WORD}|{_WORD_ALT})\b", _I)
_PRECISION_RE = re.compile(r"\b(?:" + "|".join(_PRECISION_WORDS) + r")\b", _I)
_ANY_WORD = rf"(?:{_BITS_WORD.replace('?P<n>', '')}|{_WORD_ALT}|" + "|".join(_PRECISION_WORDS) + ")"

# Sentences that state what this repo's weights are (the only body text read for quantization and dtype claims).
_CLAIMS = (
    # `Weight quantization: FP8`, `Quantization Scheme W4A16`, `Tensor type: BF16`, `Packing format: auto_round:…`
    re.compile(
        r"^\W*(?P<key>(?:weights?\s+)?quanti[sz]ation(?:\s+(?:scheme|type|method|format|tool))?|quant\s+method|"
        r"method|scheme|packing\s+format|tensor\s+type|dtype|weights?\s+(?:precision|dtype|format))"
        r"\s*[:|]?\s+(?P<v>.+)$",
        _I,
    ),
    # `This repo contains AWQ model files`, `This repo contains the FP8 version of`, `This model is a int4 …`
    re.compile(
        rf"\bthis\s+(?:repo|repository|model|checkpoint)\s+(?:contains|provides|hosts|has|is|was|holds)\s+"
        rf"(?:[\w-]+\s+){{0,3}}?(?P<v>{_ANY_WORD})\b",
        _I,
    ),
    # `obtained by quantizing the weights of [Qwen3-32B] to INT4 data type`, `… to FP4 (NVFP4) data type`
    re.compile(
        rf"\bquanti[sz]\w*\s+(?:[^\s]+\s+){{0,12}}?(?:to|into)\s+(?:the\s+)?(?P<v>{_ANY_WORD})\b"
        rf"(?:\s*\((?P<v2>{_ANY_WORD})\))?",
        _I,
    ),
    # `post-trained with MXFP4 quantization`, `converted to MLX format`, `exported in compressed-tensors format`,
    # `with the NVFP4 scheme`, `Llamacpp imatrix Quantizations of …`
    re.compile(rf"\btrained\s+with\s+(?:native\s+)?(?P<v>{_ANY_WORD})\s+(?:quanti|precision)", _I),
    re.compile(rf"\b(?:converted|exported|saved)\s+(?:to|in|into|as)\s+(?:the\s+)?(?P<v>{_ANY_WORD})\s+format\b", _I),
    re.compile(rf"\bwith\s+the\s+(?P<v>{_ANY_WORD})\s+scheme\b", _I),
    re.compile(r"^\W*(?P<v>llamacpp|llama\.cpp)\s+(?:imatrix\s+)?quanti[sz]ations?\s+of\b", _I),
    # `weights are stored in bfloat16`, `released in bf16 precision` (`This repo contains fp16 files` above)
    re.compile(rf"\bweights\s+(?:are|were)\s+(?:stored\s+|kept\s+|provided\s+|saved\s+)?in\s+(?P<v>{_ANY_WORD})\b", _I),
    re.compile(rf"\b(?:released|stored|shipped|distributed)\s+in\s+(?P<v>{_ANY_WORD})\s+(?:precision|format)\b", _I),
)
# Which tool made the weights: `generated by AutoRound`, `created with llm-compressor`, `GPTQ algorithm is applied`.
_TOOL_CLAIMS = (
    re.compile(
        rf"\b(?:generated|created|made|produced|quanti[sz]ed|obtained|applying|exported)\s+(?:[^\s]+\s+){{0,6}}?"
        rf"(?:by|with|using|via)\s+(?:the\s+)?\[?(?P<v>{_WORD_ALT})\b",
        _I,
    ),
    re.compile(rf"\b(?P<v>{_WORD_ALT})\]?\s+algorithm\s+(?:is|was)\s+applied", _I),
)
# A claim sentence is skipped when it is about loading, running or finding *other* files.
_USAGE = re.compile(
    r"load_in_\dbit|bitsandbytesconfig|\byou\s+(?:can|may|might|could|should)\b|\bif\s+you\b|\bhow\s+to\b|"
    r"\b(?:check|see|try)\b|\bavailable\b|\bversions\b|\brepositor(?:y|ies)\s+available|\blinks?\b|"
    r"\bwe\s+(?:also\s+)?(?:provide|release|offer)|\b(?:two|three|four|several|\d+)\s+(?:[\w-]+\s+)?models\b|\bother\b|\binstead\b|\bnot\s+recommended\b|\bactivation",
    _I,
)
# Before a count in the same clause: a comparison, a bound, another model, a lineage. After it: plural "models",
# "version", or a list continuing ("7B and 13B"). Either way the count is not this model's.
_OTHER_BEFORE = re.compile(
    r"\b(?:less|fewer|more|larger|smaller|bigger)\s+than\b|\b(?:under|below|above|over|beyond|up\s+to|exceed\w*|"
    r"outperform\w*|surpass\w*|beat\w*|rival\w*|compar\w*|competitive|versus|vs|than|like|such\s+as|including|"
    r"among|similar|other|bigger|larger|smaller|previous|earlier|predecessor|distill\w*|teacher|from|to|"
    r"matches|match|best|top)\b",
    _I,
)
_OTHER_AFTER = re.compile(
    r"^\s*(?:-?\s*param\w*\s+)?(?:models|versions?|variants?|counterparts?|llms|class|range|siblings?|sizes?|"
    r"(?:and|or|to)\s+(?:above|below|up|larger|smaller|more|less|\d))\b",
    _I,
)
_LIST_BEFORE = re.compile(rf"{_NUM}\s*{_UNIT}?\s*(?:,|and|or|to|/|-|–)\s*(?:\w+\s+)?$", _I)
_CLAUSE = re.compile(r"(?<![vV]s)\.|[;!?()\[\]—–]|\s-\s|:\s")  # "vs." does not end a clause
_FRONT_MATTER = re.compile(r"^(\s*---(?:\r\n|\r|\n))([\S\s]*?)((?:\r\n|\r|\n)---[ \t]*(\r\n|\n|$))")
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,}).*?^[ \t]*\1[^\n]*$", re.M | re.S)
_NOISE = re.compile(r"<!--.*?-->|https?://\S+|\]\([^)]*\)|<[^>]+>", re.S)
_EMPHASIS = re.compile(r"\*\*|__|`")
_NAME_TOKEN = re.compile(r"[a-z]{3,}")
_GENERIC_TOKENS = frozenset({"model", "card", "chat", "instruct", "base", "the", "for", "and", "with", "version"})


@dataclass(frozen=True)
class _Hint:
    """An Evidence plus how strongly to prefer it among hints for the same field (lower first)."""

    ev: Evidence
    rank: tuple[int, ...] = (0,)
    group: int | None = None
    """Card line the hint came from: a total and an active count on the same line belong together."""


# ---- parse_card --------------------------------------------------------------------------------------------


def parse_card(
    text: str | bytes | None, repo_id: str | None = None, hub_card_data: Mapping[str, Any] | None = None
) -> CardInfo:
    """Read a README.md (bytes or str, may be None) plus the repo id: every claim with its evidence."""
    warnings: list[str] = []
    raw = _decode(text)
    data, body = _split_card(raw, hub_card_data, warnings) if raw is not None else (dict(hub_card_data or {}), "")
    name = repo_id.rsplit("/", 1)[-1] if repo_id else ""
    hints = _name_hints(name) + _yaml_hints(data) + _text_hints(body, name, data)
    tags = tuple(str(t) for t in _as_list(data.get("tags")))
    base, relation, rel_hints = _base_model(data, tags)
    hints += rel_hints
    quant = _pick_quant(hints, relation, data)
    if not (quant and quant.method == "gguf"):  # BF16/F32 in prose are not GGUF type names elsewhere
        hints = [h for h in hints if h.ev.field != "gguf_type"]
    chosen = _choose_counts(hints)
    return CardInfo(
        present=raw is not None,
        parameters=_value(chosen, "parameters"),
        active_parameters=_value(chosen, "active_parameters"),
        experts=_value(chosen, "experts"),
        expert_size=_value(chosen, "expert_size"),
        effective_parameters=_value(chosen, "effective_parameters"),
        non_embedding_parameters=_value(chosen, "non_embedding_parameters"),
        hub_model_size=_value(chosen, "hub_model_size"),
        dtypes=_dtypes(hints, quant),
        quantization=quant,
        gguf_types=_unique(_names(hints, "gguf_type")),
        base_model=base,
        base_model_relation=relation,
        quantized_by=_str_or_none(data.get("quantized_by")),
        license=_str_or_none(data.get("license")),
        tags=tags,
        library_name=_str_or_none(data.get("library_name")),
        pipeline_tag=_str_or_none(data.get("pipeline_tag")),
        evidence=_dedupe([h.ev for h in chosen.values()] + [h.ev for h in hints]),
        chosen=tuple(h.ev for h in chosen.values()),
        warnings=tuple(warnings),
    )


def _decode(text: str | bytes | None) -> str | None:
    """Text without a BOM (a BOM hides the front matter from the Hub's regex) and with `\\n` line ends."""
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig", errors="replace")
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _split_card(raw: str, hub_card_data: Mapping[str, Any] | None, warnings: list[str]) -> tuple[dict[str, Any], str]:
    """(YAML data, body). Bad or list front matter never raises: warn, use the Hub's cardData if given."""
    match = _FRONT_MATTER.search(raw)
    if not match:
        warnings.append("card has no YAML front matter; text hints only")
        return dict(hub_card_data or {}), raw
    body = raw[match.end() :]
    try:
        return _front_matter(match.group(2)), body
    except Exception as exc:  # yaml.YAMLError, ValueError (list front matter), odd field types
        reason = " ".join(str(exc).split())[:100]
        fallback = "; the Hub's cardData used for YAML fields" if hub_card_data else ""
        warnings.append(f"YAML front matter is not valid: {reason}{fallback}; text hints still used")
        return dict(hub_card_data or {}), body


def _front_matter(block: str) -> dict[str, Any]:
    """The YAML block as huggingface_hub's RepoCard reads it (same regex, `yaml.safe_load`, must be a mapping).

    Done here rather than through `huggingface_hub.ModelCard`, whose import (hf_api, httpx2) costs ~0.35 s: more
    than the whole budget of a local scan. Field meaning follows `ModelCardData`.
    """
    import yaml

    # libyaml's C loader when PyYAML was built with it: same safe semantics, ~10× faster on long front matter.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(block, Loader=loader) or {}
    if not isinstance(data, dict):
        raise ValueError(f"front matter is a {type(data).__name__}, not a mapping")
    return data


# ---- hints from the repo name and the front matter ---------------------------------------------------------


def _name_hints(name: str) -> list[_Hint]:
    """Sizes and quantization from the repo name (`Llama-2-7b-hf`, `Qwen3-30B-A3B`, `…-GPTQ`, `…-int4-AutoRound`)."""
    if not name:
        return []
    hints = _size_hints(name, "name", name, labels=True)
    hints += _quant_hints(name.replace("_", "-"), "name", name)
    hints += [_hint("gguf_type", m.group(0).upper(), "name", name) for m in _GGUF_TYPE.finditer(name)]
    return hints


def _yaml_hints(data: Mapping[str, Any]) -> list[_Hint]:
    """Hints from front-matter fields: tags, library_name, TheBloke's `model_name`."""
    hints: list[_Hint] = []
    for tag in _as_list(data.get("tags")):
        tag = str(tag)
        if _QUANT_RE.fullmatch(tag) or _PRECISION_RE.fullmatch(tag):
            hints += _quant_hints(tag, "yaml", f"tags: {tag}")
    lib = str(data.get("library_name") or "")
    if lib.lower() in ("gguf", "llama.cpp", "mlx"):
        hints += _quant_hints("mlx" if lib.lower() == "mlx" else "gguf", "yaml", f"library_name: {lib}")
    model_name = data.get("model_name")
    if isinstance(model_name, str):
        hints += _size_hints(model_name, "yaml", f"model_name: {model_name}", labels=True)
    return hints


def _size_hints(s: str, source: str, snippet: str, *, labels: bool, rank: tuple[int, ...] = (0,)) -> list[_Hint]:
    """Total/active (`30B-A3B`), active (`A2.7B`), experts (`8x7B`, `34Bx2`), effective (`E2B`) and size labels."""
    hints: list[_Hint] = []
    taken: list[tuple[int, int]] = []

    def add(fld: str, value: object, m: re.Match[str]) -> None:
        hints.append(_hint(fld, value, source, snippet, rank))
        taken.append(m.span())

    for m in _TOTAL_ACTIVE.finditer(s):
        add("parameters", _count(m[1], m[2]), m)
        add("active_parameters", _count(m[3], m[4]), m)
    for m in _NAME_ACTIVE.finditer(s):
        if not _overlaps(m.span(), taken):
            add("active_parameters", _count(m[1], m[2]), m)
    for i, pattern in enumerate(_EXPERTS):
        for m in pattern.finditer(s):
            if _overlaps(m.span(), taken):
                continue
            experts, size, unit = (m[1], m[2], m[3]) if i == 0 else (m[3], m[1], m[2]) if i == 1 else (m[1], m[2], "b")
            add("experts", int(experts), m)
            add("expert_size", _count(size, unit), m)
    for m in _EFFECTIVE.finditer(s):
        add("effective_parameters", _count(m[1], "b"), m)
    if labels:
        label = _best_label(s, taken)
        if label is not None:
            hints.append(_hint("parameters", label, source, snippet, rank))
    return hints


def _best_label(s: str, taken: list[tuple[int, int]]) -> int | None:
    """First B/T size label, else first M label; K labels and context lengths (`1M tokens`) are skipped."""
    found: dict[str, int] = {}
    for m in _SIZE_LABEL.finditer(s):
        lab = m["lab"]
        if _overlaps(m.span(), taken) or lab[0] in "aA" or "x" in lab.lower():
            continue
        # `…-128k-context`, `…-1M-tokens`, `…-token-500B` are lengths and token counts; `22B-token-500B` is 22B
        if re.match(
            r"\s*(?:-\s*)?(?:context|tokens|token\b(?![-_ ]\d)|ctx|sequence|seq|length|window|vocab)", s[m.end() :], _I
        ):
            continue
        if re.search(r"(?:context|tokens?)\W*$", s[: m.start()], _I):
            continue
        parts = _LABEL_PARTS.fullmatch(lab)
        if parts is None:
            continue
        whole, frac, unit, trail = parts.groups()
        number = f"{whole}.{frac or trail}" if frac or trail else whole
        found.setdefault("bt" if unit.lower() in "bt" else unit.lower(), _count(number, unit))
    return found.get("bt", found.get("m"))


def _quant_hints(s: str, source: str, snippet: str, rank: tuple[int, ...] = (0,)) -> list[_Hint]:
    """Quant and precision words, bit widths and EXL `bpw` in a name, tag or heading."""
    hints = [_hint("quant_bits", float(m[1].replace(",", ".")), source, snippet, rank) for m in _BPW.finditer(s)]
    hints += [_hint("head_bits", int(m[1]), source, snippet, rank) for m in _HEAD_BITS.finditer(s)]
    for m in _QUANT_RE.finditer(s):
        hints += _word_hints(m.group(0), source, snippet, rank)
    for m in _PRECISION_RE.finditer(s):
        hints += _word_hints(m.group(0), source, snippet, rank)
    return hints


def _word_hints(word: str, source: str, snippet: str, rank: tuple[int, ...], group: int | None = None) -> list[_Hint]:
    """One quant/precision word → method, scheme, bits, tool and precision-family hints."""
    key = " ".join(word.lower().split())
    if key in _PRECISION_WORDS:
        return [_hint("dtype", _PRECISION_WORDS[key], source, snippet, rank, group)]
    bits_m = re.fullmatch(r"([1-8])[-_ ]?bits?", key)
    w = _Word(bits=float(bits_m[1])) if bits_m else _WORDS.get(key)
    if w is None:
        return []
    family = (
        _SCHEME_FAMILY.get(w.scheme, w.scheme) if w.scheme else (f"int{int(w.bits)}" if bits_m and w.bits else None)
    )
    facts = (
        ("quant_method", w.method), ("quant_scheme", w.scheme), ("quant_tool", w.tool),
        ("quant_bits", float(w.bits) if w.bits is not None else None), ("dtype", family),
    )  # fmt: skip
    return [_hint(fld, val, source, snippet, rank, group) for fld, val in facts if val is not None]


# ---- hints from the card body -------------------------------------------------------------------------------


def _text_hints(body: str, name: str, data: Mapping[str, Any]) -> list[_Hint]:
    """Hints from the card body: code, URLs and HTML removed; multi-column tables only for GGUF type names."""
    clean = _EMPHASIS.sub("", _NOISE.sub(" ", _FENCE.sub("", body)))
    hints = [_hint("gguf_type", m.group(0).upper(), "text", _snip(clean, m)) for m in _GGUF_TYPE.finditer(clean)]
    lines = [_prose_line(line) for line in clean.split("\n")]
    mentions = _mentions(lines, name, data)
    for i, line in enumerate(lines):
        if line:
            hints += _count_hints(line, i, mentions)
            hints += _claim_hints(line, i)
    title = _first_heading(clean)
    if title:
        hints += _title_hints(title, name)
    return hints


def _prose_line(line: str) -> str:
    """A line as read for claims: a two-column table row becomes `key: value`; wider table rows are dropped."""
    stripped = line.strip()
    if not stripped.startswith("|"):
        return stripped
    cells = [c.strip() for c in stripped.strip("|").split("|")]
    if len(cells) == 2 and cells[0] and cells[1] and not set(cells[0]) <= set("-: "):
        return f"{cells[0]}: {cells[1]}"
    return ""


def _count_hints(line: str, group: int, mentions: Mapping[int, int]) -> list[_Hint]:
    """Parameter counts said of this model on one line; counts of other models, bounds and lists are dropped."""
    hints: list[_Hint] = []
    taken: list[tuple[int, int]] = []
    near = mentions.get(group, 10**6)

    def add(fld: str, value: object, m: re.Match[str], label: int = 0) -> None:
        hints.append(_Hint(Evidence(fld, value, "text", _snip(line, m)), (label, near, group), group))
        taken.append(m.span())

    for m in _QWEN.finditer(line):
        add("non_embedding_parameters" if m["ne"] else "parameters", _count(m["t"], m["tu"]), m)
        if m["a"]:
            add("active_parameters", _count(m["a"], m["au"]), m)
    for m in _HUB_SIZE.finditer(line):
        add("hub_model_size", _count(m[1], m[2]), m)
    for m in _RANGE.finditer(line):
        add("parameters_range", (_count(m[1], m[2]), _count(m[3], m[4])), m)
    for m in _KV_TOTAL.finditer(line):
        if not _overlaps(m.span(), taken):
            add("parameters", _count(m["n"], m["u"]), m)
    for pattern, label in ((_PROSE_TOTAL, 0), (_CJK_TOTAL, 0), (_PROSE_MODEL, 1)):
        for m in pattern.finditer(line):
            if _overlaps(m.span(), taken):
                continue
            if _about_other(line, m):
                hints.append(_Hint(Evidence("other_parameters", _count(m[1], m[2]), "text", _snip(line, m)), (9,)))
                continue
            add("parameters", _count(m[1], m[2]), m, label)
    for pattern in _PROSE_ACTIVE:
        for m in pattern.finditer(line):
            if not _overlaps(m.span(), taken) and not _about_other(line, m):
                add("active_parameters", _count(m[1], m[2]), m)
    return hints


def _about_other(line: str, m: re.Match[str]) -> bool:
    """Whether the count at `m` is a bound, a comparison, a list member or another model's size."""
    start = m.start()
    window = max(0, start - 50)  # a bounded look-back keeps long lines linear
    clause_start = max((c.end() for c in _CLAUSE.finditer(line, window, start)), default=window)
    before = line[clause_start:start]
    after = line[m.end() : m.end() + 30]
    return bool(_OTHER_BEFORE.search(before) or _OTHER_AFTER.match(after) or _LIST_BEFORE.search(before))


def _claim_hints(line: str, group: int) -> list[_Hint]:
    """Quantization, tool and dtype claims: only sentences stating what this repo's weights are (see `_CLAIMS`)."""
    hints: list[_Hint] = []
    for sentence in re.split(r"(?<=[.!?])\s+", line):
        if _USAGE.search(sentence):
            continue
        for pattern in _CLAIMS:
            m = pattern.search(sentence)
            if not m:
                continue
            words = [m["v2"]] if "v2" in pattern.groupindex and m["v2"] else []
            value = m["v"]
            if "key" in pattern.groupindex:  # key-value: every word in the value counts
                words += [w.group(0) for w in _QUANT_RE.finditer(value)] + _PRECISION_RE.findall(value)
            else:
                words.append(value)
            for word in words:
                hints += _word_hints(word, "text", _snip(sentence, m), (0,), group)
        for pattern in _TOOL_CLAIMS if not re.search(r"\bmodels\b", sentence, _I) else ():  # others' quants
            for m in pattern.finditer(sentence):
                tool = _WORDS.get(" ".join(m["v"].lower().split()))
                if tool and tool.tool:
                    hints.append(_hint("quant_tool", tool.tool, "text", _snip(sentence, m), (0,), group))
    return hints


def _title_hints(title: str, name: str) -> list[_Hint]:
    """The first heading: quant words always; a size label only when it names this repo's model."""
    hints = _quant_hints(title, "text", title, rank=(0,))
    own = (
        not name
        or bool(_tokens(title) & _tokens(name))
        or not re.search(r"\b(?:not|vs|versus|than|compar\w*)\b", title, _I)
    )
    if own and not _size_hints(name, "name", name, labels=True):
        hints += _size_hints(title, "text", title, labels=True, rank=(1, 0, -1))
    return hints


def _tokens(s: str) -> set[str]:
    """Alphabetic tokens (3+ letters) of a name or title, generic words removed."""
    return set(_NAME_TOKEN.findall(s.lower())) - _GENERIC_TOKENS


def _base_model(
    data: Mapping[str, Any], tags: tuple[str, ...]
) -> tuple[str | list[str] | None, str | None, list[_Hint]]:
    """`base_model` and its relation: YAML first, then `base_model:{relation}:{id}` tags, then `quantized_by`."""
    base = data.get("base_model")
    relation = _str_or_none(data.get("base_model_relation"))
    hints = [_hint("base_model", str(b), "yaml", f"base_model: {b}") for b in _as_list(base)]
    for tag in tags:
        parts = tag.split(":", 2)
        if parts[0] != "base_model" or len(parts) < 2:
            continue
        has_rel = len(parts) == 3 and parts[1] in _RELATIONS
        tag_relation, tag_base = (parts[1], parts[2]) if has_rel else (None, tag.split(":", 1)[1])
        base, relation = base or tag_base, relation or tag_relation
        hints.append(_hint("base_model", tag_base, "yaml", f"tags: {tag}"))
        if tag_relation:
            hints.append(_hint("base_model_relation", tag_relation, "yaml", f"tags: {tag}"))
    if relation is None and data.get("quantized_by") and base:
        relation = "quantized"
        hints.append(_hint("base_model_relation", relation, "yaml", f"quantized_by: {data['quantized_by']}"))
    if isinstance(base, (list, tuple)):
        base = [str(b) for b in base] if len(base) != 1 else str(base[0])
    return (str(base) if isinstance(base, str) else base or None), relation, hints


# ---- choosing one value per field --------------------------------------------------------------------------

_COUNT_FIELDS = (
    "parameters", "experts", "expert_size", "effective_parameters", "non_embedding_parameters", "hub_model_size",
)  # fmt: skip


def _choose_counts(hints: list[_Hint]) -> dict[str, _Hint]:
    """The hint chosen for each count field; the active count is taken from the line its total came from."""
    chosen = {f: h for f in _COUNT_FIELDS if (h := _pick_number(hints, f)) is not None}
    active = _pick_active(hints, chosen.get("parameters"))
    if active is not None:
        chosen["active_parameters"] = active
    return chosen


def _value(chosen: Mapping[str, _Hint], fld: str) -> int | None:
    hint = chosen.get(fld)
    return int(hint.ev.value) if hint is not None else None  # type: ignore[call-overload]


def _pick_number(hints: list[_Hint], fld: str) -> _Hint | None:
    """Name/YAML anchor; a text claim replaces it when it is the precise form of the anchor (7B ≈ 6.74B)."""
    own = [h for h in hints if h.ev.field == fld]
    anchors = [h for h in own if h.ev.source != "text"]
    texts = sorted((h for h in own if h.ev.source == "text"), key=lambda h: h.rank)
    if anchors:
        fits = [t for t in texts if _near(anchors[0], t)]
        return next((t for t in fits if t.ev.value != anchors[0].ev.value), fits[0] if fits else anchors[0])
    return texts[0] if texts else None


def _near(anchor: _Hint, text: _Hint) -> bool:
    """A text count is the precise form of a name/YAML label (30.5B for `30B`), either way round."""
    a, t = anchor.ev.value, text.ev.value
    return isinstance(a, int) and isinstance(t, int) and (_rounds_to(a, t) or _rounds_to(t, a))


def _pick_active(hints: list[_Hint], total: _Hint | None) -> _Hint | None:
    """Name anchor (`A3B`) refined by the text; else the active count said on the total's own line (family cards
    list every member's total and active count, one per line); else one value the whole text agrees on."""
    own = [h for h in hints if h.ev.field == "active_parameters"]
    anchors = [h for h in own if h.ev.source != "text"]
    texts = sorted((h for h in own if h.ev.source == "text"), key=lambda h: h.rank)
    same_line = [t for t in texts if total is not None and total.ev.source == "text" and t.group == total.group]
    if anchors:
        return next((t for t in same_line + texts if _near(anchors[0], t)), anchors[0])
    if same_line:
        return same_line[0]
    return texts[0] if len({t.ev.value for t in texts}) == 1 else None


def _pick_quant(hints: list[_Hint], relation: str | None, data: Mapping[str, Any]) -> CardQuant | None:
    """Storage format, number format, bits and tool: the repo name first, then the front matter, then the body's
    claim sentences. MLX alone is a container (bf16 MLX conversions exist), not a quantization claim."""
    picked = {f: _first_by_source(hints, f) for f in ("quant_method", "quant_scheme", "quant_bits", "quant_tool")}
    method, scheme, bits, tool = (h.ev.value if h else None for h in picked.values())
    if method is None and tool is not None:
        method = _WORDS[tool].method if tool in _WORDS else None
    unquantized = any(h.ev.field == "dtype" and h.ev.source == "name" and h.ev.value in ("bf16", "fp16", "fp32")
                      for h in hints)  # fmt: skip
    if (method == "mlx" and scheme is None and bits is None and tool is None) or (unquantized and bits is None):
        method = None
    if method is None and scheme is None and bits is None and tool is None:
        quantized = relation == "quantized" or bool(data.get("quantized_by"))
        return CardQuant(None, None) if quantized else None
    if bits is None and scheme is not None:
        bits = next((w.bits for w in _WORDS.values() if w.scheme == scheme and w.bits), None)
    found = {h.ev.source for h in picked.values() if h}
    source = "name" if found == {"name"} else "text" if "text" in found else "yaml"
    return CardQuant(
        str(method) if method else None,
        float(bits) if bits is not None else None,  # type: ignore[arg-type]
        str(scheme) if scheme else None,
        str(tool) if tool else None,
        source,
    )


def _first_by_source(hints: list[_Hint], fld: str) -> _Hint | None:
    """The first hint from the name, else the front matter, else the body; a more specific scheme wins a tie
    (`FP4 (NVFP4)`)."""
    own = [h for h in hints if h.ev.field == fld]
    for source in ("name", "yaml", "text"):
        found = [h for h in own if h.ev.source == source]
        if found:
            if fld == "quant_scheme":
                specific = [h for h in own if h.ev.value in _SCHEME_FAMILY or h.ev.value == "nf4"]
                if specific and found[0].ev.value in ("fp4", "fp6", "fp8"):
                    return specific[0]
            return found[0]
    return None


def _dtypes(hints: list[_Hint], quant: CardQuant | None) -> tuple[str, ...]:
    """Claimed precision families, in order of first appearance; a scheme's family comes with it."""
    families = _names(hints, "dtype")
    if quant and quant.scheme:
        families.insert(0, _SCHEME_FAMILY.get(quant.scheme, quant.scheme))
    return _unique(families)


# ---- small helpers -----------------------------------------------------------------------------------------


def _names(hints: list[_Hint], fld: str) -> list[str]:
    """The values of `fld`'s hints, for fields whose hints always hold names (`dtype`, `gguf_type`)."""
    return [h.ev.value for h in hints if h.ev.field == fld and isinstance(h.ev.value, str)]


def _hint(
    fld: str, value: object, source: str, snippet: str, rank: tuple[int, ...] = (0,), group: int | None = None
) -> _Hint:
    """A hint whose snippet is cut to 120 characters."""
    return _Hint(Evidence(fld, value, source, " ".join(snippet.split())[:120]), rank, group)


def _snip(s: str, m: re.Match[str]) -> str:
    """About 120 characters of `s` around a match, on one line."""
    pad = max(0, (120 - (m.end() - m.start())) // 2)
    return " ".join(s[max(0, m.start() - pad) : m.end() + pad].split())[:120]


def _count(number: str, unit: str) -> int:
    """'6.53', 'B' → 6_530_000_000; '1,000' is a thousands separator, '1,5' a decimal comma."""
    if "," in number:
        number = number.replace(",", "") if re.fullmatch(r"\d{1,3}(?:,\d{3})+", number) else number.replace(",", ".")
    whole, _, frac = number.partition(".")
    scale = _SCALE[unit.lower()]
    return int(whole) * scale + (int(frac) * scale // 10 ** len(frac) if frac else 0)


def _mentions(lines: Sequence[str], name: str, data: Mapping[str, Any]) -> dict[int, int]:
    """Line index → distance in lines to the nearest line naming the model (repo name, spaced, or `model_name`)."""
    names = {str(data.get("model_name") or "")}
    if name:
        names |= {name, name.replace("-", " ")}
    pattern = "|".join(re.escape(n) for n in names if len(n) > 2)
    hits = [i for i, line in enumerate(lines) if pattern and re.search(pattern, line, _I)]
    if not hits:
        return {}
    return {i: min(abs(i - h) for h in hits) for i in range(len(lines))}


def _first_heading(prose: str) -> str | None:
    """The first Markdown heading's text (usually the model's title)."""
    m = re.search(r"^[ \t]*#{1,6}[ \t]+(.+)$", prose, re.M)
    return m[1].replace("*", "").strip() if m else None


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    """True when `span` intersects any span already used by a stronger pattern."""
    return any(span[0] < e and s < span[1] for s, e in taken)


def _as_list(value: object) -> list[object]:
    """A YAML scalar-or-list as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _str_or_none(value: object) -> str | None:
    """YAML scalar as str (lists keep their first item), None when absent."""
    items = _as_list(value)
    return str(items[0]) if items else None


def _dedupe(evidence: Iterable[Evidence]) -> tuple[Evidence, ...]:
    """Evidence without repeats; GGUF type names keep only their first mention (cards list them many times)."""
    seen: set[object] = set()
    out = []
    for ev in evidence:
        key = (ev.field, ev.value, ev.source) if ev.field == "gguf_type" else ev
        if key not in seen:
            seen.add(key)
            out.append(ev)
    return tuple(out)


def _unique(values: Iterable[_T]) -> tuple[_T, ...]:
    """Values in first-seen order, without repeats."""
    return tuple(dict.fromkeys(values))


# ---- compare -----------------------------------------------------------------------------------------------


def compare(
    card: CardInfo,
    *,
    parameters: int | None,
    active: int | None,
    dtypes: Sequence[str],
    quant_method: str | None,
    quant_bits: float | None,
) -> tuple[Agreement, ...]:
    """Check the card's claims against what the weights show: parameters, active, dtype, quantization.

    A claim inferred from the repo name is reported as the name's ("name says …"), never as the card's."""
    rows = (
        _compare_count("parameters", card.parameters, parameters, _no_total_note(card), _who(card, "parameters")),
        _compare_count(
            "active_parameters", card.active_parameters, active, "card states no active count",
            _who(card, "active_parameters"),
        ),
        _compare_dtypes(card.dtypes, dtypes, quant_bits),
        _compare_quant(card.quantization, dtypes, quant_method, quant_bits),
    )  # fmt: skip
    return rows


def _who(card: CardInfo, fld: str) -> str:
    """`name` when the chosen claim was read from the repo id, else `card`."""
    return "name" if card.source_of(fld) == "name" else "card"


def _rounds_to(claim: int, observed: int) -> bool:
    """A label is consistent within ±15% of the count, or when the count rounds to it at the label's precision."""
    if observed <= 0 or claim <= 0:
        return False
    if abs(claim - observed) <= 0.15 * observed:
        return True
    unit: int = 10 ** (len(str(claim)) - len(str(claim).rstrip("0")))
    return round(observed / unit) * unit == claim


def _compare_count(fld: str, claim: int | None, observed: int | None, silent: str, who: str) -> Agreement:
    """Parameters or active parameters: a rounded label agrees (7B vs 6.74B); 13B vs 6.7B differs."""
    by = who if claim is not None else None
    if claim is None or observed is None:
        note = silent if claim is None else "the weights give no count"
        return Agreement(fld, claim, observed, "unknown", note, by)
    if _rounds_to(claim, observed):
        note = f"{_human(claim)} ({who}) is a rounded {_human(observed)}"
        return Agreement(fld, claim, observed, "consistent", note, by)
    note = f"{who} says {_human(claim)}, weights hold {_human(observed)} ({(claim - observed) / observed:+.0%})"
    if abs(claim - observed) > 7 / 8 * observed:  # gguf-py: that far off, a label is a context length or another model
        note += "; likely another model's size or a context length"
    return Agreement(fld, claim, observed, "differs", note, by)


def _no_total_note(card: CardInfo) -> str:
    """Why there is no total claim to compare."""
    if card.experts and card.expert_size:
        return f"name says {card.experts}x{_human(card.expert_size)} (experts × expert size), not a total"
    return "card states no total"


def _observed_families(dtypes: Sequence[str]) -> set[str]:
    """Header dtypes (safetensors `BF16`, GGUF `Q4_K`, or family names) as precision families."""
    families = set()
    for d in dtypes:
        st = SAFETENSORS_DTYPES.get(d.upper())
        families.add(st.family if st else _gguf_family(d) or DTYPE_ALIASES.get(d.lower(), d.lower()))
    return families


def _gguf_family(name: str) -> str | None:
    """GGML type name → precision family from its block layout (ggml_types): `Q4_K` 4.5 bits → int4."""
    upper = name.upper()
    t = next((t for t in GGML_TYPES.values() if t.name == upper), None)
    if t is None or t.bits_per_weight is None:
        return None
    if upper.startswith(("F", "BF")):
        return {"F32": "fp32", "F16": "fp16", "BF16": "bf16", "F64": "fp64"}.get(upper)
    if "FP4" in upper:
        return "fp4"
    return f"int{int(t.bits_per_weight)}"


def _observed_scheme(dtypes: Sequence[str]) -> str | None:
    """The quantized number format the headers show (by_dtype labels `mxfp4`, `nvfp4`, `nf4`, `int4`, `fp8`…)."""
    for d in dtypes:
        low = d.lower()
        if low in _SCHEME_FAMILY or low == "nf4":
            return low
    families = _observed_families(dtypes)
    return next((f for f in ("fp8", "fp4", "int8", "int6", "int5", "int4", "int3", "int2") if f in families), None)


def _compare_dtypes(claimed: tuple[str, ...], dtypes: Sequence[str], quant_bits: float | None) -> Agreement:
    """Any claimed family among the header families agrees; sub-16-bit claims also agree on the same width."""
    observed = _observed_families(dtypes)
    shown = tuple(sorted(observed))
    by = "card" if claimed else None
    if not claimed or not observed:
        note = "card names no precision" if not claimed else "no header dtypes"
        return Agreement("dtype", claimed or None, shown or None, "unknown", note, by)
    if observed & set(claimed):
        return Agreement("dtype", claimed, shown, "consistent", f"{', '.join(observed & set(claimed))} in headers", by)
    widths = {_FAMILY_BITS.get(f) for f in observed} | ({round(quant_bits)} if quant_bits else set())
    for fam in claimed:
        if _FAMILY_BITS.get(fam, 16) < 16 and int(_FAMILY_BITS[fam]) in widths:
            note = f"{fam}: same {_FAMILY_BITS[fam]:g}-bit width"
            return Agreement("dtype", claimed, shown, "consistent", note, by)
    note = f"card says {', '.join(claimed)}; headers hold {', '.join(shown)}"
    return Agreement("dtype", claimed, shown, "differs", note, by)


def _compare_quant(claim: CardQuant | None, dtypes: Sequence[str], method: str | None, bits: float | None) -> Agreement:
    """Compare quantization by kind, as a user means it: number format and bits first, the container (the config's
    `quant_method`) named apart. A tool agrees with every format it exports (quant_formats.TOOL_FORMATS)."""
    om = _norm_method(method)
    scheme = _observed_scheme(dtypes) if om or bits else None
    seen = _quant_text(CardQuant(om, bits, scheme)) if om or bits else None
    if claim is None:
        return Agreement("quantization", None, seen, "unknown", "card does not mention quantization")
    who = "name" if claim.source == "name" else "card"
    said = _quant_text(claim)

    def row(status: str, note: str, observed: object = seen) -> Agreement:
        return Agreement("quantization", said, observed, status, note, who)

    if om is None and bits is None:
        if "fp8" in (claim.scheme, _norm_method(claim.method)) and "fp8" in _observed_families(dtypes):
            return row("consistent", "fp8 weights without a config", "fp8 weights")
        return row("differs", f"{who} says {said}; weights are not quantized", None)
    problem = _quant_mismatch(claim, om, bits, scheme)
    return row("differs", f"{who} says {problem}") if problem else row("consistent", f"weights are {seen}")


def _quant_mismatch(claim: CardQuant, om: str | None, bits: float | None, scheme: str | None) -> str | None:
    """What the claim says that the weights contradict, or None when they agree."""
    if claim.scheme and scheme and not _same_scheme(claim.scheme, scheme):
        return f"{claim.scheme}, weights are {scheme}"
    cm = _norm_method(claim.method)
    if cm and om and cm != om and not _method_fits(cm, om, claim.scheme, scheme):
        return f"{cm} format, weights are {om}"
    if claim.tool and om and om not in TOOL_FORMATS.get(claim.tool, frozenset({om})):
        return f"made with {claim.tool}, weights are {om}"
    if claim.bits and bits and abs(claim.bits - bits) >= 1:
        return f"{claim.bits:g} bits, weights {bits:g}"
    return None


def _same_scheme(claimed: str, observed: str) -> bool:
    """A generic `fp4`/`fp8` claim matches the MX and NV variants of that width; the variants differ from each other."""
    if claimed == observed:
        return True
    generic = {"fp4", "fp6", "fp8"} & {claimed, observed}
    return bool(generic) and _SCHEME_FAMILY.get(claimed, claimed) == _SCHEME_FAMILY.get(observed, observed)


def _method_fits(cm: str, om: str, claimed_scheme: str | None, scheme: str | None) -> bool:
    """A claimed format agrees with a container holding it, and an algorithm with the formats it exports."""
    if cm in TOOL_FORMATS and om in TOOL_FORMATS[cm]:
        return True
    return (
        om in _CONTAINERS
        and cm in _CONTAINERS
        and (claimed_scheme is None or scheme is None or claimed_scheme == scheme)
    )


def _norm_method(method: str | None) -> str | None:
    """Canonical method as quant.py reports it (`quant_formats.METHOD_ALIASES`), or a card word's method."""
    if not method:
        return None
    low = method.lower()
    word = _WORDS.get(low)
    return METHOD_ALIASES.get(low) or (word.method if word and word.method else low)


def _quant_text(q: CardQuant) -> str:
    """'gptq 4-bit', 'mxfp4 4-bit (compressed-tensors)', 'autoround int4 4-bit', 'quantized'."""
    fmt = q.scheme if q.scheme and q.method in _CONTAINERS else q.method
    parts = [q.tool if q.tool and q.tool != fmt else "", fmt or q.scheme or ""]
    parts += [f"{q.bits:g}-bit"] if q.bits else []
    text = " ".join(p for p in parts if p) or "quantized"
    return f"{text} ({q.method})" if q.method and fmt != q.method else text


def _human(n: int) -> str:
    """6738415616 → '6.74B'."""
    for unit, scale in (("T", 10**12), ("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return str(n)
