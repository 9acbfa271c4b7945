"""Model-card (README.md) and repo-name hints: what the author *claims*, where each claim came from, and how the
claims compare with what the weight headers show. Reference: spec/quant-formats.md §9, spec/hub-protocol.md §9."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cardscan.tensors import DTYPE_ALIASES, SAFETENSORS_DTYPES

__all__ = ["Agreement", "CardInfo", "CardQuant", "Evidence", "compare", "parse_card"]


@dataclass(frozen=True)
class CardQuant:
    """A quantization the card or repo name claims."""

    method: str | None
    """Normalised method (gptq, awq, gguf, bitsandbytes, fp8, exl2, mlx, …); None when only a bit width is said."""
    bits: float | None
    """Claimed bits per weight (4, 8, 4.65 for EXL2 `4.65bpw`); None when not said."""


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
    """Expert count from an `8x7B`-style name."""
    expert_size: int | None = None
    """Per-expert model class from an `8x7B`-style name (7e9); not a total."""
    effective_parameters: int | None = None
    """Gemma-3n style "effective" size (`E2B`); not the stored count."""
    non_embedding_parameters: int | None = None
    """Claimed count without embeddings (Qwen "Number of Paramaters (Non-Embedding)")."""
    hub_model_size: int | None = None
    """A copied Hub widget "Model size: 1.1B params": the Hub's storage count, wrong for packed formats."""
    dtypes: tuple[str, ...] = ()
    """Claimed precision families: fp32 fp16 bf16 int8 fp8 int4 fp4 nf4 …"""
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
    """Every hint found, including the ones not chosen."""
    warnings: tuple[str, ...] = ()
    """Problems met while reading the card (bad YAML, no front matter)."""


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


# ---- fact tables -------------------------------------------------------------------------------------------

_SCALE: dict[str, int] = {
    "k": 10**3, "thousand": 10**3, "m": 10**6, "million": 10**6,
    "b": 10**9, "billion": 10**9, "t": 10**12, "trillion": 10**12,
}  # fmt: skip

# Quant words (spec quant-formats.md §9 "quant words" and tag list) → (method, bits, precision family).
_QUANT_WORDS: dict[str, tuple[str | None, float | None, str | None]] = {
    "gptq": ("gptq", None, None), "awq": ("awq", None, None), "gguf": ("gguf", None, None),
    "exl2": ("exl2", None, None), "exl3": ("exl3", None, None), "mlx": ("mlx", None, None),
    "dwq": ("mlx", None, None), "hqq": ("hqq", None, None), "aqlm": ("aqlm", None, None),
    "bnb": ("bitsandbytes", None, None), "bitsandbytes": ("bitsandbytes", None, None),
    "nf4": ("bitsandbytes", 4, "nf4"), "autoround": ("autoround", None, None),
    "auto-round": ("autoround", None, None), "compressed-tensors": ("compressed-tensors", None, None),
    "llm-compressor": ("compressed-tensors", None, None), "modelopt": ("modelopt", None, None),
    "llama.cpp": ("gguf", None, None), "llamacpp": ("gguf", None, None), "imatrix": ("gguf", None, None),
    "nvfp4": ("nvfp4", 4, "fp4"), "mxfp4": ("mxfp4", 4, "fp4"), "fp8": ("fp8", 8, "fp8"),
    "fp4": (None, 4, "fp4"), "int2": (None, 2, "int2"), "int3": (None, 3, "int3"),
    "int4": (None, 4, "int4"), "int8": (None, 8, "int8"),
    "w4a16": (None, 4, "int4"), "w4a4": (None, 4, "int4"), "w8a8": (None, 8, "int8"),
    "w8a16": (None, 8, "int8"), "w2a16": (None, 2, "int2"),
}  # fmt: skip

# Plain precision words (not quantization) → family; float words as in config `torch_dtype`.
_PRECISION_WORDS: dict[str, str] = {
    "fp32": "fp32", "float32": "fp32", "fp16": "fp16", "float16": "fp16",
    "bf16": "bf16", "bfloat16": "bf16", "float8": "fp8", "f32": "fp32", "f16": "fp16",
}  # fmt: skip

