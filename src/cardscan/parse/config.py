"""config.json → architecture facts: sizes, MoE shape, and one LayerSpec per decoder layer for the KV model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

LAYER_KINDS = ("full", "sliding", "chunked", "mla", "linear", "mamba", "none")


@dataclass(frozen=True)
class LayerSpec:
    """What one decoder layer keeps per token (attention) or per sequence (recurrent state)."""

    kind: str
    """One of LAYER_KINDS: full, sliding, chunked (local chunks), mla (latent), linear (GDN), mamba, none."""
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
    is_encoder_decoder: bool = False
    """T5 / BART / Whisper style model."""
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
    rope_scaling: Mapping[str, Any] | None = None
    """`rope_scaling` block as given."""
    dtype: str | None = None
    """`torch_dtype` / `dtype` as given (e.g. `bfloat16`)."""
    quantization_config: Mapping[str, Any] | None = None
    """`quantization_config` as given."""
    kv_cache_dtype: str | None = None
    """KV dtype the checkpoint asks for (`kv_cache_scheme` / `kv_cache_quant_algo`); None → compute dtype."""
    q_lora_rank: int = 0
    """MLA query low-rank dimension (0 = plain q_proj)."""
    qk_nope_head_dim: int = 0
    """MLA non-RoPE query/key head dimension."""
    v_head_dim: int = 0
    """MLA value head dimension."""
    attention_bias: bool | None = None
    """`attention_bias` when the config says; None → family default."""
    mlp_bias: bool | None = None
    """`mlp_bias` when the config says; None → family default."""
    max_source_positions: int | None = None
    """Encoder positions of enc-dec speech models (Whisper)."""
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

# `tie_word_embeddings` when the config omits it: transformers PretrainedConfig default is True; these
# families override it to False in their config classes (transformers configuration_*.py).
UNTIED_BY_DEFAULT = frozenset(
    {"llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "deepseek_v2", "deepseek_v3",
     "gpt_oss", "phi", "phi3", "phi-msft", "falcon", "olmo", "olmo2", "cohere", "starcoder2", "gpt_neox"}
)  # fmt: skip

# Alternative key names, first present wins (transformers `attribute_map`s: gpt2, falcon, phi-msft, chatglm…).
KEY_ALIASES: dict[str, tuple[str, ...]] = {
    "num_hidden_layers": ("num_hidden_layers", "n_layer", "num_layers", "n_layers"),
    "hidden_size": ("hidden_size", "n_embd", "d_model", "dim"),
    "num_attention_heads": ("num_attention_heads", "n_head", "num_heads", "n_heads", "encoder_attention_heads"),
    "num_key_value_heads": ("num_key_value_heads", "n_head_kv", "num_kv_heads", "multi_query_group_num"),
    "intermediate_size": ("intermediate_size", "n_inner", "ffn_dim", "d_ff", "ffn_hidden_size", "encoder_ffn_dim"),
    "max_position_embeddings": (
        "max_position_embeddings", "n_positions", "seq_length", "max_seq_len", "max_sequence_length", "n_ctx",
        "max_target_positions",
    ),
    "num_experts": ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts"),
    "experts_per_token": ("num_experts_per_tok", "experts_per_token", "moe_topk", "top_k"),
    "dtype": ("torch_dtype", "dtype"),
}  # fmt: skip

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


def _get(cfg: Mapping, name: str, default: Any = None) -> Any:
    """First non-None value among a key's aliases."""
    for key in KEY_ALIASES.get(name, (name,)):
        if cfg.get(key) is not None:
            return cfg[key]
    return default


def text_config(config: Mapping) -> Mapping:
    """The text part of a multimodal config (transformers `get_text_config()`); the config itself otherwise."""
    for key in ("text_config", "llm_config", "language_config"):
        sub = config.get(key)
        if isinstance(sub, Mapping) and sub:
            return sub
    return config


