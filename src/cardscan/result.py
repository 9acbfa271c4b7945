"""The value one scan produces. Renderers only read it; a failed repo is a result with an `error`, not an exception."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the stage modules own these types; a result only holds them
    from cardscan.estimate.capacity import Capacity, FitRow
    from cardscan.estimate.curves import MemoryCurves
    from cardscan.estimate.engines import MemoryEstimate
    from cardscan.estimate.fit import Fit
    from cardscan.estimate.training import TrainingEstimate
    from cardscan.estimate.verdict import Verdict
    from cardscan.parse.card import Agreement, CardInfo
    from cardscan.parse.quant import QuantInfo


@dataclass(frozen=True)
class Failure:
    """Why a scan failed."""

    code: str
    """A stable `ErrorCode` value (`not_found`, `gated`, …); see README "Exit codes"."""
    message: str
    """What happened and what to do about it; never contains a token."""
    detail: str | None = None
    """Internal errors: the traceback, for a bug report (also printed to stderr with --debug); None otherwise."""


@dataclass(frozen=True)
class ModelFacts:
    """What the model is, from config.json (or GGUF metadata)."""

    architecture: str | None
    """`architectures[0]` (e.g. LlamaForCausalLM)."""
    model_type: str | None
    """config `model_type` (e.g. llama)."""
    max_context: int | None
    """The longest context the model was configured for."""
    layers: int | None
    """Decoder layers."""
    hidden_size: int | None
    """Model width."""
    attention_heads: int | None
    """Query heads."""
    kv_heads: int | None
    """Key/value heads (GQA when fewer than the query heads)."""
    head_dim: int | None
    """Per-head query/key dimension (config `head_dim`, else hidden / heads; MLA: qk_nope + qk_rope)."""
    vocab_size: int | None
    """Vocabulary size."""
    dtype: str | None
    """The compute dtype config declares (`torch_dtype`/`dtype`), normalised (bf16, fp16, fp32)."""
    layer_kinds: dict[str, int] = field(default_factory=dict)
    """How many layers of each attention kind (full, sliding, mla, linear, mamba…)."""
    v_head_dim: int | None = None
    """Per-head value dimension when it differs from `head_dim` (MLA's `v_head_dim`); None otherwise."""


@dataclass(frozen=True)
class Parameters:
    """Parameter counts, and where they came from."""

    total: int | None
    """Logical parameters (what the model has, packed formats unpacked; MTP layers excluded)."""
    by_dtype: dict[str, int]
    """Logical parameters per stored precision (bf16, int4, mxfp4…)."""
    active: int | None
    """Parameters used per token for MoE models, else None."""
    stored_elements: int | None
    """Naive Σ numel over every stored tensor: what the Hub page shows."""
    non_parameter_elements: int
    """Elements of stored buffers that are not parameters (causal masks, inv_freq, position_ids)."""
    mtp: int
    """Parameters of multi-token-prediction layers, reported apart from `total`."""
    source: str
    """header | gguf | torch | config | card | name: where `total` comes from."""
    by_component: dict[str, int] = field(default_factory=dict)
    """Multimodal models: parameters of the language model, vision/audio towers and projector (empty otherwise)."""
    error_bound: float | None = None
    """Largest expected relative error of `total` (0.01 = ±1%) when it comes from a config formula not known to be
    exact for the family; None when the count is exact."""


@dataclass(frozen=True)
class WeightFile:
    """One weight file that was read."""

    path: str
    """Repo-relative path."""
    bytes: int | None
    """The file's size."""
    header_bytes: int
    """Bytes of its header (what cardscan read of it)."""
    tensors: int
    """Tensors in it."""


@dataclass(frozen=True)
class Alternative:
    """A weight set present in the repo but not counted."""

    name: str
    """Its label (stem)."""
    format: str
    """safetensors, gguf, torch, onnx…"""
    files: int
    """How many files it has."""
    bytes: int | None
    """Their total size."""
    quant: str | None = None
    """GGUF sets: the quant type their file name carries (Q4_K_M, Q8_0…); None otherwise."""


@dataclass(frozen=True)
class Variant:
    """One quantization of the model in a repo that ships several (GGUF quants), sized for comparison."""

    name: str
    """The set's label (file stem)."""
    quant: str | None
    """The quant type from the file name (Q4_K_M, Q8_0…)."""
    files: int
    """Files in the set."""
    bytes: int | None
    """Their total size."""
    bits_per_weight: float | None
    """bytes × 8 / logical parameters (headers included: a slight over-statement)."""
    total_bytes: int | None
    """The memory estimate with these weights, at the scan's context and batch."""
    chosen: bool
    """True for the set whose headers were read."""


@dataclass(frozen=True)
class Weights:
    """The stored weights."""

    bytes: int | None
    """Stored tensor bytes (headers' data sections); file size for unreadable formats."""
    bits_per_weight: float | None
    """bytes × 8 / logical parameters."""
    format: str | None
    """safetensors, gguf, torch, or None without weights."""
    files: tuple[WeightFile, ...]
    """The files read."""
    alternatives: tuple[Alternative, ...]
    """Other weight sets in the repo, not counted."""
    quant: str | None = None
    """GGUF: the chosen set's quant type from its file name (Q4_K_M…); None otherwise."""


@dataclass(frozen=True)
class Adapter:
    """A PEFT adapter repo: what it adds and what it needs underneath."""

    peft_type: str | None
    """LORA, IA3, …"""
    rank: int | None
    """LoRA rank r."""
    alpha: float | None
    """LoRA alpha."""
    target_modules: tuple[str, ...]
    """Modules the adapter attaches to."""
    base_model: str | None
    """`base_model_name_or_path`: the model it must be loaded on."""
    parameters: int | None
    """Adapter parameters (from its own weight header)."""
    bytes: int | None
    """Adapter weight bytes."""


@dataclass(frozen=True)
class Component:
    """One model of a multi-model repo (a diffusers pipeline's unet, vae, text encoders…)."""

    name: str
    """Folder name (`unet`, `text_encoder`)."""
    class_name: str | None
    """Its class from model_index.json."""
    parameters: int | None
    """Logical parameters."""
    bytes: int | None
    """Stored weight bytes."""
    by_dtype: dict[str, int]
    """Logical parameters per stored precision."""
    error: str | None = None
    """Why it could not be read, if it could not."""


@dataclass(frozen=True)
class IOReport:
    """What the scan cost."""

    requests: int
    """Requests (HTTP or file reads), retries and redirect hops included."""
    bytes_read: int
    """Body bytes received."""
    retries: int
    """Retried requests."""
    seconds: float
    """Wall time of the scan."""
    api_requests: int = 0
    """Requests counted in the Hub's `api` rate-limit bucket (model info, tree pages)."""
    resolver_requests: int = 0
    """Requests counted in the Hub's `resolvers` bucket (`/resolve/` URLs)."""
    cdn_requests: int = 0
    """Requests to the CDN the Hub redirects to (not rate limited)."""
    rate_limited: int = 0
    """429 answers received."""
    rate_wait_s: float = 0.0
    """Seconds this scan's requests waited for the shared rate limiter (quota windows, 429 resets)."""
    rate_bucket: str | None = None
    """The rate-limit bucket that made this scan wait longest (`api`, `resolvers`), None when it never waited."""


@dataclass(frozen=True)
class ScanResult:
    """Everything cardscan found out about one input."""

    input: str
    """What the user typed (repo id, URL, path)."""
    repo_id: str | None
    """Canonical repo id, or the local path."""
    revision: str | None
    """Revision asked for."""
    commit: str | None
    """Resolved commit sha."""
    error: Failure | None = None
    """Why the scan failed; None when it succeeded."""
    model: ModelFacts | None = None
    """Architecture facts."""
    parameters: Parameters | None = None
    """Parameter counts."""
    weights: Weights | None = None
    """Stored weights."""
    quantization: QuantInfo | None = None
    """How the weights are quantized, or None for unquantized weights."""
    card: CardInfo | None = None
    """What the model card and the repo name claim."""
    agreement: tuple[Agreement, ...] = ()
    """`Agreement` rows: card/name claims vs what headers and config show."""
    precision_bytes: dict[str, int] = field(default_factory=dict)
    """Weights at each reporting precision (fp32, bf16/fp16, int8/fp8, int4/fp4)."""
    rule_of_thumb_bytes: dict[str, int] = field(default_factory=dict)
    """The quick rule params × bytes × 2 at each precision."""
    memory: MemoryEstimate | None = None
    """Memory for the chosen engine, context and batch."""
    fits: tuple[Fit, ...] = ()
    """`Fit` rows, one per catalogue GPU (or the chosen one)."""
    adapter: Adapter | None = None
    """PEFT adapter details when the repo is an adapter."""
    base: ScanResult | None = None
    """The scan of the adapter's base model (memory for inference = base + adapter)."""
    components: tuple[Component, ...] = ()
    """The models of a pipeline repo (diffusers); `parameters` and `weights` are their sums."""
    variants: tuple[Variant, ...] = ()
    """Every quant of a multi-quant repo (GGUF), chosen one included; `--file` picks another."""
    fit_matrix: tuple[FitRow, ...] = ()
    """Precision (bf16, fp8, int4) × the shown GPUs: the fit at the chosen context and the largest context per cell."""
    capacity: Capacity | None = None
    """Largest context / batch / least lossy precision / smallest TP for the chosen GPU."""
    training: TrainingEstimate | None = None
    """Fine-tuning memory when a fine-tuning mode was asked for."""
    curves: MemoryCurves | None = None
    """Memory against context per precision, and each GPU's limits (the HTML charts read it)."""
    notes: tuple[str, ...] = ()
    """How figures were derived (chosen weight set, header-only files, assumptions)."""
    warnings: tuple[str, ...] = ()
    """Problems that did not stop the scan."""
    io: IOReport | None = None
    """Requests and bytes the scan cost."""
    verdict: Verdict | None = None
    """The answer first: fits the chosen GPU (or the shown ones) up to which context, and what to change if not."""

    @property
    def ok(self) -> bool:
        """True when the scan succeeded."""
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """This result as the JSON output's object (docs/json-output.md): `json.dumps(r.to_dict())` is what
        `cardscan --format json` prints for it."""
        return _result_object(self)


# ---- the JSON contract's shape (docs/json-output.md); render/json.py prints it ------------------------------------

SCHEMA_VERSION = 1


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums, tuples and dicts → plain JSON values (floats rounded for stable diffs)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value) if not f.name.startswith("_")
        }
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float):
        return round(value, 4)
    return value