# Bits of each precision family, to match "4-bit" claims against packed formats of the same width.
_FAMILY_BITS: dict[str, float] = {
    "fp64": 64, "fp32": 32, "fp16": 16, "bf16": 16, "int8": 8, "fp8": 8, "uint8": 8,
    "fp6": 6, "int6": 6, "int5": 5, "int4": 4, "fp4": 4, "nf4": 4, "int3": 3, "int2": 2,
}  # fmt: skip

# GGUF type-name prefix → precision family (ggml-org gguf-py constants.py; the bits are the integer width).
_GGUF_FAMILY: dict[str, str] = {
    "F32": "fp32", "F16": "fp16", "BF16": "bf16", "Q8": "int8", "Q6": "int6", "Q5": "int5", "Q4": "int4",
    "IQ4": "int4", "Q3": "int3", "IQ3": "int3", "Q2": "int2", "IQ2": "int2", "MXFP4": "fp4",
}  # fmt: skip

# Card method words naming a number format that several tools produce (observed config method may differ).
_FORMAT_METHODS: dict[str, frozenset[str]] = {
    "fp8": frozenset({"fp8", "fbgemm_fp8", "compressed-tensors", "modelopt"}),
    "nvfp4": frozenset({"nvfp4", "modelopt", "compressed-tensors"}),
    "mxfp4": frozenset({"mxfp4"}),
}
_METHOD_ALIASES: dict[str, str] = {
    "bnb": "bitsandbytes", "llm-compressor": "compressed-tensors", "auto-round": "autoround",
    "auto_round": "autoround", "llama.cpp": "gguf", "compressed_tensors": "compressed-tensors",
}  # fmt: skip
_RELATIONS = ("adapter", "merge", "quantized", "finetune")

# ---- regexes (spec quant-formats.md §9, Python re, IGNORECASE) ---------------------------------------------

_I = re.IGNORECASE
_NUM = r"\d+(?:\.\d+)?"
_SIZE_LABEL = re.compile(r"(?:^|(?<=[-_/ .(]))(?P<lab>(?:A|\d+x)?\d+(?:[._]\d+)?[KMBT]\d?)(?=$|[-_/ .,:;)])", _I)
_LABEL_PARTS = re.compile(r"(\d+)(?:[._](\d+))?([KMBT])(\d)?", _I)  # 7b1 (Bloom) = 7.1B
_TOTAL_ACTIVE = re.compile(rf"\b({_NUM})B-A({_NUM})B\b", _I)
_EXPERTS = re.compile(rf"\b(\d+)x({_NUM})([BM])\b", _I)
_EFFECTIVE = re.compile(rf"\bE({_NUM})B\b", _I)
_QWEN = re.compile(
    rf"Number of Param[ae]ters(?P<ne>\s*\(Non-Embedding\))?\**:?\**\s*(?P<t>{_NUM})\s*(?P<tu>[KMBT])\b"
    rf"(?:\s+in total and\s+(?P<a>{_NUM})\s*(?P<au>[KMBT])\s+activated)?",
    _I,
)
_HUB_SIZE = re.compile(rf"Model size\W+({_NUM})\s*([KMBT]) params", _I)
_RANGE = re.compile(rf"from ({_NUM}) (billion|million) to ({_NUM}) (billion|million) param", _I)
_PROSE_TOTAL = re.compile(
    r"(\d+(?:[.,]\d+)?)\s*(billion|million|trillion|[KMBT])\b[\s-]*(?:total\s+)?param(?:eter)?s?\b", _I
)
_PROSE_ACTIVE = (
    re.compile(rf"({_NUM})\s*(billion|[BM])\s+(?:are\s+)?(?:activated|active)(?:\s+param(?:eter)?s)?", _I),
    re.compile(rf"of which ({_NUM})\s*(billion|B)\s+(?:are\s+)?activ", _I),
)
_BPW = re.compile(rf"({_NUM})\s?bpw\b", _I)
_HEAD_BITS = re.compile(r"(?<=bpw)[-_]H(\d)\b", _I)  # EXL2 `4.65bpw_H6`: lm_head bits
_GGUF_TYPE = re.compile(
    r"\b(?:I?Q[1-8]_(?:0|1|K(?:_[SML]|_XL)?|XXS|XS|S|M|NL)|TQ[12]_0|MXFP4(?:_MOE)?|BF16|F16|F32)\b", _I
)
_QUANT_RE = re.compile(r"\b(?:(?P<n>[2-8])-?bits?|" + "|".join(map(re.escape, _QUANT_WORDS)) + r")\b", _I)
_PRECISION_RE = re.compile(r"\b(?:" + "|".join(_PRECISION_WORDS) + r")\b", _I)
# Words that make a nearby precision/quant word a claim about *these* weights.
_CONTEXT = re.compile(r"quantiz|precision|dtype|data format|weights|tensor type|\bbpw\b", _I)
_NEAR = 80
# A size label followed by these is a context length / token count, not a model size.
_NOT_SIZE_AFTER = re.compile(r"\s*(?:-\s*)?(?:context|tokens?|ctx|sequence|seq|length|window|vocab)", _I)
_FRONT_MATTER = re.compile(r"^(\s*---(?:\r\n|\r|\n))([\S\s]*?)((?:\r\n|\r|\n)---[ \t]*(\r\n|\n|$))")
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,}).*?^[ \t]*\1[^\n]*$", re.M | re.S)
_NOISE = re.compile(r"<!--.*?-->|https?://\S+|\]\([^)]*\)|<[^>]+>", re.S)


