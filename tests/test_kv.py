"""KV bytes per token and per sequence: reference numbers from docs/memory-model.md, one test per layer kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cardscan.errors import ScanError
from cardscan.estimate.engines import ENGINES
from cardscan.estimate.kv import KV_DTYPES, KVPolicy, kv_cache, resolve_kv_dtype
from cardscan.parse.config import arch_facts
from tests.test_config import QWEN3_NEXT, WHISPER


def policy(engine: str, **kw) -> KVPolicy:
    """The KV policy of a registered engine (its layout rule) with the given context, batch…"""
    e = ENGINES[engine]
    return KVPolicy(layout=e.layout, mla_eager=e.mla_eager, **kw)


CONFIGS = Path(__file__).parent / "fixtures" / "configs"
GIB = 1 << 30


def facts(name: str):
    return arch_facts(json.loads((CONFIGS / f"{name}.json").read_text()))


# Gemma-3-27B text model (no 27B config in fixtures): 62 L, kv 16, d 128, W 1024, pattern 6 → 10 global.
GEMMA3_27B = {"model_type": "gemma3_text", "num_hidden_layers": 62, "hidden_size": 5376, "num_attention_heads": 32,
              "num_key_value_heads": 16, "head_dim": 128, "sliding_window": 1024, "sliding_window_pattern": 6,
              "vocab_size": 262208, "max_position_embeddings": 131072, "torch_dtype": "bfloat16"}  # fmt: skip
# gpt-oss-120b: 36 L, kv 8, d 64, alternating sliding (W 128) / full.
GPT_OSS_120B = {"model_type": "gpt_oss", "num_hidden_layers": 36, "hidden_size": 2880, "num_attention_heads": 64,
                "num_key_value_heads": 8, "head_dim": 64, "sliding_window": 128, "torch_dtype": "bfloat16",
                "layer_types": ["sliding_attention", "full_attention"] * 18, "max_position_embeddings": 131072}  # fmt: skip


def test_llama31_8b_full_gqa() -> None:
    r = kv_cache(facts("meta-llama__Llama-3.1-8B"), KVPolicy(context=8192))
    assert r.bytes_per_token == 131_072
    assert r.total_bytes == 1 * GIB
    assert kv_cache(facts("meta-llama__Llama-3.1-8B"), KVPolicy(context=131072)).total_bytes == 16 * GIB


def test_llama2_7b_full_mha() -> None:
    r = kv_cache(facts("meta-llama__Llama-2-7b-hf"), KVPolicy(context=4096))
    assert r.bytes_per_token == 524_288 and r.total_bytes == 2 * GIB


def test_mqa_one_kv_head() -> None:
    r = kv_cache(facts("google__gemma-2b"), KVPolicy(context=1))
    assert r.bytes_per_token == 18 * 2 * 1 * 256 * 2  # L · (K+V) · kv 1 · d 256 · bf16


def test_deepseek_v3_mla_latent_not_doubled_and_replicated_over_tp() -> None:
    f = facts("deepseek-ai__DeepSeek-V3")
    assert kv_cache(f, KVPolicy(context=1)).bytes_per_token == 70_272  # 61 · (512 + 64) · 2
    assert kv_cache(f, KVPolicy(context=1, tp=8)).bytes_per_token == 70_272
    eager = kv_cache(f, policy("transformers", context=1))  # HF eager caches per-head K and V
    assert eager.bytes_per_token == 4_997_120


def test_gemma3_27b_sliding_llamacpp_policy() -> None:
    f = arch_facts(GEMMA3_27B)
    r = kv_cache(f, policy("llama.cpp", context=131072, n_ubatch=512))
    per_layer = 2 * 16 * 128 * 2  # 8,192 B/token/layer
    assert r.total_bytes == 10 * per_layer * 131072 + 52 * per_layer * 1536  # SWA cells pad(1024 + 512)
    assert r.total_bytes / GIB == pytest.approx(10.6, abs=0.01)
    held_at_w = kv_cache(f, policy("transformers", context=131072)).total_bytes
    assert held_at_w / GIB == pytest.approx(10.41, abs=0.01)
    # the same architecture from the real medgemma-27b-it config (layer_types)
    assert kv_cache(facts("google__medgemma-27b-it"), policy("llama.cpp", context=131072)).total_bytes == (
        r.total_bytes
    )


def test_gpt_oss_120b_vllm_counts_all_36_layers() -> None:
    f = arch_facts(GPT_OSS_120B)
    r = kv_cache(f, policy("vllm", context=131072, max_num_batched_tokens=8192))
    assert r.bytes_per_token == 73_728
    sliding = next(k for k in r.by_kind if k.kind == "sliding")
    assert sliding.layers == 18 and sliding.tokens_held == (-(-(128 - 1 + 8192) // 16) + 1) * 16
    cpp = kv_cache(f, policy("llama.cpp", context=131072))
    assert next(k for k in cpp.by_kind if k.kind == "sliding").tokens_held == 768  # pad(128 + 512, 256)


def test_sliding_window_generic_holds_window() -> None:
    r = kv_cache(facts("google__gemma-2-2b"), KVPolicy(context=8192))
    per_layer = 2 * 4 * 256 * 2
    assert r.total_bytes == 13 * per_layer * 8192 + 13 * per_layer * 4096


def test_chunked_attention_vllm() -> None:
    f = arch_facts({"model_type": "llama4_text", "num_hidden_layers": 4, "hidden_size": 1024,
                    "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 128,
                    "attention_chunk_size": 8192})  # fmt: skip
    r = kv_cache(f, policy("vllm", context=65536, max_num_batched_tokens=2048))
    chunked = next(k for k in r.by_kind if k.kind == "chunked")
    assert chunked.tokens_held == 8192 + 2048
    assert kv_cache(f, KVPolicy(context=65536)).by_kind[0].tokens_held == 8192


def test_linear_attention_gdn_fixed_state() -> None:
    r = kv_cache(arch_facts(QWEN3_NEXT), KVPolicy(context=32768, batch=2))
    assert r.bytes_per_token == 24_576  # 12 full layers · 2 · kv 2 · d 256 · 2
    conv, ssm = 3 * (2 * 128 * 16 + 128 * 32) * 2, 32 * 128 * 128 * 4  # 49,152 B + 2 MiB fp32
    assert (conv, ssm) == (49_152, 2 * 1024 * 1024)
    assert r.state_bytes_per_sequence == 36 * (conv + ssm)
    assert r.total_bytes == 2 * (24_576 * 32768 + 36 * (conv + ssm))


def test_mamba_fixed_state() -> None:
    f = arch_facts({"model_type": "nemotron_h", "num_hidden_layers": 3, "hidden_size": 1024,
                    "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 128,
                    "hybrid_override_pattern": "M*M", "mamba_num_heads": 32, "mamba_head_dim": 64,
                    "n_groups": 8, "ssm_state_size": 128, "conv_kernel": 4})  # fmt: skip
    assert [x.kind for x in f.layers] == ["mamba", "full", "mamba"]
    r = kv_cache(f, KVPolicy(context=1000))
    conv = 3 * (2048 + 2 * 8 * 128) * 2
    ssm = 32 * 64 * 128 * 4
    assert r.state_bytes_per_sequence == 2 * (conv + ssm)
    assert r.bytes_per_token == 2 * 2 * 128 * 2


def test_encoder_only_has_no_kv() -> None:
    bert = arch_facts({"model_type": "bert", "num_hidden_layers": 12, "hidden_size": 768, "num_attention_heads": 12})
    r = kv_cache(bert, KVPolicy(context=512, batch=32))
    assert r.total_bytes == 0 and r.bytes_per_token == 0


def test_encoder_decoder_cross_attention_holds_encoder_length() -> None:
    r = kv_cache(arch_facts(WHISPER), KVPolicy(context=448))
    per_layer = 2 * 6 * 64 * 2
    cross = next(k for k in r.by_kind if k.kind == "cross")
    assert cross.tokens_held == 1500
    assert r.total_bytes == 4 * per_layer * 448 + 4 * per_layer * 1500
    assert r.bytes_per_token == 4 * per_layer  # per-token growth is the decoder self-attention only


@pytest.mark.parametrize(("tp", "expected"), [(1, 131_072), (2, 65_536), (8, 16_384), (16, 16_384)])
def test_tp_kv_heads_per_rank(tp: int, expected: int) -> None:
    assert kv_cache(facts("meta-llama__Llama-3.1-8B"), KVPolicy(context=1, tp=tp)).bytes_per_token == expected


def test_kv_dtypes_and_auto() -> None:
    assert KV_DTYPES["q8_0"] == 34 / 32 and KV_DTYPES["q4_0"] == 18 / 32
    f = facts("meta-llama__Llama-3.1-8B")
    assert kv_cache(f, KVPolicy(context=1), "fp8").bytes_per_token == 65_536
    assert kv_cache(f, KVPolicy(context=32), "q8_0").total_bytes == 32 * 131_072 * 34 // 64
    assert resolve_kv_dtype("auto", facts("Qwen__Qwen3-30B-A3B-FP8")) == "bf16"  # FP8 weights ≠ FP8 KV
    assert resolve_kv_dtype("auto", facts("meta-llama__Llama-2-7b-hf")) == "fp16"
    with pytest.raises(ScanError):
        resolve_kv_dtype("int3", f)


def test_llamacpp_slots_share_n_ctx() -> None:
    f = facts("meta-llama__Llama-3.1-8B")
    shared = kv_cache(f, policy("llama.cpp", context=4096, batch=4)).total_bytes
    assert shared == kv_cache(f, KVPolicy(context=4096, batch=4)).total_bytes == 4 * 4096 * 131_072