def _result_object(r: ScanResult) -> dict[str, Any]:
    """One result as the documented object; every documented key is always present (null when unknown)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "input": r.input,
        "repo_id": r.repo_id,
        "revision": r.revision,
        "commit": r.commit,
        "status": "ok" if r.ok else "error",
        "error": to_jsonable(r.error),
        "model": to_jsonable(r.model),
        "parameters": to_jsonable(r.parameters),
        "weights": to_jsonable(r.weights),
        "quantization": to_jsonable(r.quantization),
        "card": _card(r.card),
        "agreement": {a.field: to_jsonable(a) for a in r.agreement},
        "precision_bytes": r.precision_bytes,
        "rule_of_thumb_bytes": r.rule_of_thumb_bytes,
        "memory": to_jsonable(r.memory),
        "fits": [_fit(f) for f in r.fits],
        "variants": to_jsonable(r.variants),
        "adapter": to_jsonable(r.adapter),
        "base": _result_object(r.base) if r.base is not None else None,
        "components": to_jsonable(r.components),
        "fit_matrix": [_fit_row(row) for row in r.fit_matrix],
        "capacity": _capacity(r.capacity),
        "training": to_jsonable(r.training),
        "notes": list(r.notes),
        "warnings": list(r.warnings),
        "io": to_jsonable(r.io),
        "verdict": to_jsonable(r.verdict),
    }


def _fit(fit: Any) -> dict[str, Any]:
    """A GPU fit without repeating the whole catalogue entry."""
    g = fit.gpu
    return {"gpu": g.name, "memory_bytes": g.memory_bytes, "usable_bytes": g.usable_bytes, "fits": fit.fits,
            "free_bytes": fit.free_bytes, "utilization": round(fit.utilization, 4)}  # fmt: skip


def _fit_row(row: Any) -> dict[str, Any]:
    return {
        "precision": row.precision,
        "weights_bytes": row.weights_bytes,
        "fits": {f.gpu.name: f.fits for f in row.fits},
        "max_context": {f.gpu.name: n for f, n in zip(row.fits, row.max_context, strict=False)},
    }


def _capacity(capacity: Any) -> dict[str, Any] | None:
    """Capacity; `cheapest_precision` is the old name of `least_lossy_precision`, kept (schema v1 never renames)."""
    if capacity is None:
        return None
    out: dict[str, Any] = to_jsonable(capacity)
    out["cheapest_precision"] = capacity.least_lossy_precision
    return out


def _card(card: Any) -> dict[str, Any] | None:
    return to_jsonable(card) if card is not None else {"present": False}