@dataclass(frozen=True)
class _Hint:
    """An Evidence plus how strongly to prefer it among hints for the same field (lower first)."""

    ev: Evidence
    rank: tuple[int, ...] = (0,)


# ---- parse_card --------------------------------------------------------------------------------------------


def parse_card(text: str | bytes | None, repo_id: str | None = None, hub_card_data: Mapping | None = None) -> CardInfo:
    """Read a README.md (bytes or str, may be None) plus the repo id: every claim with its evidence."""
    warnings: list[str] = []
    raw = _decode(text)
    data, body = _split_card(raw, hub_card_data, warnings) if raw is not None else (dict(hub_card_data or {}), "")
    hints = _name_hints(repo_id) + _yaml_hints(data) + _text_hints(body, repo_id, data)
    tags = tuple(str(t) for t in _as_list(data.get("tags")))
    base, relation, rel_hints = _base_model(data, tags)
    hints += rel_hints
    quant = _pick_quant(hints, relation, data)
    if not (quant and quant.method == "gguf"):  # BF16/F32 in prose are not GGUF type names elsewhere
        hints = [h for h in hints if h.ev.field != "gguf_type"]
    return CardInfo(
        present=raw is not None,
        parameters=_pick_number(hints, "parameters"),
        active_parameters=_pick_number(hints, "active_parameters"),
        experts=_pick_number(hints, "experts"),
        expert_size=_pick_number(hints, "expert_size"),
        effective_parameters=_pick_number(hints, "effective_parameters"),
        non_embedding_parameters=_pick_number(hints, "non_embedding_parameters"),
        hub_model_size=_pick_number(hints, "hub_model_size"),
        dtypes=_unique(h.ev.value for h in hints if h.ev.field == "dtype"),
        quantization=quant,
        gguf_types=_unique(h.ev.value for h in hints if h.ev.field == "gguf_type"),
        base_model=base,
        base_model_relation=relation,
        quantized_by=_str_or_none(data.get("quantized_by")),
        license=_str_or_none(data.get("license")),
        tags=tags,
        library_name=_str_or_none(data.get("library_name")),
        pipeline_tag=_str_or_none(data.get("pipeline_tag")),
        evidence=_dedupe(h.ev for h in hints),
        warnings=tuple(warnings),
    )


def _decode(text: str | bytes | None) -> str | None:
    """Text without a BOM (a BOM hides the front matter from the Hub's regex) and with `\\n` line ends."""
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig", errors="replace")
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _split_card(raw: str, hub_card_data: Mapping | None, warnings: list[str]) -> tuple[dict, str]:
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


def _front_matter(block: str) -> dict:
    """The YAML block as huggingface_hub's RepoCard reads it (same regex, `yaml.safe_load`, must be a mapping).

    Done here rather than through `huggingface_hub.ModelCard`, whose import (hf_api, httpx2) costs ~0.35 s: more
    than the whole budget of a local scan. Field meaning follows `ModelCardData`.
    """
    import yaml

    data = yaml.safe_load(block) or {}
    if not isinstance(data, dict):
        raise ValueError(f"front matter is a {type(data).__name__}, not a mapping")
    return data


