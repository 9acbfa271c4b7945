"""The value one scan produces. Renderers only read it; a failed repo is a result with an `error`, not an exception."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the stage modules own these types; a result only holds them
    from cardscan.estimate.capacity import Capacity, FitRow
    from cardscan.estimate.curves import MemoryCurves
    from cardscan.estimate.engines import MemoryEstimate
    from cardscan.estimate.fit import Fit
    from cardscan.estimate.training import TrainingEstimate
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
    """Per-head dimension (config `head_dim`, else hidden / heads)."""
    vocab_size: int | None
    """Vocabulary size."""
    dtype: str | None
    """The compute dtype config declares (`torch_dtype`/`dtype`), normalised (bf16, fp16, fp32)."""
    layer_kinds: dict[str, int] = field(default_factory=dict)
    """How many layers of each attention kind (full, sliding, mla, linear, mamba…)."""


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
    """Precision (bf16, fp8, int4) × common GPUs at the chosen context and batch."""
    capacity: Capacity | None = None
    """Largest context / batch / cheapest precision for the chosen GPU."""
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

    @property
    def ok(self) -> bool:
        """True when the scan succeeded."""
        return self.error is None
