"""config.json → ArchFacts and parameter counts from config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cardscan.parse.config import arch_facts, estimate_params_from_config
from tests.known_totals import KNOWN_TOTALS

CONFIGS = Path(__file__).parent / "fixtures" / "configs"


def load(name: str) -> dict:
    return json.loads((CONFIGS / f"{name}.json").read_text())


@pytest.mark.parametrize(("name", "total"), KNOWN_TOTALS.items())
def test_params_from_config_within_one_percent(name: str, total: int) -> None:
    got = estimate_params_from_config(arch_facts(load(name)))
    assert abs(got - total) / total < 0.01
    assert got == total  # all of these are exact today; keep them exact


def test_multimodal_reads_text_config_and_keeps_vision() -> None:
    f = arch_facts(load("google__medgemma-27b-it"))
    assert (f.model_type, f.num_layers, f.head_dim, f.num_kv_heads) == ("gemma3_text", 62, 128, 16)
    assert f.has_vision
    assert f.kind_counts == {"sliding": 52, "full": 10}
    assert f.max_context == 131072


def test_gpt2_names_and_learned_positions() -> None:
    f = arch_facts(load("openai-community__gpt2"))
    assert (f.num_layers, f.num_heads, f.hidden_size, f.head_dim, f.num_kv_heads) == (12, 12, 768, 64, 12)
    assert f.max_context == 1024 and f.tie_word_embeddings


def test_explicit_head_dim_is_never_h_over_a() -> None:
    assert arch_facts(load("Qwen__Qwen3-8B")).head_dim == 128
    gemma = arch_facts(load("google__gemma-2-2b"))
    assert gemma.head_dim == 256 != gemma.hidden_size // gemma.num_heads


def test_mixtral_moe_fields_and_head_dim_from_h_over_a() -> None:
    f = arch_facts(load("mistralai__Mixtral-8x7B-v0.1"))
    assert f.head_dim == 128
    assert (f.num_experts, f.experts_per_token, f.moe_intermediate_size) == (8, 2, 14336)
    assert f.moe_layers == tuple(range(32))
    assert f.kind_counts == {"full": 32}  # sliding_window null


def test_qwen2_use_sliding_window_false_means_full() -> None:
    assert arch_facts(load("Qwen__Qwen2-0.5B")).kind_counts == {"full": 24}


def test_deepseek_mla_moe_and_mtp() -> None:
    f = arch_facts(load("deepseek-ai__DeepSeek-V3"))
    layer = f.layers[0]
    assert (layer.kind, layer.kv_lora_rank, layer.qk_rope_head_dim) == ("mla", 512, 64)
    assert (f.qk_nope_head_dim, f.v_head_dim, f.q_lora_rank) == (128, 128, 1536)
    assert f.moe_layers[0] == 3 and len(f.moe_layers) == 58  # first_k_dense_replace 3
    assert (f.num_experts, f.num_shared_experts, f.num_nextn_predict_layers) == (256, 1, 1)


def test_gpt_oss_layer_types() -> None:
    f = arch_facts(load("openai__gpt-oss-20b"))
    assert f.kind_counts == {"sliding": 12, "full": 12}
    assert f.layers[0].window == 128 and f.layers[1].window is None


def test_sliding_window_pattern_gemma3() -> None:
    f = arch_facts(load("google__gemma-3-1b-it"))
    assert [i for i, x in enumerate(f.layers) if x.kind == "full"] == [5, 11, 17, 23]


def test_falcon_multi_query_has_one_kv_head() -> None:
    cfg = {"model_type": "falcon", "num_hidden_layers": 32, "hidden_size": 4544, "num_attention_heads": 71,
           "multi_query": True, "vocab_size": 65024}  # fmt: skip
    f = arch_facts(cfg)
    assert f.num_kv_heads == 1 and f.head_dim == 64


def test_per_layer_kv_heads_and_kv_shared_layers() -> None:
    cfg = {"model_type": "x", "num_hidden_layers": 4, "hidden_size": 512, "num_attention_heads": 8,
           "num_key_value_heads": [2, 0, 4, 4], "num_kv_shared_layers": 1}  # fmt: skip
    f = arch_facts(cfg)
    assert [x.kind for x in f.layers] == ["full", "none", "full", "none"]
    assert f.layers[0].kv_heads == 2 and f.layers[2].kv_heads == 4 and f.num_kv_heads == 4


def test_full_attention_interval_linear_layers() -> None:
    f = arch_facts(QWEN3_NEXT)
    assert f.kind_counts == {"linear": 36, "full": 12}
    assert f.layers[3].kind == "full"


def test_layers_block_type_mamba_and_chunked() -> None:
    jamba = arch_facts({"model_type": "jamba", "num_hidden_layers": 4, "hidden_size": 1024, "num_attention_heads": 8,
                        "num_key_value_heads": 8, "layers_block_type": ["mamba", "mamba", "attention", "mamba"]})  # fmt: skip
    assert [x.kind for x in jamba.layers] == ["mamba", "mamba", "full", "mamba"]
    llama4 = arch_facts({"model_type": "llama4_text", "num_hidden_layers": 8, "hidden_size": 1024,
                         "num_attention_heads": 8, "num_key_value_heads": 2, "attention_chunk_size": 8192})  # fmt: skip
    assert llama4.kind_counts == {"chunked": 6, "full": 2} and llama4.layers[0].window == 8192


def test_encoder_only_and_encoder_decoder() -> None:
    bert = arch_facts({"model_type": "bert", "architectures": ["BertModel"], "num_hidden_layers": 12,
                       "hidden_size": 768, "num_attention_heads": 12})  # fmt: skip
    assert bert.is_encoder_only and {x.kind for x in bert.layers} == {"none"}
    xlmr = arch_facts({"model_type": "custom", "architectures": ["FooForSequenceClassification"],
                       "num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4})  # fmt: skip
    assert xlmr.is_encoder_only
    assert not arch_facts(load("meta-llama__Llama-3.1-8B")).is_encoder_only
    whisper = arch_facts(WHISPER)
    assert len(whisper.cross_layers) == 4 and whisper.encoder_tokens == 1500


def test_tie_default_by_family_and_assumed_keys() -> None:
    assert arch_facts(load("google__gemma-2b")).tie_word_embeddings  # key absent: gemma ties
    f = arch_facts({"model_type": "llama", "num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4})
    assert not f.tie_word_embeddings
    assert {"num_key_value_heads", "vocab_size", "max_position_embeddings"} <= set(f.assumed)


def test_dtype_kept() -> None:
    f = arch_facts(load("Qwen__Qwen3-30B-A3B-FP8"))
    assert f.dtype == "bfloat16" and f.kv_cache_dtype is None
    assert f.num_experts == 128 and f.moe_intermediate_size == 768


QWEN3_NEXT = {
    "model_type": "qwen3_next", "num_hidden_layers": 48, "hidden_size": 2048, "num_attention_heads": 16,
    "num_key_value_heads": 2, "head_dim": 256, "full_attention_interval": 4, "linear_conv_kernel_dim": 4,
    "linear_key_head_dim": 128, "linear_num_key_heads": 16, "linear_num_value_heads": 32,
    "linear_value_head_dim": 128, "vocab_size": 151936, "max_position_embeddings": 262144,
}  # fmt: skip
WHISPER = {
    "model_type": "whisper", "is_encoder_decoder": True, "d_model": 384, "decoder_layers": 4,
    "num_hidden_layers": 4, "decoder_attention_heads": 6, "encoder_attention_heads": 6, "max_source_positions": 1500,
    "max_target_positions": 448, "vocab_size": 51865,
}  # fmt: skip