def _name_hints(repo_id: str | None) -> list[_Hint]:
    """Sizes and quantization from the repo name (`Llama-2-7b-hf`, `Qwen3-30B-A3B`, `…-GPTQ`)."""
    if not repo_id:
        return []
    name = repo_id.rsplit("/", 1)[-1]
    hints = _size_hints(name, "name", name, labels=True)
    hints += _quant_hints(name.replace("_", "-"), "name", name)
    hints += [_hint("gguf_type", m.group(0).upper(), "name", name) for m in _GGUF_TYPE.finditer(name)]
    return hints


def _yaml_hints(data: Mapping) -> list[_Hint]:
    """Hints from front-matter fields: tags, library_name, TheBloke's `model_name`."""
    hints: list[_Hint] = []
    for tag in _as_list(data.get("tags")):
        tag = str(tag)
        if _QUANT_RE.fullmatch(tag):
            hints += _quant_hints(tag, "yaml", f"tags: {tag}")
    lib = str(data.get("library_name") or "")
    if lib.lower() in ("gguf", "llama.cpp", "mlx"):
        hints += _quant_hints("mlx" if lib.lower() == "mlx" else "gguf", "yaml", f"library_name: {lib}")
    model_name = data.get("model_name")
    if isinstance(model_name, str):
        hints += _size_hints(model_name, "yaml", f"model_name: {model_name}", labels=True)
    return hints


def _text_hints(body: str, repo_id: str | None, data: Mapping) -> list[_Hint]:
    """Hints from the card body: code, URLs and HTML removed; tables only for GGUF type names."""
    clean = _NOISE.sub(" ", _FENCE.sub("", body))
    hints = [_hint("gguf_type", m.group(0).upper(), "text", _snip(clean, m)) for m in _GGUF_TYPE.finditer(clean)]
    prose = "\n".join("" if line.lstrip().startswith("|") else line for line in clean.split("\n"))
    mentions = _mentions(prose, repo_id, data)
    hints += _phrase_hints(prose, mentions)
    title = _first_heading(prose)
    if title:
        hints += _size_hints(title, "text", title, labels=True, rank=(1, 0, -1))
        hints += _quant_hints(title, "text", title, rank=(0,))
    hints += _context_hints(prose)
    return hints


def _phrase_hints(prose: str, mentions: list[int]) -> list[_Hint]:
    """Explicit parameter phrases, ranked by distance to a mention of the model's name."""
    hints: list[_Hint] = []
    taken: list[tuple[int, int]] = []

    def add(fld: str, value: object, m: re.Match, label: int = 0) -> None:
        rank = (label, _distance(m.start(), mentions), m.start())
        hints.append(_Hint(Evidence(fld, value, "text", _snip(prose, m)), rank))
        taken.append(m.span())

    for m in _QWEN.finditer(prose):
        add("non_embedding_parameters" if m["ne"] else "parameters", _count(m["t"], m["tu"]), m)
        if m["a"]:
            add("active_parameters", _count(m["a"], m["au"]), m)
    for m in _HUB_SIZE.finditer(prose):
        add("hub_model_size", _count(m[1], m[2]), m)
    for m in _RANGE.finditer(prose):
        add("parameters_range", (_count(m[1], m[2]), _count(m[3], m[4])), m)
    for m in _PROSE_TOTAL.finditer(prose):
        if not _overlaps(m.span(), taken):
            add("parameters", _count(m[1], m[2]), m)
    for pattern in _PROSE_ACTIVE:
        for m in pattern.finditer(prose):
            if not _overlaps(m.span(), taken):
                add("active_parameters", _count(m[1], m[2]), m)
    # Model names in prose (`Qwen3-235B-A22B`) rank below explicit phrases: they may name other models.
    for m in _TOTAL_ACTIVE.finditer(prose):
        add("parameters", _count(m[1], "b"), m, label=1)
        add("active_parameters", _count(m[2], "b"), m, label=1)
    for m in _EXPERTS.finditer(prose):
        add("experts", int(m[1]), m, label=1)
        add("expert_size", _count(m[2], m[3]), m, label=1)
    return hints


