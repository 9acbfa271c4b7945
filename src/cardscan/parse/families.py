"""Model-family facts, one row per config `model_type`: the one home for what differs between families.

Every value comes from the public transformers source of that model type, `src/transformers/models/<dir>/`
(https://github.com/huggingface/transformers/tree/main/src/transformers/models): `configuration_<dir>.py` gives the
defaults (`tie_word_embeddings`, MLP width) and the `attribute_map` key aliases; `modeling_<dir>.py` gives the
parameters of one block (biases, norms, gated MLP, experts). Whether the config-only formula is exact for a family
was measured against transformers on the meta device over the real configs in tests/fixtures/configs
(docs/accuracy.md, `python scripts/check_config_counts.py`); tests/test_families.py and tests/test_config_corpus.py
keep the table and those measurements in step.

Readers: parse/config.py (key aliases, formulas), parse/params.py (tied-head and expert facts), testing/corpus.py
(synthetic checkpoints), and the estimator through `gated_mlp`, `expert_params` and `active_parameters`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TRANSFORMERS_MODELS = "https://github.com/huggingface/transformers/tree/main/src/transformers/models/"

# Canonical name → config.json keys that mean it, first present wins. Merged from the `attribute_map` of each
# transformers config class (gpt2/gptj/gpt_bigcode: n_embd, n_head, n_layer, n_positions; bloom: n_layer, n_head and
# `n_embed` popped in BloomConfig/FalconConfig.__init__; t5/bart/whisper: d_model, num_heads, num_layers,
# encoder_layers; mpt/dbrx: d_model, n_heads, n_layers, max_seq_len; distilbert: dim, n_heads, n_layers; falcon:
# num_kv_heads, n_head_kv (RW configs), ffn_hidden_size; chatglm: num_layers, multi_query_group_num, ffn_hidden_size,
# seq_length, kv_channels; rwkv: context_length; whisper: encoder_attention_heads for KV heads) and the MoE spellings
# of mixtral, qwen*_moe, deepseek, ernie and dbrx.
ALIASES: dict[str, tuple[str, ...]] = {
    "num_hidden_layers": ("num_hidden_layers", "n_layer", "num_layers", "n_layers", "encoder_layers"),
    "hidden_size": ("hidden_size", "n_embd", "n_embed", "d_model", "dim"),
    "num_attention_heads": (
        "num_attention_heads", "n_head", "num_heads", "n_heads", "encoder_attention_heads",
    ),
    "num_key_value_heads": (
        "num_key_value_heads", "num_kv_heads", "n_head_kv", "multi_query_group_num", "encoder_attention_heads",
    ),
    "intermediate_size": (
        "intermediate_size", "n_inner", "ffn_hidden_size", "ffn_dim", "d_ff", "encoder_ffn_dim",
    ),
    "max_position_embeddings": (
        "max_position_embeddings", "n_positions", "seq_length", "max_seq_len", "max_sequence_length", "n_ctx",
        "context_length", "max_target_positions",
    ),
    "num_experts": ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts"),
    "experts_per_token": ("num_experts_per_tok", "experts_per_token", "num_experts_per_token", "moe_topk", "moe_k"),
    "head_dim": ("head_dim", "d_kv", "kv_channels"),
    "dtype": ("torch_dtype", "dtype"),
}  # fmt: skip

# Config switches that turn block biases on or off, for every family (transformers `attention_bias`, `mlp_bias`);
# a family's own spellings are in `Family.bias_keys`.
BIAS_KEYS: dict[str, tuple[str, ...]] = {"attention_bias": ("qkv_bias", "o_bias"), "mlp_bias": ("mlp_bias",)}

# Multi-token-prediction layer counts (deepseek_v3/glm4_moe/ernie `attribute_map`: num_mtp_layers).
MTP_KEYS = ("num_nextn_predict_layers", "mtp_num_hidden_layers", "num_mtp_layers")

# Routed-expert tensors in checkpoints: per-expert modules `.experts.{j}.` (mixtral, qwen*_moe, deepseek), fused
# stacks `.experts.gate_up_proj` (gpt_oss, llama4), GGUF `_exps` (llama.cpp tensor names).
ROUTED_EXPERT_PATTERN = r"(^|\.)experts\.|_exps\."


@dataclass(frozen=True)
class Block:
    """Which parameters one decoder block has beyond the Llama block (modeling_<type>.py)."""

    qkv_bias: bool = False
    """q, k, v projections have biases."""
    o_bias: bool = False
    """Output projection has a bias."""
    mlp_bias: bool = False
    """MLP projections have biases."""
    norms_per_layer: int = 2
    """Norm vectors per layer (Gemma 2/3 and OLMo-2: 4 or 2 post-norms; parallel blocks: 1)."""
    norm_bias: bool = False
    """LayerNorm with a bias (2 vectors per norm) rather than RMSNorm."""
    qk_norm: str = ""
    """Query/key norms: "head" (one head_dim vector each: qwen3, gemma3), "full" (over all heads: olmo2)."""
    learned_positions: bool = False
    """Absolute position embedding table of max_position_embeddings rows (gpt2, gpt_bigcode)."""
    lm_head_bias: bool = False
    """lm_head has a bias (phi, gptj)."""
    embed_norm: bool = False
    """LayerNorm right after the token embedding (bloom `word_embeddings_layernorm`)."""
    attn_sinks: bool = False
    """One learned sink logit per head (gpt-oss)."""
    expert_bias: bool = False
    """Expert projections have biases (gpt-oss)."""
    router_bias: bool = False
    """Router has a bias (gpt-oss) or a score-correction bias (DeepSeek-V3)."""
    shared_expert_gate: bool = False
    """A sigmoid gate (h → 1) on the shared expert (qwen2_moe)."""


@dataclass(frozen=True)
class Family:
    """Facts of one `model_type`, from transformers' configuration_<dir>.py and modeling_<dir>.py."""

    model_type: str
    """The config's `model_type`."""
    source: str
    """Directory under transformers/models holding its configuration and modeling files."""
    tied: bool | None
    """`tie_word_embeddings` when the config omits it: the config class's default, else PretrainedConfig's True
    (transformers configuration_utils.py); None = not known."""
    formula: str | None = "decoder"
    """Config-only formula: "decoder" (Llama-style block with `block` flags), "opt", "t5", "encoder" (BERT), or None
    when only transformers can count it (hybrid/SSM layers, vision towers, encoder-decoders other than T5)."""
    block: Block = field(default_factory=Block)
    """Parameter layout of one block."""
    gated_mlp: bool = True
    """SwiGLU/GeGLU MLP with 3 matrices (gate, up, down) rather than 2 (fc1, fc2)."""
    ffn_default_multiple: int = 4
    """MLP width when the config gives none, as a multiple of hidden (bloom, falcon, gptj, gpt2: 4·h)."""
    exact: bool = False
    """The formula equals transformers' meta-device count on every real config of this family we checked."""
    expected_error: float | None = None
    """Largest relative error measured when not exact (0.01 = 1%); None when exact or when no number is given."""
    note: str = ""
    """What the formula leaves out for this family, shown with an approximate figure."""
    bias_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """This family's own bias switches: config key → Block fields it sets (falcon `bias`, starcoder2 `use_bias`)."""
    config_defaults: Mapping[str, Any] = field(default_factory=dict)
    """Values the family's config class uses when config.json omits the key (configuration_<dir>.py __init__)."""

    @property
    def url(self) -> str:
        """Public source directory of this family's transformers code."""
        return TRANSFORMERS_MODELS + self.source