class _Reader:
    """Reads keys and records the ones we had to default."""

    def __init__(self, cfg: Mapping) -> None:
        self.cfg = cfg
        self.assumed: list[str] = []

    def get(self, name: str, default: Any = None) -> Any:
        value = _get(self.cfg, name)
        if value is None and default is not None:
            self.assumed.append(name)
            return default
        return value


def _is_encoder_only(cfg: Mapping, model_type: str, archs: Sequence[str]) -> bool:
    if cfg.get("is_decoder") is True or cfg.get("is_encoder_decoder"):
        return False
    if model_type in ENCODER_ONLY_TYPES:
        return True
    return (
        bool(archs)
        and all(a.endswith(ENCODER_ARCH_SUFFIXES) and "CausalLM" not in a for a in archs)
        and model_type not in UNTIED_BY_DEFAULT
        and model_type not in FAMILIES  # known decoder families with a classification head
    )


def _kv_heads_per_layer(r: _Reader, n_layers: int, n_heads: int, model_type: str) -> list[int]:
    raw = r.cfg.get("num_key_value_heads")
    if isinstance(raw, Sequence) and not isinstance(raw, str):
        return [int(x) for x in raw]
    if r.cfg.get("multi_query") and not r.cfg.get("new_decoder_architecture"):
        return [1] * n_layers  # falcon multi_query: one KV head (transformers fills 71 = a class default)
    kv = _get(r.cfg, "num_key_value_heads")
    if kv is None:
        if model_type not in ("gpt2", "phi-msft", "gpt_neox", "gptj"):
            r.assumed.append("num_key_value_heads")
        kv = n_heads
    return [int(kv)] * n_layers


def _layer_kinds(cfg: Mapping, n_layers: int) -> list[str]:
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


def _recurrent_state(cfg: Mapping, kind: str) -> tuple[int, int]:
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


def _build_layers(cfg: Mapping, n_layers: int, kv_list: list[int], d: int, encoder_only: bool) -> tuple[LayerSpec, ...]:
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


def _moe_layers(cfg: Mapping, n_layers: int, n_experts: int) -> tuple[int, ...]:
    if not n_experts:
        return ()
    first_dense = int(cfg.get("first_k_dense_replace") or 0)
    step = int(cfg.get("decoder_sparse_step") or cfg.get("moe_layer_freq") or 1)
    only_mlp = set(cfg.get("mlp_only_layers") or ())
    return tuple(i for i in range(n_layers) if i >= first_dense and (i + 1) % step == 0 and i not in only_mlp)


def _kv_cache_dtype(cfg: Mapping) -> str | None:
    quant = cfg.get("quantization_config") or {}
    scheme = quant.get("kv_cache_scheme") if isinstance(quant, Mapping) else None
    if isinstance(scheme, Mapping):
        return "fp8" if scheme.get("type") == "float" and scheme.get("num_bits") == 8 else str(scheme.get("type"))
    algo = quant.get("kv_cache_quant_algo") if isinstance(quant, Mapping) else None
    return str(algo).lower() if algo else None


def _tied(cfg: Mapping, top: Mapping, model_type: str) -> bool:
    for source in (cfg, top):
        if source.get("tie_word_embeddings") is not None:
            return bool(source["tie_word_embeddings"])
    return model_type not in UNTIED_BY_DEFAULT