def _context_hints(prose: str) -> list[_Hint]:
    """Precision and quant words said near "precision / dtype / quantized / weights" (else too noisy)."""
    hints: list[_Hint] = []
    for line in prose.split("\n"):
        spans = [m.span() for m in _CONTEXT.finditer(line)]
        if not spans:
            continue
        for m in list(_QUANT_RE.finditer(line)) + list(_PRECISION_RE.finditer(line)):
            if any(s - _NEAR <= m.start() and m.end() <= e + _NEAR for s, e in spans):
                hints += _word_hints(m, "text", _snip(line, m), rank=(1,))
    return hints


def _size_hints(s: str, source: str, snippet: str, *, labels: bool, rank: tuple[int, ...] = (0,)) -> list[_Hint]:
    """Total/active (`30B-A3B`), experts (`8x7B`), effective (`E2B`) and plain size labels in a short name."""
    hints: list[_Hint] = []
    taken: list[tuple[int, int]] = []
    for m in _TOTAL_ACTIVE.finditer(s):
        hints += [_hint("parameters", _count(m[1], "b"), source, snippet, rank)]
        hints += [_hint("active_parameters", _count(m[2], "b"), source, snippet, rank)]
        taken.append(m.span())
    for m in _EXPERTS.finditer(s):
        hints += [_hint("experts", int(m[1]), source, snippet, rank)]
        hints += [_hint("expert_size", _count(m[2], m[3]), source, snippet, rank)]
        taken.append(m.span())
    for m in _EFFECTIVE.finditer(s):
        hints.append(_hint("effective_parameters", _count(m[1], "b"), source, snippet, rank))
        taken.append(m.span())
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
        if _NOT_SIZE_AFTER.match(s, m.end()) or re.search(r"context\W*$", s[: m.start()], _I):
            continue
        whole, frac, unit, trail = _LABEL_PARTS.fullmatch(lab).groups()
        number = f"{whole}.{frac or trail}" if frac or trail else whole
        found.setdefault("bt" if unit.lower() in "bt" else unit.lower(), _count(number, unit))
    return found.get("bt", found.get("m"))


def _quant_hints(s: str, source: str, snippet: str, rank: tuple[int, ...] = (0,)) -> list[_Hint]:
    """Quant words, bit widths and EXL `bpw` in a name, tag or heading."""
    hints = [_hint("quant_bits", float(m[1]), source, snippet, rank) for m in _BPW.finditer(s)]
    hints += [_hint("head_bits", int(m[1]), source, snippet, rank) for m in _HEAD_BITS.finditer(s)]
    for m in _QUANT_RE.finditer(s):
        hints += _word_hints(m, source, snippet, rank)
    return hints


def _word_hints(m: re.Match, source: str, snippet: str, rank: tuple[int, ...]) -> list[_Hint]:
    """One matched quant/precision word → method, bits and precision-family hints."""
    word = m.group(0).lower()
    if word in _PRECISION_WORDS:
        return [_hint("dtype", _PRECISION_WORDS[word], source, snippet, rank)]
    method, bits, family = (None, float(m["n"]), f"int{m['n']}") if m["n"] else _QUANT_WORDS[word]
    facts = (("quant_method", method), ("quant_bits", None if bits is None else float(bits)), ("dtype", family))
    return [_hint(fld, val, source, snippet, rank) for fld, val in facts if val is not None]


def _base_model(data: Mapping, tags: tuple[str, ...]) -> tuple[str | list[str] | None, str | None, list[_Hint]]:
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


def _pick_quant(hints: list[_Hint], relation: str | None, data: Mapping) -> CardQuant | None:
    """Method and bits: repo name, then YAML, then the heading, then one unambiguous body claim."""
    method = _pick_text_or_anchor(hints, "quant_method")
    bits = _pick_text_or_anchor(hints, "quant_bits")
    if method is None and bits is None:
        quantized = relation == "quantized" or bool(data.get("quantized_by"))
        return CardQuant(None, None) if quantized else None
    return CardQuant(method, float(bits) if bits is not None else None)