_GPT2 = Block(qkv_bias=True, o_bias=True, mlp_bias=True, norm_bias=True, learned_positions=True)
_PHI = Block(qkv_bias=True, o_bias=True, mlp_bias=True, norms_per_layer=1, norm_bias=True, lm_head_bias=True)
_NO_FORMULA = "no config-only formula for this family"
# DeepseekV2Config / DeepseekV3Config defaults: a config without q_lora_rank gets the low-rank query path.
_MLA_DEFAULTS = {"q_lora_rank": 1536, "kv_lora_rank": 512, "qk_rope_head_dim": 64, "qk_nope_head_dim": 128,
                 "v_head_dim": 128}  # fmt: skip
_MAMBA = "Mamba layers are not modelled"
_HEAD = "the task head (pooler, classifier, MLM transform) depends on the architecture class"


def _rows() -> tuple[Family, ...]:
    F = Family
    # fmt: off
    return (
        # Llama-style decoders: q/k/v/o, gated MLP, 2 RMSNorms per layer.
        F("llama", "llama", tied=False, exact=True),
        F("mistral", "mistral", tied=False, exact=True),
        F("mixtral", "mixtral", tied=False, exact=True),
        F("qwen2", "qwen2", tied=False, block=Block(qkv_bias=True), exact=True),
        F("qwen2_moe", "qwen2_moe", tied=False, block=Block(qkv_bias=True, shared_expert_gate=True), exact=True),
        F("qwen3", "qwen3", tied=False, block=Block(qk_norm="head"), exact=True),
        F("qwen3_moe", "qwen3_moe", tied=False, block=Block(qk_norm="head"), exact=True),
        F("gemma", "gemma", tied=True, exact=True),
        F("gemma2", "gemma2", tied=True, block=Block(norms_per_layer=4), exact=True),
        F("gemma3_text", "gemma3", tied=True, block=Block(norms_per_layer=4, qk_norm="head"), exact=True),
        F("phi3", "phi3", tied=False, exact=True),
        F("deepseek_v3", "deepseek_v3", tied=False, block=Block(router_bias=True), exact=True,
          config_defaults=_MLA_DEFAULTS),
        F("gpt_oss", "gpt_oss", tied=False, exact=True,
          block=Block(qkv_bias=True, o_bias=True, attn_sinks=True, expert_bias=True, router_bias=True)),
        F("olmo2", "olmo2", tied=False, block=Block(qk_norm="full"), exact=True),
        F("cohere", "cohere", tied=True, block=Block(norms_per_layer=1), exact=True),
        F("stablelm", "stablelm", tied=False, block=Block(norm_bias=True), exact=True,
          bias_keys={"use_qkv_bias": ("qkv_bias",)}),
        F("deepseek_v2", "deepseek_v2", tied=False, exact=True, config_defaults=_MLA_DEFAULTS),
        F("deepseek_v32", "deepseek_v32", tied=False, block=Block(router_bias=True), expected_error=0.005,
          note="the lightning-indexer projections are not counted", config_defaults=_MLA_DEFAULTS),
        F("minimax_m2", "minimax_m2", tied=False, block=Block(qk_norm="full", router_bias=True),
          expected_error=0.001, note="checked on one config only"),
        # GPT-2 lineage: fused qkv with biases, LayerNorm with bias, 2-matrix MLP.
        F("gpt2", "gpt2", tied=True, block=_GPT2, gated_mlp=False, exact=True),
        F("gpt_bigcode", "gpt_bigcode", tied=True, block=_GPT2, gated_mlp=False, exact=True,
          config_defaults={"multi_query": True}),
        F("phi", "phi", tied=False, gated_mlp=False, exact=True, block=_PHI),
        F("phi-msft", "phi", tied=False, gated_mlp=False, exact=True, block=_PHI,
          note="remote code of the first microsoft/phi-2 upload, the same block as transformers' phi; checked "
          "against that repo's safetensors total (transformers cannot build it)"),
        F("gptj", "gptj", tied=False, gated_mlp=False, exact=True,
          block=Block(mlp_bias=True, norms_per_layer=1, norm_bias=True, lm_head_bias=True)),
        F("gpt_neox", "gpt_neox", tied=False, gated_mlp=False, exact=True,
          block=Block(qkv_bias=True, o_bias=True, mlp_bias=True, norm_bias=True)),
        # Falcon: norms per layer follow parallel_attn / new_decoder_architecture (config.py decides).
        F("falcon", "falcon", tied=True, gated_mlp=False, exact=True, block=Block(norm_bias=True),
          bias_keys={"bias": ("qkv_bias", "o_bias", "mlp_bias")},
          config_defaults={"multi_query": True, "parallel_attn": True, "new_decoder_architecture": False,
                           "bias": False}),
        F("bloom", "bloom", tied=True, gated_mlp=False, exact=True,
          block=Block(qkv_bias=True, o_bias=True, mlp_bias=True, norm_bias=True, embed_norm=True)),
        F("starcoder2", "starcoder2", tied=True, gated_mlp=False, exact=True,
          block=Block(qkv_bias=True, o_bias=True, mlp_bias=True, norm_bias=True),
          bias_keys={"use_bias": ("qkv_bias", "o_bias", "mlp_bias")}),
        F("opt", "opt", tied=True, formula="opt", gated_mlp=False, exact=True),
        # Encoders and encoder-decoders.
        F("t5", "t5", tied=True, formula="t5", exact=True),
        F("mt5", "mt5", tied=True, formula="t5", exact=True),
        F("bert", "bert", tied=True, formula="encoder", gated_mlp=False, expected_error=0.01, note=_HEAD),
        F("roberta", "roberta", tied=True, formula="encoder", gated_mlp=False, expected_error=0.01, note=_HEAD),
        F("xlm-roberta", "xlm_roberta", tied=True, formula="encoder", gated_mlp=False, expected_error=0.01,
          note=_HEAD),
        # Families whose layers the formulas do not model: no number without transformers.
        F("mpt", "mpt", tied=True, formula=None, gated_mlp=False, note=_NO_FORMULA),
        F("dbrx", "dbrx", tied=False, formula=None, note=_NO_FORMULA),
        F("jamba", "jamba", tied=False, formula=None, note=_MAMBA),
        F("mamba", "mamba", tied=True, formula=None, note=_MAMBA),
        F("mamba2", "mamba2", tied=False, formula=None, note=_MAMBA),
        F("nemotron_h", "nemotron_h", tied=False, formula=None, note=_MAMBA),
        F("rwkv", "rwkv", tied=False, formula=None, note="RWKV layers are not modelled"),
        F("qwen3_next", "qwen3_next", tied=False, formula=None, note="linear-attention layers are not modelled"),
        F("umt5", "umt5", tied=True, formula=None, note=_NO_FORMULA),
        F("bart", "bart", tied=True, formula=None, gated_mlp=False, note=_NO_FORMULA),
        F("whisper", "whisper", tied=True, formula=None, gated_mlp=False, note=_NO_FORMULA),
        F("distilbert", "distilbert", tied=True, formula=None, gated_mlp=False, note=_NO_FORMULA),
    )
    # fmt: on


