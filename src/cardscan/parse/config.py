"""config.json → architecture facts (sizes, MoE shape, one LayerSpec per decoder layer for the KV model), and the
config-only parameter count with how far it can be trusted.

Keys are read the way transformers reads them (each config class's `attribute_map`); every per-family fact (key
aliases, tying, biases, gated MLP, exactness) comes from parse/families.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cardscan.parse.families import (
    BIAS_KEYS,
    MTP_KEYS,
    Block,
    Family,
    family,
    gated_mlp,
    lookup,
    tied_default,
)


@dataclass(frozen=True)
class LayerSpec:
    """What one decoder layer keeps per token (attention) or per sequence (recurrent state)."""

    kind: str
    """full, sliding, chunked (local chunks), mla (latent), linear (GDN), mamba, or none (no per-token state)."""
    kv_heads: int = 0
    """KV heads of an attention layer (before tensor parallelism)."""
    head_dim_k: int = 0
    """Key head dimension."""
    head_dim_v: int = 0
    """Value head dimension."""
    window: int | None = None
    """Sliding window (tokens) or attention chunk size; None for full attention."""
    kv_lora_rank: int = 0
    """MLA latent dimension cached per token."""
    qk_rope_head_dim: int = 0
    """MLA decoupled RoPE key dimension cached per token."""
    conv_elems: int = 0
    """Recurrent layers: conv state elements per sequence, (d_conv − 1)·channels, before TP."""
    ssm_elems: int = 0
    """Recurrent layers: SSM / linear-attention state elements per sequence, before TP."""


@dataclass(frozen=True)
class ArchFacts:
    """Architecture facts read from config.json (text part for multimodal models)."""

    model_type: str
    """`model_type` of the text model (e.g. `llama`, `gemma3_text`)."""
    architectures: tuple[str, ...]
    """`architectures` list of the top-level config."""
    hidden_size: int
    """Model width h."""
    num_layers: int
    """Decoder layers (encoder layers for encoder-only models)."""
    num_heads: int
    """Attention (query) heads a."""
    num_kv_heads: int
    """KV heads (the largest if the config gives one per layer)."""
    head_dim: int
    """Attention head dimension d (explicit `head_dim` when given, else h/a)."""
    vocab_size: int
    """Vocabulary size V."""
    intermediate_size: int
    """Dense MLP width i."""
    max_context: int | None
    """Trained context length (`max_position_embeddings`, `n_positions`, `seq_length`…)."""
    layers: tuple[LayerSpec, ...]
    """One entry per decoder layer, in order."""
    cross_layers: tuple[LayerSpec, ...] = ()
    """Cross-attention layers of an encoder-decoder model (they hold encoder_tokens each)."""
    encoder_tokens: int | None = None
    """Encoder output length cross-attention holds (Whisper 1500); None → the context."""
    is_encoder_only: bool = False
    """BERT-like encoder: no KV cache at inference."""
    has_vision: bool = False
    """A `vision_config` is present (multimodal)."""
    num_experts: int = 0
    """Routed experts per MoE layer (0 = dense)."""
    experts_per_token: int = 0
    """Routed experts active per token."""
    num_shared_experts: int = 0
    """Always-on shared experts per MoE layer."""
    moe_intermediate_size: int = 0
    """Expert MLP width (i when the config has no separate value)."""
    moe_layers: tuple[int, ...] = ()
    """Indices of the layers whose MLP is a MoE block."""
    num_nextn_predict_layers: int = 0
    """Multi-token-prediction (MTP) layers, loaded only for speculative decoding."""
    tie_word_embeddings: bool = False
    """lm_head shares the token embedding matrix."""
    dtype: str | None = None
    """`torch_dtype` / `dtype` as given (e.g. `bfloat16`)."""
    kv_cache_dtype: str | None = None
    """KV dtype the checkpoint asks for (`kv_cache_scheme` / `kv_cache_quant_algo`); None → compute dtype."""
    q_lora_rank: int = 0
    """MLA query low-rank dimension (0 = plain q_proj)."""
    qk_nope_head_dim: int = 0
    """MLA non-RoPE query/key head dimension."""
    v_head_dim: int = 0
    """MLA value head dimension."""
    bias_switches: tuple[tuple[str, bool], ...] = ()
    """Block bias fields the config sets explicitly (`attention_bias`, `mlp_bias`, falcon `bias`…), in order."""
    norms_per_layer: int | None = None
    """Norm vectors per layer when the config decides it (Falcon's parallel_attn / new_decoder_architecture)."""
    mla_latent_cache: bool | None = None
    """GGUF MLA files: True when the file has llama.cpp's split `attn_k_b`/`attn_v_b` tensors (or `key_length_mla`),
    so llama.cpp caches the latent; False for older files it runs as per-head MHA; None when not a GGUF fact."""
    assumed: tuple[str, ...] = field(default=())
    """Keys missing from the config for which a default was used."""

    @property
    def kind_counts(self) -> dict[str, int]:
        """Layers per kind, e.g. {"full": 10, "sliding": 52}."""
        counts: dict[str, int] = {}
        for layer in self.layers:
            counts[layer.kind] = counts.get(layer.kind, 0) + 1
        return counts


# Encoder-only model types: no KV cache (transformers model docs; BERT family, embedding and reranker models).
ENCODER_ONLY_TYPES = frozenset(
    {
        "bert", "roberta", "xlm-roberta", "xlm_roberta", "distilbert", "albert", "electra", "deberta",
        "deberta-v2", "camembert", "mpnet", "nomic_bert", "modernbert", "jina_bert", "xlm", "ernie",
        "megatron-bert", "roformer", "esm", "new", "vit", "clip_vision_model", "siglip_vision_model",
    }
)  # fmt: skip

# Encoder-decoder model types (transformers `is_encoder_decoder` defaults).
ENCODER_DECODER_TYPES = frozenset(
    {"t5", "mt5", "umt5", "bart", "mbart", "pegasus", "marian", "whisper", "longt5", "flan-t5", "m2m_100", "nllb"}
)

# Architecture suffixes that mean "encoder" when the model type is not a decoder (HF naming convention).
ENCODER_ARCH_SUFFIXES = ("ForMaskedLM", "ForSequenceClassification", "ForTokenClassification", "ForQuestionAnswering")

# layer_types / layers_block_type values → our layer kind (transformers configs: gemma2/3, gpt_oss, qwen3_next,
# jamba, nemotron_h, granitemoehybrid, falcon_h1, llama4).
LAYER_TYPE_KINDS: dict[str, str] = {
    "full_attention": "full",
    "attention": "full",
    "global": "full",
    "sliding_attention": "sliding",
    "local": "sliding",
    "chunked_attention": "chunked",
    "linear_attention": "linear",
    "mamba": "mamba",
    "mamba2": "mamba",
    "hybrid": "mamba",
    "conv": "none",
    "mlp": "none",
    "moe": "none",
    "-": "none",
    "*": "full",
    "M": "mamba",
    "E": "none",
}


def _get(cfg: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """First non-None value among a key's aliases (parse/families.py ALIASES)."""
    value = lookup(cfg, name)
    return default if value is None else value


def text_config(config: Mapping[str, Any]) -> Mapping[str, Any]:
    """The text part of a multimodal config (transformers `get_text_config()`); the config itself otherwise."""
    for key in ("text_config", "llm_config", "language_config"):
        sub = config.get(key)
        if isinstance(sub, Mapping) and sub:
            return sub
    return config


class _Reader:
    """Reads keys and records the ones we had to default."""

    def __init__(self, cfg: Mapping[str, Any]) -> None:
        self.cfg = cfg
        self.assumed: list[str] = []

    def get(self, name: str, default: Any = None) -> Any:
        value = _get(self.cfg, name)
        if value is None and default is not None:
            self.assumed.append(name)
            return default
        return value


def _is_encoder_only(cfg: Mapping[str, Any], model_type: str, archs: Sequence[str]) -> bool:
    if cfg.get("is_decoder") is True or cfg.get("is_encoder_decoder"):
        return False
    if model_type in ENCODER_ONLY_TYPES:
        return True
    row = family(model_type)
    return (
        bool(archs)
        and all(a.endswith(ENCODER_ARCH_SUFFIXES) and "CausalLM" not in a for a in archs)
        and not (row and row.formula == "decoder")  # known decoder families with a classification head
    )


def _kv_heads_per_layer(r: _Reader, n_layers: int, n_heads: int, model_type: str) -> list[int]:
    raw = r.cfg.get("num_key_value_heads")
    if isinstance(raw, Sequence) and not isinstance(raw, str):
        return [int(x) for x in raw]
    if r.cfg.get("multi_query") and not r.cfg.get("new_decoder_architecture"):
        return [1] * n_layers  # falcon / gpt_bigcode multi_query: one KV head (modeling_falcon.py, _gpt_bigcode.py)
    if model_type == "falcon" and not r.cfg.get("new_decoder_architecture"):
        return [n_heads] * n_layers  # FalconConfig: num_kv_heads only counts with new_decoder_architecture
    kv = _get(r.cfg, "num_key_value_heads")
    if kv is None:
        row = family(model_type)
        if not (row and not row.gated_mlp):  # GPT-2 lineage: no GQA, full heads is not an assumption
            r.assumed.append("num_key_value_heads")
        kv = n_heads
    return [int(kv)] * n_layers


def _layer_kinds(cfg: Mapping[str, Any], n_layers: int) -> list[str]:
    """Per-layer attention kind from the config's pattern keys, most explicit first."""
    types = cfg.get("layer_types") or cfg.get("layers_block_type")
    if isinstance(types, str):  # nemotron_h hybrid_override_pattern style "M-M*"
        types = list(types)
    if types:
        return [LAYER_TYPE_KINDS.get(str(t), "full") for t in types][:n_layers]
    pattern = cfg.get("hybrid_override_pattern")
    if isinstance(pattern, str):
        return [LAYER_TYPE_KINDS.get(c, "full") for c in pattern][:n_layers]
    if cfg.get("full_attention_interval"):
        k = int(cfg["full_attention_interval"])
        return ["full" if (i + 1) % k == 0 else "linear" for i in range(n_layers)]
    if cfg.get("attention_chunk_size"):
        step = int(cfg.get("no_rope_layer_interval") or 4)  # Llama 4: every 4th layer global (NoPE)
        return ["full" if (i + 1) % step == 0 else "chunked" for i in range(n_layers)]
    window = cfg.get("sliding_window")
    if not window or cfg.get("use_sliding_window") is False:
        return ["full"] * n_layers
    pattern_n = cfg.get("sliding_window_pattern")
    if pattern_n:  # Gemma 3: layer i global iff (i+1) % N == 0
        return ["full" if (i + 1) % int(pattern_n) == 0 else "sliding" for i in range(n_layers)]
    if str(cfg.get("model_type")) == "gemma2":  # Gemma 2 alternates local/global, local first
        return ["sliding" if i % 2 == 0 else "full" for i in range(n_layers)]
    if cfg.get("use_sliding_window") and cfg.get("max_window_layers") is not None:  # qwen2: layers ≥ mwl slide
        return ["sliding" if i >= int(cfg["max_window_layers"]) else "full" for i in range(n_layers)]
    return ["sliding"] * n_layers


def _recurrent_state(cfg: Mapping[str, Any], kind: str) -> tuple[int, int]:
    """(conv elements, ssm elements) per sequence for a linear-attention or Mamba2 layer, before TP."""
    if kind == "linear":  # Gated DeltaNet (qwen3_next): conv over q,k,v channels; state nv·dk·dv
        d_conv = int(cfg.get("linear_conv_kernel_dim", 4))
        nk, dk = int(cfg.get("linear_num_key_heads", 16)), int(cfg.get("linear_key_head_dim", 128))
        nv, dv = int(cfg.get("linear_num_value_heads", 32)), int(cfg.get("linear_value_head_dim", 128))
        return (d_conv - 1) * (2 * dk * nk + dv * nv), nv * dk * dv
    # Mamba2: conv over x,B,C; state heads·head_dim·N
    h = int(_get(cfg, "hidden_size", 0))
    d_conv = int(cfg.get("mamba_d_conv", cfg.get("conv_kernel", 4)))
    expand = int(cfg.get("mamba_expand", cfg.get("expand", 2)))
    n_heads = int(cfg.get("mamba_n_heads", cfg.get("mamba_num_heads", 0)) or 0)
    head_dim = int(cfg.get("mamba_d_head", cfg.get("mamba_head_dim", 0)) or 0)
    d_inner = n_heads * head_dim if n_heads and head_dim else int(cfg.get("mamba_d_inner") or expand * h)
    groups = int(cfg.get("mamba_n_groups", cfg.get("n_groups", 1)))
    d_state = int(cfg.get("mamba_d_state", cfg.get("state_size", cfg.get("ssm_state_size", 128))))
    return (d_conv - 1) * (d_inner + 2 * groups * d_state), d_inner * d_state


def _attention_layer(kind: str, kv: int, d: int, window: int | None) -> LayerSpec:
    if kv == 0:
        return LayerSpec("none")
    held_window = window if kind in ("sliding", "chunked") else None
    return LayerSpec(kind, kv_heads=kv, head_dim_k=d, head_dim_v=d, window=held_window)


def _build_layers(
    cfg: Mapping[str, Any], n_layers: int, kv_list: list[int], d: int, encoder_only: bool
) -> tuple[LayerSpec, ...]:
    if encoder_only:
        return tuple(LayerSpec("none") for _ in range(n_layers))
    if cfg.get("kv_lora_rank"):
        mla = LayerSpec(
            "mla", kv_heads=1, kv_lora_rank=int(cfg["kv_lora_rank"]),
            qk_rope_head_dim=int(cfg.get("qk_rope_head_dim", 64)),
        )  # fmt: skip
        return tuple(mla for _ in range(n_layers))
    kinds = _layer_kinds(cfg, n_layers)
    kinds += ["full"] * (n_layers - len(kinds))
    window = cfg.get("sliding_window")
    chunk = cfg.get("attention_chunk_size")
    shared_from = n_layers - int(cfg.get("num_kv_shared_layers") or 0)  # Gemma 3n: last layers reuse KV
    layers = []
    for i, kind in enumerate(kinds):
        if i >= shared_from or kind == "none":
            layers.append(LayerSpec("none"))
        elif kind in ("linear", "mamba"):
            conv, ssm = _recurrent_state(cfg, kind)
            layers.append(LayerSpec(kind, conv_elems=conv, ssm_elems=ssm))
        else:
            win = chunk if kind == "chunked" else window
            layers.append(_attention_layer(kind, kv_list[i] if i < len(kv_list) else kv_list[-1], d, win))
    return tuple(layers)


def _moe_layers(cfg: Mapping[str, Any], n_layers: int, n_experts: int) -> tuple[int, ...]:
    if not n_experts:
        return ()
    first_dense = int(cfg.get("first_k_dense_replace") or 0)
    step = int(cfg.get("decoder_sparse_step") or cfg.get("moe_layer_freq") or 1)
    only_mlp = set(cfg.get("mlp_only_layers") or ())
    return tuple(i for i in range(n_layers) if i >= first_dense and (i + 1) % step == 0 and i not in only_mlp)


def _kv_cache_dtype(cfg: Mapping[str, Any]) -> str | None:
    quant = cfg.get("quantization_config") or {}
    scheme = quant.get("kv_cache_scheme") if isinstance(quant, Mapping) else None
    if isinstance(scheme, Mapping):
        return "fp8" if scheme.get("type") == "float" and scheme.get("num_bits") == 8 else str(scheme.get("type"))
    algo = quant.get("kv_cache_quant_algo") if isinstance(quant, Mapping) else None
    return str(algo).lower() if algo else None


def _tied(cfg: Mapping[str, Any], top: Mapping[str, Any], model_type: str) -> bool:
    for source in (cfg, top):
        if source.get("tie_word_embeddings") is not None:
            return bool(source["tie_word_embeddings"])
    # PretrainedConfig defaults to True; families not in the table keep it (transformers configuration_utils.py).
    return tied_default(model_type) is not False


def _bias_switches(cfg: Mapping[str, Any], row: Family | None) -> tuple[tuple[str, bool], ...]:
    """Block bias fields set by config keys, generic ones first so a family's own key wins."""
    keys = {**BIAS_KEYS, **(row.bias_keys if row else {})}
    return tuple((f, bool(cfg[k])) for k, fields in keys.items() if isinstance(cfg.get(k), bool) for f in fields)


def _norms_per_layer(cfg: Mapping[str, Any], model_type: str) -> int | None:
    """Falcon decides its LayerNorms from flags (modeling_falcon.py FalconDecoderLayer)."""
    if model_type != "falcon":
        return None
    if cfg.get("new_decoder_architecture"):
        return 1 if cfg.get("num_ln_in_parallel_attn") == 1 else 2  # ln_attn + ln_mlp unless told to share one
    return 1 if cfg.get("parallel_attn") else 2  # parallel block: input_layernorm only


def _shared_experts(cfg: Mapping[str, Any], moe_width: int) -> int:
    """Shared experts; qwen2_moe gives one fused shared expert by width (shared_expert_intermediate_size)."""
    n = int(cfg.get("n_shared_experts") or cfg.get("num_shared_experts") or 0)
    width = int(cfg.get("shared_expert_intermediate_size") or 0)
    if not n and width and moe_width and width % moe_width == 0:
        return width // moe_width  # Qwen1.5-MoE: 5632 = 4 × 1408, counted as 4 always-on experts
    return n


def arch_facts(config: Mapping[str, Any]) -> ArchFacts:
    """Architecture facts of a config.json dict (multimodal: its text part)."""
    cfg = text_config(config)
    model_type = str(cfg.get("model_type") or config.get("model_type") or "")
    row = family(model_type)
    if row and row.config_defaults:  # what the family's config class fills in for omitted keys
        cfg = {**row.config_defaults, **cfg}  # an explicit null stays null, as in the config class
    r = _Reader(cfg)
    archs = tuple(config.get("architectures") or cfg.get("architectures") or ())
    n_layers = int(r.get("num_hidden_layers", 0))
    h = int(r.get("hidden_size", 0))
    n_heads = int(r.get("num_attention_heads", 1))
    d = int(_get(cfg, "head_dim") or (h // n_heads if n_heads else 0))  # never h/a when head_dim is given
    kv_list = _kv_heads_per_layer(r, n_layers, n_heads, model_type)
    encoder_only = _is_encoder_only(cfg, model_type, archs)
    enc_dec = bool(cfg.get("is_encoder_decoder")) or model_type in ENCODER_DECODER_TYPES
    n_experts = int(_get(cfg, "num_experts", 0) or 0)
    inter = int(r.get("intermediate_size", (row.ffn_default_multiple if row else 4) * h))
    moe_width = int(cfg.get("moe_intermediate_size") or inter) if n_experts else 0
    layers = _build_layers(cfg, n_layers, kv_list, d, encoder_only)
    cross = tuple(_attention_layer("full", kv_list[0], d, None) for _ in range(n_layers)) if enc_dec else ()
    max_ctx = _get(cfg, "max_position_embeddings") or _get(config, "max_position_embeddings")
    if max_ctx is None:
        r.assumed.append("max_position_embeddings")
    return ArchFacts(
        model_type=model_type,
        architectures=archs,
        hidden_size=h,
        num_layers=n_layers,
        num_heads=n_heads,
        num_kv_heads=max(kv_list) if kv_list else n_heads,
        head_dim=d,
        vocab_size=int(r.get("vocab_size", 32000)),
        intermediate_size=inter,
        max_context=int(max_ctx) if max_ctx else None,
        layers=layers,
        cross_layers=cross,
        encoder_tokens=cfg.get("max_source_positions"),
        is_encoder_only=encoder_only,
        has_vision=isinstance(config.get("vision_config"), Mapping),
        num_experts=n_experts,
        experts_per_token=int(_get(cfg, "experts_per_token", 0) or 0),
        num_shared_experts=_shared_experts(cfg, moe_width),
        moe_intermediate_size=moe_width,
        moe_layers=_moe_layers(cfg, n_layers, n_experts),
        num_nextn_predict_layers=max(int(cfg.get(k) or 0) for k in MTP_KEYS),
        tie_word_embeddings=_tied(cfg, config, model_type),
        dtype=_get(cfg, "dtype") or _get(config, "dtype"),
        kv_cache_dtype=_kv_cache_dtype(config),
        q_lora_rank=int(cfg.get("q_lora_rank") or 0),
        qk_nope_head_dim=int(cfg.get("qk_nope_head_dim") or 0),
        v_head_dim=int(cfg.get("v_head_dim") or 0),
        bias_switches=_bias_switches(cfg, row),
        norms_per_layer=_norms_per_layer(cfg, model_type),
        mla_latent_cache=cfg.get("gguf_mla_latent_cache"),
        assumed=tuple(dict.fromkeys(r.assumed)),
    )


# ── Config-only parameter count ──────────────────────────────────────────────────────────────────────────────────

META_HINT = "`pip install cardscan[meta]` counts it exactly from config.json"


@dataclass(frozen=True)
class ConfigCount:
    """Parameters counted from config.json alone, and how far the figure can be trusted."""

    total: int | None
    """Parameters (MTP layers excluded); None when no formula is trustworthy for this config."""
    exact: bool
    """The family's formula matched transformers exactly on every real config checked (docs/accuracy.md)."""
    expected_error: float | None
    """Largest relative error measured for this family when not exact (0.01 = 1%); None if exact or no number."""
    note: str
    """One line for the user: why approximate or why no number, and what would make it exact."""

    @property
    def label(self) -> str:
        """How to show the figure: "exact", "approximate (±N%)" or "unknown"."""
        if self.total is None:
            return "unknown"
        return "exact" if self.exact else f"approximate (±{100 * (self.expected_error or 0):.2g}%)"


def _block(facts: ArchFacts, row: Family | None) -> Block:
    block = row.block if row else Block()
    switches: dict[str, Any] = dict(facts.bias_switches)
    if switches:
        block = replace(block, **switches)
    if facts.norms_per_layer is not None:
        block = replace(block, norms_per_layer=facts.norms_per_layer)
    return block


def _linear(d_in: int, d_out: int, bias: bool) -> int:
    return d_in * d_out + (d_out if bias else 0)


def _norm(width: int, block: Block) -> int:
    return width * (2 if block.norm_bias else 1)


def _attention_params(f: ArchFacts, block: Block, kv: int) -> int:
    h, a, d = f.hidden_size, f.num_heads, f.head_dim
    if f.q_lora_rank or (f.layers and f.layers[0].kind == "mla"):
        return _mla_params(f)
    qkv = _linear(h, a * d, block.qkv_bias) + 2 * _linear(h, kv * d, block.qkv_bias)
    qk_norm = {"head": 2 * d, "full": (a + kv) * d}.get(block.qk_norm, 0)
    return qkv + _linear(a * d, h, block.o_bias) + qk_norm + (a if block.attn_sinks else 0)


def _mla_params(f: ArchFacts) -> int:
    """DeepSeek V2/V3 multi-head latent attention projections and their norms."""
    h, a = f.hidden_size, f.num_heads
    rope = f.layers[0].qk_rope_head_dim
    kv_rank = f.layers[0].kv_lora_rank
    q_dim = a * (f.qk_nope_head_dim + rope)
    q = h * f.q_lora_rank + f.q_lora_rank + f.q_lora_rank * q_dim if f.q_lora_rank else h * q_dim
    kv = h * (kv_rank + rope) + kv_rank + kv_rank * a * (f.qk_nope_head_dim + f.v_head_dim)
    return q + kv + a * f.v_head_dim * h


def _mlp_params(h: int, i: int, gated: bool, bias: bool) -> int:
    return (2 if gated else 1) * _linear(h, i, bias) + _linear(i, h, bias)


def _moe_params(f: ArchFacts, block: Block, gated: bool) -> int:
    h, i, e = f.hidden_size, f.moe_intermediate_size, f.num_experts
    experts = e * expert_size(f)  # the same figure the estimator's active-parameter count uses
    shared = f.num_shared_experts * _mlp_params(h, i, gated, block.mlp_bias)
    gate = h if block.shared_expert_gate and f.num_shared_experts else 0
    return experts + shared + gate + _linear(h, e, block.router_bias)


def _decoder_params(f: ArchFacts, row: Family | None) -> int:
    """Embedding, decoder layers, final norm and (untied) lm_head of a Llama-style block with the family's flags."""
    block, gated = _block(f, row), row.gated_mlp if row else True
    h, v = f.hidden_size, f.vocab_size
    moe = set(f.moe_layers)
    total = v * h + (f.max_context or 0) * h * block.learned_positions + _norm(h, block) * block.embed_norm
    for idx, layer in enumerate(f.layers):
        total += _attention_params(f, block, layer.kv_heads or f.num_kv_heads)
        mlp = _moe_params(f, block, gated) if idx in moe else _mlp_params(h, f.intermediate_size, gated, block.mlp_bias)
        total += mlp + block.norms_per_layer * _norm(h, block)
    total += _norm(h, block)  # final norm
    if not f.tie_word_embeddings:
        total += _linear(h, v, block.lm_head_bias)
    return total


def _t5_params(f: ArchFacts, config: Mapping[str, Any]) -> int:
    """T5/mT5 (modeling_t5.py): shared embedding, encoder and decoder stacks of bias-free projections, RMS norms,
    one relative-position table per stack (first layer only), untied lm_head when tie_word_embeddings is false."""
    cfg = text_config(config)
    h, inner, ff, v = f.hidden_size, f.num_heads * f.head_dim, f.intermediate_size, f.vocab_size
    gated = str(cfg.get("feed_forward_proj", "relu")).startswith("gated-")
    mlp = _mlp_params(h, ff, gated, False)
    attn = 4 * h * inner if h == inner else 3 * h * inner + inner * h
    rel = int(cfg.get("relative_attention_num_buckets") or 32) * f.num_heads
    enc_layers = f.num_layers
    dec_layers = int(cfg.get("num_decoder_layers") or enc_layers)
    encoder = enc_layers * (attn + mlp + 2 * h) + rel + h
    decoder = dec_layers * (2 * attn + mlp + 3 * h) + rel + h
    return v * h + encoder + decoder + (0 if f.tie_word_embeddings else v * h)


def _opt_params(f: ArchFacts, config: Mapping[str, Any]) -> int:
    """OPT (modeling_opt.py): embedding of word_embed_proj_dim with project_in/out when it differs from hidden, learned
    positions with an offset of 2, biased q/k/v/o and fc1/fc2, two LayerNorms per layer, a final LayerNorm only for
    pre-norm models, lm_head tied to the embedding."""
    cfg = text_config(config)
    h, v, i = f.hidden_size, f.vocab_size, f.intermediate_size
    proj = int(cfg.get("word_embed_proj_dim") or h)
    project = 2 * h * proj if proj != h else 0
    layer = 4 * _linear(h, h, True) + _mlp_params(h, i, False, True) + 4 * h
    pre_norm = cfg.get("do_layer_norm_before", True) and not cfg.get("_remove_final_layer_norm", False)
    head = 0 if f.tie_word_embeddings else v * proj
    return v * proj + ((f.max_context or 0) + 2) * h + project + f.num_layers * layer + 2 * h * pre_norm + head


def _encoder_params(f: ArchFacts, config: Mapping[str, Any]) -> int:
    """BERT-style encoder (modeling_bert.py BertModel): word, position and token-type embeddings with a LayerNorm,
    layers of biased q/k/v/o and a 2-matrix MLP with two LayerNorms, and the pooler. Task heads are not counted."""
    cfg = text_config(config)
    h, i, v = f.hidden_size, f.intermediate_size, f.vocab_size
    embeddings = (v + (f.max_context or 0) + int(cfg.get("type_vocab_size") or 2)) * h + 2 * h
    layer = 4 * _linear(h, h, True) + _mlp_params(h, i, False, True) + 4 * h
    return embeddings + f.num_layers * layer + _linear(h, h, True)


def _why_none(facts: ArchFacts, row: Family | None, config: Mapping[str, Any]) -> str | None:
    """Why no formula applies to this config, or None when one does."""
    if not facts.model_type:
        return "config.json names no model_type"
    if row is None:
        return f"model_type {facts.model_type!r} has no row in the family table (parse/families.py)"
    if row.formula is None:
        return f"{facts.model_type}: {row.note}"
    if facts.has_vision or text_config(config) is not config:
        return "only the language model is modelled, not the vision/audio parts"
    if facts.hidden_size <= 0 or facts.num_layers <= 0 or facts.vocab_size <= 0:
        return "config.json lacks the hidden size, layer count or vocabulary"
    if any(layer.kind in ("linear", "mamba") for layer in facts.layers):
        return "recurrent (linear-attention / Mamba) layers are not modelled"
    return None


def _formula_total(facts: ArchFacts, row: Family | None, config: Mapping[str, Any]) -> int:
    kind = row.formula if row else "decoder"
    if kind == "t5":
        return _t5_params(facts, config)
    if kind == "encoder":
        return _encoder_params(facts, config)
    if kind == "opt":
        return _opt_params(facts, config)
    return _decoder_params(facts, row)


def count_from_config(config: Mapping[str, Any], facts: ArchFacts | None = None) -> ConfigCount:
    """Parameters from config.json alone: exact for families whose formula matches transformers, approximate with
    the family's measured error bound, or no number (with the reason) where only transformers can build it."""
    facts = facts or arch_facts(config)
    row = family(facts.model_type)
    why = _why_none(facts, row, config)
    if why is not None or row is None:
        return ConfigCount(None, False, None, f"no config-only count: {why}; {META_HINT}")
    total = _formula_total(facts, row, config)
    if row.exact:
        return ConfigCount(total, True, None, f"exact for {row.model_type} (formula checked against transformers)")
    bound = row.expected_error
    note = f"approximate (±{100 * (bound or 0):.2g}%): {row.note}; {META_HINT}"
    return ConfigCount(total, False, bound, note)


def estimate_params_from_config(facts: ArchFacts) -> int:
    """Compatibility shim: the decoder formula's figure as before, whatever its trust (it cannot say "unknown").
    New callers use count_from_config, which says exact / approximate / no number."""
    return _decoder_params(facts, family(facts.model_type))


# ---- MoE sizes from the facts and the family table -----------------------------------------------------------


def expert_size(facts: ArchFacts) -> int:
    """Parameters of one routed expert: 3 (gated) or 2 matrices of hidden × moe_intermediate, plus biases."""
    row = family(facts.model_type)
    h, i = facts.hidden_size, facts.moe_intermediate_size
    mats = 3 if gated_mlp(facts.model_type) else 2
    bias = (mats - 1) * i + h if row and row.block.expert_bias else 0
    return mats * h * i + bias


def expert_params(facts: ArchFacts) -> int:
    """Parameters in routed experts over all MoE layers (0 for dense models)."""
    return len(facts.moe_layers) * facts.num_experts * expert_size(facts)


def active_parameters(facts: ArchFacts, total: int | None) -> int | None:
    """Parameters used per token: total minus the routed experts a token does not visit; None for dense models."""
    if total is None or not facts.num_experts or not facts.experts_per_token:
        return None
    idle = facts.num_experts - facts.experts_per_token
    return total - len(facts.moe_layers) * idle * expert_size(facts)