def _pick_text_or_anchor(hints: list[_Hint], fld: str) -> object:
    """Name/YAML value first; else the best-ranked text value if the text agrees on one value."""
    own = [h for h in hints if h.ev.field == fld]
    anchors = [h.ev.value for h in own if h.ev.source != "text"]
    if anchors:
        return anchors[0]
    texts = sorted((h for h in own if h.ev.source == "text"), key=lambda h: h.rank)
    if texts and (texts[0].rank == (0,) or len({h.ev.value for h in texts}) == 1):
        return texts[0].ev.value
    return None


def _pick_number(hints: list[_Hint], fld: str) -> int | None:
    """Name/YAML anchor; a text claim is preferred when it is the precise form of the anchor (7B ≈ 6.74B)."""
    own = [h for h in hints if h.ev.field == fld]
    anchors = [h.ev.value for h in own if h.ev.source != "text"]
    texts = [h.ev.value for h in sorted((h for h in own if h.ev.source == "text"), key=lambda h: h.rank)]
    if anchors:
        return next((t for t in texts if _rounds_to(anchors[0], t) or _rounds_to(t, anchors[0])), anchors[0])
    return texts[0] if texts else None


# ---- small helpers -----------------------------------------------------------------------------------------


def _hint(fld: str, value: object, source: str, snippet: str, rank: tuple[int, ...] = (0,)) -> _Hint:
    """A hint whose snippet is cut to 120 characters."""
    return _Hint(Evidence(fld, value, source, " ".join(snippet.split())[:120]), rank)


def _snip(s: str, m: re.Match) -> str:
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


def _mentions(prose: str, repo_id: str | None, data: Mapping) -> list[int]:
    """Offsets where the model's own name appears (repo name, with spaces for dashes, or `model_name`)."""
    names = {str(data.get("model_name") or "")}
    if repo_id:
        name = repo_id.rsplit("/", 1)[-1]
        names |= {name, name.replace("-", " ")}
    return sorted(m.start() for n in names if len(n) > 2 for m in re.finditer(re.escape(n), prose, _I))


def _distance(pos: int, mentions: list[int]) -> int:
    """Characters to the nearest mention of the model name (0 when the name never appears)."""
    return min((abs(pos - p) for p in mentions), default=0)


def _first_heading(prose: str) -> str | None:
    """The first Markdown heading's text (usually the model's title)."""
    m = re.search(r"^[ \t]*#{1,6}[ \t]+(.+)$", prose, re.M)
    return m[1].replace("*", "").strip() if m else None


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    """True when `span` intersects any span already used by a stronger pattern."""
    return any(span[0] < e and s < span[1] for s, e in taken)


def _as_list(value: object) -> list:
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
    seen: set = set()
    out = []
    for ev in evidence:
        key = (ev.field, ev.value, ev.source) if ev.field == "gguf_type" else ev
        if key not in seen:
            seen.add(key)
            out.append(ev)
    return tuple(out)


def _unique(values: Iterable) -> tuple:
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
    """Check the card's claims against what the weights show: parameters, active, dtype, quantization."""
    return (
        _compare_count("parameters", card.parameters, parameters, _no_total_note(card)),
        _compare_count("active_parameters", card.active_parameters, active, "card states no active count"),
        _compare_dtypes(card.dtypes, dtypes, quant_bits),
        _compare_quant(card.quantization, dtypes, quant_method, quant_bits),
    )


def _rounds_to(claim: int, observed: int) -> bool:
    """A label is consistent within ±15% of the count, or when the count rounds to it at the label's precision."""
    if observed <= 0 or claim <= 0:
        return False
    if abs(claim - observed) <= 0.15 * observed:
        return True
    unit = 10 ** (len(str(claim)) - len(str(claim).rstrip("0")))
    return round(observed / unit) * unit == claim


def _compare_count(fld: str, claim: int | None, observed: int | None, silent: str) -> Agreement:
    """Parameters or active parameters: a rounded label agrees (7B vs 6.74B); 13B vs 6.7B differs."""
    if claim is None or observed is None:
        note = silent if claim is None else "the weights give no count"
        return Agreement(fld, claim, observed, "unknown", note)
    if _rounds_to(claim, observed):
        return Agreement(fld, claim, observed, "consistent", f"{_human(claim)} is a rounded {_human(observed)}")
    note = f"card says {_human(claim)}, weights hold {_human(observed)} ({(claim - observed) / observed:+.0%})"
    if abs(claim - observed) > 7 / 8 * observed:  # gguf-py: that far off, a label is a context length or another model
        note += "; likely another model's size or a context length"
    return Agreement(fld, claim, observed, "differs", note)