def arch_facts(config: Mapping) -> ArchFacts:
    """Architecture facts of a config.json dict (multimodal: its text part)."""
    cfg = text_config(config)
    r = _Reader(cfg)
    model_type = str(cfg.get("model_type") or config.get("model_type") or "")
    archs = tuple(config.get("architectures") or cfg.get("architectures") or ())
    n_layers = int(r.get("num_hidden_layers", 0))
    h = int(r.get("hidden_size", 0))
    n_heads = int(r.get("num_attention_heads", 1))
    d = int(cfg.get("head_dim") or (h // n_heads if n_heads else 0))  # never h/a when head_dim is given
    kv_list = _kv_heads_per_layer(r, n_layers, n_heads, model_type)
    encoder_only = _is_encoder_only(cfg, model_type, archs)
    enc_dec = bool(cfg.get("is_encoder_decoder")) or model_type in ENCODER_DECODER_TYPES
    n_experts = int(_get(cfg, "num_experts", 0) or 0)
    inter = int(r.get("intermediate_size", 4 * h))
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
        is_encoder_decoder=enc_dec,
        has_vision=isinstance(config.get("vision_config"), Mapping),
        num_experts=n_experts,
        experts_per_token=int(_get(cfg, "experts_per_token", 0) or 0),
        num_shared_experts=int(cfg.get("n_shared_experts") or cfg.get("num_shared_experts") or 0),
        moe_intermediate_size=int(cfg.get("moe_intermediate_size") or inter) if n_experts else 0,
        moe_layers=_moe_layers(cfg, n_layers, n_experts),
        num_nextn_predict_layers=int(cfg.get("num_nextn_predict_layers") or 0),
        tie_word_embeddings=_tied(cfg, config, model_type),
        rope_scaling=cfg.get("rope_scaling"),
        dtype=_get(cfg, "dtype") or _get(config, "dtype"),
        quantization_config=config.get("quantization_config") or cfg.get("quantization_config"),
        kv_cache_dtype=_kv_cache_dtype(config),
        q_lora_rank=int(cfg.get("q_lora_rank") or 0),
        qk_nope_head_dim=int(cfg.get("qk_nope_head_dim") or 0),
        v_head_dim=int(cfg.get("v_head_dim") or 0),
        attention_bias=cfg.get("attention_bias"),
        mlp_bias=cfg.get("mlp_bias"),
        max_source_positions=cfg.get("max_source_positions"),
        mla_latent_cache=cfg.get("gguf_mla_latent_cache"),
        assumed=tuple(dict.fromkeys(r.assumed)),
    )


@dataclass(frozen=True)
class Family:
    """Which parameters a decoder family has beyond the Llama block (transformers modeling_*.py)."""

    qkv_bias: bool = False
    """q, k, v projections have biases."""
    o_bias: bool = False
    """Output projection has a bias."""
    mlp_bias: bool = False
    """MLP projections have biases."""
    gated_mlp: bool = True
    """SwiGLU/GeGLU (3 matrices) rather than fc1/fc2 (2)."""
    norms_per_layer: int = 2
    """Norm vectors per layer (Gemma 2/3: 4)."""
    norm_bias: bool = False
    """LayerNorm with bias (2 vectors per norm)."""
    qk_norm: bool = False
    """Per-head q/k RMSNorm (Qwen3, Gemma 3)."""
    learned_positions: bool = False
    """Absolute position embedding table (GPT-2)."""
    lm_head_bias: bool = False
    """lm_head has a bias (phi)."""
    attn_sinks: bool = False
    """One learned sink logit per head (gpt-oss)."""
    expert_bias: bool = False
    """Expert projections have biases (gpt-oss)."""
    router_bias: bool = False
    """Router has a bias (gpt-oss) or a score-correction bias (DeepSeek-V3)."""


# Family facts from transformers modeling files (the parameter list of each block).
FAMILIES: dict[str, Family] = {
    "llama": Family(),
    "mistral": Family(),
    "mixtral": Family(),
    "qwen2": Family(qkv_bias=True),
    "qwen2_moe": Family(qkv_bias=True),
    "qwen3": Family(qk_norm=True),
    "qwen3_moe": Family(qk_norm=True),
    "gemma": Family(),
    "gemma2": Family(norms_per_layer=4),
    "gemma3": Family(norms_per_layer=4, qk_norm=True),
    "gemma3_text": Family(norms_per_layer=4, qk_norm=True),
    "gpt2": Family(qkv_bias=True, o_bias=True, mlp_bias=True, gated_mlp=False, norm_bias=True, learned_positions=True),
    "phi": Family(qkv_bias=True, o_bias=True, mlp_bias=True, gated_mlp=False, norms_per_layer=1, norm_bias=True,
                  lm_head_bias=True),
    "phi-msft": Family(qkv_bias=True, o_bias=True, mlp_bias=True, gated_mlp=False, norms_per_layer=1, norm_bias=True,
                       lm_head_bias=True),
    "phi3": Family(),
    "deepseek_v3": Family(router_bias=True),
    "deepseek_v2": Family(),
    "gpt_oss": Family(qkv_bias=True, o_bias=True, attn_sinks=True, expert_bias=True, router_bias=True),
}  # fmt: skip


def _family(facts: ArchFacts) -> Family:
    fam = FAMILIES.get(facts.model_type, Family())
    if facts.attention_bias is not None:  # transformers applies `attention_bias` to q, k, v and o alike
        fam = replace(fam, qkv_bias=facts.attention_bias, o_bias=facts.attention_bias)
    if facts.mlp_bias is not None:
        fam = replace(fam, mlp_bias=facts.mlp_bias)
    return fam


def _linear(d_in: int, d_out: int, bias: bool) -> int:
    return d_in * d_out + (d_out if bias else 0)


def _attention_params(f: ArchFacts, fam: Family, kv: int) -> int:
    h, a, d = f.hidden_size, f.num_heads, f.head_dim
    if f.q_lora_rank or (f.layers and f.layers[0].kind == "mla"):
        return _mla_params(f)
    qkv = _linear(h, a * d, fam.qkv_bias) + 2 * _linear(h, kv * d, fam.qkv_bias)
    extras = (2 * d if fam.qk_norm else 0) + (a if fam.attn_sinks else 0)
    return qkv + _linear(a * d, h, fam.o_bias) + extras


def _mla_params(f: ArchFacts) -> int:
    """DeepSeek V2/V3 multi-head latent attention projections and their norms."""
    h, a = f.hidden_size, f.num_heads
    rope = f.layers[0].qk_rope_head_dim
    kv_rank = f.layers[0].kv_lora_rank
    q_dim = a * (f.qk_nope_head_dim + rope)
    q = h * f.q_lora_rank + f.q_lora_rank + f.q_lora_rank * q_dim if f.q_lora_rank else h * q_dim
    kv = h * (kv_rank + rope) + kv_rank + kv_rank * a * (f.qk_nope_head_dim + f.v_head_dim)
    return q + kv + a * f.v_head_dim * h


def _mlp_params(h: int, i: int, fam: Family, bias: bool | None = None) -> int:
    b = fam.mlp_bias if bias is None else bias
    n_up = 2 if fam.gated_mlp else 1
    return n_up * _linear(h, i, b) + _linear(i, h, b)


def _moe_params(f: ArchFacts, fam: Family) -> int:
    h, i, e = f.hidden_size, f.moe_intermediate_size, f.num_experts
    experts = e * _mlp_params(h, i, fam, bias=fam.expert_bias)
    shared = f.num_shared_experts * _mlp_params(h, i, fam)
    return experts + shared + _linear(h, e, fam.router_bias)


def estimate_params_from_config(facts: ArchFacts) -> int:
    """Total parameters of a standard decoder from its config (MTP layers excluded)."""
    fam = _family(facts)
    h, v = facts.hidden_size, facts.vocab_size
    norm = h * (2 if fam.norm_bias else 1)
    moe = set(facts.moe_layers)
    total = v * h + (facts.max_context or 0) * h * fam.learned_positions
    for idx, layer in enumerate(facts.layers):
        total += _attention_params(facts, fam, layer.kv_heads or facts.num_kv_heads)
        mlp = _moe_params(facts, fam) if idx in moe else _mlp_params(h, facts.intermediate_size, fam)
        total += mlp + fam.norms_per_layer * norm
    total += norm  # final norm
    if not facts.tie_word_embeddings:
        total += _linear(h, v, fam.lm_head_bias)
    return total