FAMILIES: dict[str, Family] = {f.model_type: f for f in _rows()}

# Config model types that share another row's code (transformers registers them under the same modeling file).
SAME_AS: dict[str, str] = {
    "gemma3": "gemma3_text",  # Gemma3ForConditionalGeneration's language model (vision tower not counted)
}


def family(model_type: str | None) -> Family | None:
    """The table row of a model type, None when it has none."""
    if not model_type:
        return None
    return FAMILIES.get(SAME_AS.get(model_type, model_type))


def tied_default(model_type: str | None) -> bool | None:
    """`tie_word_embeddings` when the config omits it; None for model types not in the table."""
    row = family(model_type)
    return row.tied if row else None


def gated_mlp(model_type: str | None) -> bool:
    """Whether the MLP has 3 matrices (gate, up, down); Llama-style (True) for types not in the table."""
    row = family(model_type)
    return row.gated_mlp if row else True


def alias_keys(name: str) -> tuple[str, ...]:
    """Config keys that spell a canonical attribute, first present wins."""
    return ALIASES.get(name, (name,))


def lookup(config: Mapping[str, Any], name: str) -> object:
    """First non-None value among the aliases of `name` in one config dict."""
    for key in alias_keys(name):
        if config.get(key) is not None:
            return config[key]
    return None