def _no_total_note(card: CardInfo) -> str:
    """Why there is no total claim to compare."""
    if card.experts and card.expert_size:
        return f"card names {card.experts}x{_human(card.expert_size)} (experts × expert size), not a total"
    return "card states no total"


def _observed_families(dtypes: Sequence[str]) -> set[str]:
    """Header dtypes (safetensors `BF16`, GGUF `Q4_K`, or family names) as precision families."""
    families = set()
    for d in dtypes:
        st = SAFETENSORS_DTYPES.get(d.upper())
        gguf = next((f for p, f in _GGUF_FAMILY.items() if re.match(rf"{p}(_|$)", d.upper())), None)
        families.add(st.family if st else gguf or DTYPE_ALIASES.get(d.lower(), d.lower()))
    return families


def _compare_dtypes(claimed: tuple[str, ...], dtypes: Sequence[str], quant_bits: float | None) -> Agreement:
    """Any claimed family among the header families agrees; sub-16-bit claims also agree on the same width."""
    observed = _observed_families(dtypes)
    shown = tuple(sorted(observed))
    if not claimed or not observed:
        note = "card names no precision" if not claimed else "no header dtypes"
        return Agreement("dtype", claimed or None, shown or None, "unknown", note)
    if observed & set(claimed):
        return Agreement("dtype", claimed, shown, "consistent", f"{', '.join(observed & set(claimed))} in headers")
    widths = {_FAMILY_BITS.get(f) for f in observed} | ({round(quant_bits)} if quant_bits else set())
    for fam in claimed:
        if _FAMILY_BITS.get(fam, 16) < 16 and int(_FAMILY_BITS[fam]) in widths:
            return Agreement("dtype", claimed, shown, "consistent", f"{fam}: same {_FAMILY_BITS[fam]:g}-bit width")
    return Agreement(
        "dtype", claimed, shown, "differs", f"card says {', '.join(claimed)}; headers hold {', '.join(shown)}"
    )


def _compare_quant(claim: CardQuant | None, dtypes: Sequence[str], method: str | None, bits: float | None) -> Agreement:
    """Method (with format words like fp8 matching any tool that makes them) and bit width (within 1 bit)."""
    seen = _quant_text(CardQuant(method, bits)) if method or bits else None
    if claim is None:
        return Agreement("quantization", None, seen, "unknown", "card does not mention quantization")
    said = _quant_text(claim)
    cm, om = _norm_method(claim.method), _norm_method(method)
    if om is None and bits is None:
        if cm == "fp8" and "fp8" in _observed_families(dtypes):
            return Agreement("quantization", said, "fp8 weights", "consistent", "fp8 weights without a config")
        return Agreement("quantization", said, None, "differs", f"card says {said}; weights are not quantized")
    if cm and om and cm != om and om not in _FORMAT_METHODS.get(cm, ()):
        return Agreement("quantization", said, seen, "differs", f"card says {cm}, weights are {om}")
    if claim.bits and bits and abs(claim.bits - bits) >= 1:
        return Agreement("quantization", said, seen, "differs", f"card says {claim.bits:g} bits, weights {bits:g}")
    return Agreement("quantization", said, seen, "consistent", f"weights are {seen}")


def _norm_method(method: str | None) -> str | None:
    """Lower-case method with tool aliases folded (bnb → bitsandbytes, llama.cpp → gguf)."""
    return _METHOD_ALIASES.get(method.lower(), method.lower()) if method else None


def _quant_text(q: CardQuant) -> str:
    """'gptq 4-bit', 'gguf', '4-bit', 'quantized'."""
    parts = [q.method or ""] + ([f"{q.bits:g}-bit"] if q.bits else [])
    return " ".join(p for p in parts if p) or "quantized"


def _human(n: int) -> str:
    """6738415616 → '6.74B'."""
    for unit, scale in (("T", 10**12), ("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return str(n)
