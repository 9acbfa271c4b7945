"""Engine presets: generic totals, vLLM budget arithmetic and refusal, llama.cpp offload, transformers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cardscan.errors import ScanError
from cardscan.estimate.engines import ENGINES, EstimateOptions, estimate_memory
from cardscan.estimate.gpus import parse_gpu
from cardscan.estimate.weights import quick_rule_bytes, weights_at
from cardscan.parse.config import arch_facts, estimate_params_from_config

CONFIGS = Path(__file__).parent / "fixtures" / "configs"
GIB, MIB = 1 << 30, 1 << 20
LLAMA = arch_facts(json.loads((CONFIGS / "meta-llama__Llama-3.1-8B.json").read_text()))
PARAMS = estimate_params_from_config(LLAMA)
WEIGHTS = PARAMS * 2


def test_generic_is_sum_of_terms_with_500_mib_overhead() -> None:
    e = estimate_memory(LLAMA, WEIGHTS, PARAMS, EstimateOptions(context=8192))
    assert e.kv_cache_bytes == GIB and e.overhead_bytes == 500 * MIB
    assert e.total_bytes == e.weights_bytes + e.kv_cache_bytes + e.activations_bytes + e.overhead_bytes
    assert 0 < e.activations_bytes < GIB
    assert e.quick_rule_bytes == 2 * WEIGHTS
    assert any("32 of 32 layers full attention" in n for n in e.notes)


def test_default_context_is_model_max() -> None:
    assert estimate_memory(LLAMA, WEIGHTS, PARAMS, EstimateOptions()).context == 131072


def test_vllm_kv_capacity_worked_case_h100() -> None:
    h100 = parse_gpu("H100 80GB")
    e = estimate_memory(LLAMA, WEIGHTS, PARAMS, EstimateOptions(engine="vllm", context=8192, gpu=h100))
    # profile peak = MLP + residual stream (2·14336 + 4·4096) × 2 B × T 8192 + sampler 33.8 B × 1024 seqs × 128,256
    activation = int((2 * 14336 + 4 * 4096) * 2 * 8192 + 33.8 * 1024 * 128_256)
    # budget = 0.9 · 79.19 GiB − weights (16,060,522,496 B) − activation − non-torch 0.13 GiB − graphs 0.55 GiB
    budget = int(h100.usable_bytes * 0.9) - 16_060_522_496 - activation - int(0.13 * GIB) - int(0.55 * GIB)
    assert e.activations_bytes == activation
    assert e.kv_budget_bytes == budget
    assert e.kv_tokens == budget // 131_072 // 16 * 16  # 50.8 GiB of KV at 128 KiB/token
    assert e.kv_tokens == 416_240
    assert e.max_concurrency == pytest.approx(budget / (8192 * 131_072))
    assert e.fits_one_request and e.max_context_fit == 131072
    assert any("figures for vLLM ≥ 0.21" in n for n in e.notes)


def test_vllm_releases_differ_in_graphs_and_profile() -> None:
    """Older releases are registered beside `vllm`: graphs outside the budget (0.14, 0.10), V0's max_model_len run."""
    h100 = parse_gpu("H100 80GB")
    est = {n: estimate_memory(LLAMA, WEIGHTS, PARAMS, EstimateOptions(engine=n, context=32768, gpu=h100))
           for n in ("vllm", "vllm:0.14", "vllm:0.10", "vllm:0.6")}  # fmt: skip
    assert est["vllm:0.14"].kv_budget_bytes - est["vllm"].kv_budget_bytes == int(0.55 * GIB)  # graphs
    assert est["vllm:0.10"].activations_bytes < est["vllm:0.14"].activations_bytes  # smaller sampler term
    stream = (2 * 14336 + 4 * 4096) * 2
    assert est["vllm:0.6"].activations_bytes == int(1.24 * stream * 32768)  # V0 profiles max_model_len tokens
    assert all(any(f"figures for {ENGINES[e.engine].version}" in n for n in e.notes) for e in est.values())


def test_fp32_checkpoint_loads_in_16_bit_under_vllm_and_sglang() -> None:
    """vLLM / SGLang dtype=auto never compute in fp32: an fp32 checkpoint's weights count 2 B/param."""
    from cardscan.estimate.engines.base import loaded_weights

    n = 1_000_000
    assert loaded_weights("vllm", 4 * n, "float32", {}, n) == 2 * n  # config-only: every parameter
    assert loaded_weights("sglang", 4 * n + 100, "float32", {"fp32": n, "int4": 200}, n + 200) == 2 * n + 100
    assert loaded_weights("vllm", 2 * n, "bfloat16", {"bf16": n}, n) == 2 * n
    assert loaded_weights("transformers", 4 * n, "float32", {}, n) == 4 * n  # loads as stored by default
    assert loaded_weights("llama.cpp", 4 * n, "float32", {}, n) == 4 * n
    fp32 = arch_facts({**json.loads((CONFIGS / "meta-llama__Llama-3.1-8B.json").read_text()), "torch_dtype": "float32"})
    e = estimate_memory(fp32, WEIGHTS, PARAMS, EstimateOptions(engine="vllm", context=4096))
    assert any("loads the fp32 checkpoint in bf16" in n for n in e.notes)


def test_vllm_refuses_max_len_and_reports_largest_context() -> None:
    gpu = parse_gpu("rtx4090")
    e = estimate_memory(LLAMA, WEIGHTS, PARAMS, EstimateOptions(engine="vllm", gpu=gpu))
    assert e.context == 131072 and not e.fits_one_request
    assert e.max_context_fit == e.kv_budget_bytes // 131_072 // 16 * 16  # full attention, blocks of 16
    assert any("would refuse" in n for n in e.notes)


def test_vllm_tp_divides_weights_and_raises_non_torch() -> None:
    e1 = estimate_memory(LLAMA, WEIGHTS, PARAMS, EstimateOptions(engine="vllm", context=4096))
    e2 = estimate_memory(LLAMA, WEIGHTS, PARAMS, EstimateOptions(engine="vllm", context=4096, tp=2))
    assert e2.weights_bytes == WEIGHTS // 2 and e2.kv_bytes_per_token == 65_536
    assert e2.overhead_bytes - e1.overhead_bytes == int(0.55 * GIB) - int(0.13 * GIB)  # non-torch TP≥2 vs TP1


def test_llamacpp_gpu_layers_moves_weights_and_kv_to_host() -> None:
    full = estimate_memory(LLAMA, WEIGHTS, PARAMS, EstimateOptions(engine="llama.cpp", context=8192))
    half = estimate_memory(LLAMA, WEIGHTS, PARAMS, EstimateOptions(engine="llama.cpp", context=8192, gpu_layers=16))
    assert full.host_bytes == 128256 * 4096 * 2  # token embeddings stay on the host
    assert half.kv_cache_bytes == GIB // 2
    assert half.weights_bytes + half.host_bytes + half.kv_cache_bytes == WEIGHTS + GIB


def test_transformers_mla_eager_is_much_larger() -> None:
    ds = arch_facts(json.loads((CONFIGS / "deepseek-ai__DeepSeek-V3.json").read_text()))
    p = estimate_params_from_config(ds)
    hf = estimate_memory(ds, p, p, EstimateOptions(engine="transformers", context=32768))
    vllm = estimate_memory(ds, p, p, EstimateOptions(engine="vllm", context=32768))
    assert hf.kv_bytes_per_token == 4_997_120 and vllm.kv_bytes_per_token == 70_272


def test_bad_engine_rejected() -> None:
    with pytest.raises(ScanError):
        estimate_memory(LLAMA, WEIGHTS, PARAMS, EstimateOptions(engine="tgi"))  # type: ignore[arg-type]


def test_quick_rule_nvidia_example() -> None:
    assert quick_rule_bytes(7_000_000_000, "fp16") == 28_000_000_000
    assert weights_at(8_000_000_000, "int4") == 4_000_000_000


def _gguf_writer():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_gguf_fixtures", Path(__file__).parents[1] / "scripts" /
                                                  "make_gguf_fixtures.py")  # fmt: skip
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


# DeepSeek-V2-Lite (deepseek-ai/DeepSeek-V2-Lite config.json): 27 layers, hidden 2048, 16 heads, kv_lora_rank 512,
# qk_nope 128, qk_rope 64, v_head 128. Tensor names are llama.cpp's (gguf-py/gguf/constants.py, MODEL_ARCH.DEEPSEEK2):
# files converted before ggml-org/llama.cpp#12801 carry `attn_kv_b`; later ones split it into `attn_k_b`/`attn_v_b`
# and write `key_length_mla`/`value_length_mla`, with key_length/value_length = the latent (576/512), 1 KV head.
V2_LITE_KVS = [("general.architecture", "STRING", "deepseek2"), ("deepseek2.block_count", "U32", 27),
               ("deepseek2.context_length", "U32", 163840), ("deepseek2.embedding_length", "U32", 2048),
               ("deepseek2.feed_forward_length", "U32", 10944), ("deepseek2.attention.head_count", "U32", 16),
               ("deepseek2.attention.kv_lora_rank", "U32", 512), ("deepseek2.rope.dimension_count", "U32", 64),
               ("deepseek2.expert_count", "U32", 64), ("deepseek2.expert_used_count", "U32", 6),
               ("deepseek2.expert_feed_forward_length", "U32", 1408), ("deepseek2.vocab_size", "U32", 102400)]  # fmt: skip
OLD_KVS = [("deepseek2.attention.head_count_kv", "U32", 16), ("deepseek2.attention.key_length", "U32", 192),
           ("deepseek2.attention.value_length", "U32", 128)]  # fmt: skip
MLA_KVS = [("deepseek2.attention.head_count_kv", "U32", 1), ("deepseek2.attention.key_length", "U32", 576),
           ("deepseek2.attention.value_length", "U32", 512), ("deepseek2.attention.key_length_mla", "U32", 192),
           ("deepseek2.attention.value_length_mla", "U32", 128)]  # fmt: skip


def _v2_lite_tensors(split: bool) -> list[tuple[str, tuple[int, ...], str]]:
    attn = [("attn_k_b", (128, 512, 16)), ("attn_v_b", (512, 128, 16))] if split else [("attn_kv_b", (512, 4096))]
    per_layer = [("attn_q", (2048, 3072)), ("attn_kv_a_mqa", (2048, 576)), ("attn_kv_a_norm", (512,)), *attn,
                 ("attn_output", (2048, 2048))]  # fmt: skip
    return [(f"blk.{i}.{name}.weight", dims, "F16") for i in range(27) for name, dims in per_layer]


@pytest.mark.parametrize(("split", "kvs", "mib"), [(False, OLD_KVS, 1080.0), (True, MLA_KVS, 121.5)])
def test_llamacpp_mla_cache_follows_the_gguf_tensors(split: bool, kvs: list, mib: float) -> None:
    """The header decides: an old DeepSeek-V2 GGUF (attn_kv_b only) runs as MHA — per-head K 192 + V 128 per cell,
    27 × 16 × 320 × 2 B × 4096 cells = 1080 MiB; a split file caches the latent (576 per cell: 121.5 MiB)."""
    from cardscan.parse.gguf import gguf_config, parse_gguf

    header = parse_gguf(_gguf_writer().gguf_bytes(V2_LITE_KVS + kvs, _v2_lite_tensors(split)))
    config = gguf_config(header.metadata, (t.name for t in header.tensors))
    facts = arch_facts(config)
    assert facts.mla_latent_cache is split and (facts.qk_nope_head_dim, facts.v_head_dim) == (128, 128)
    e = estimate_memory(facts, 10**9, 10**9, EstimateOptions(engine="llama.cpp", context=4096, kv_dtype="f16"))
    assert e.kv_cache_bytes == mib * MIB
    assert any("runs as MHA" in n for n in e.notes) is not split
    # the split tensors alone (no *_mla keys) are enough to know the file caches the latent
    names_only = gguf_config(dict(header.metadata), ["blk.0.attn_k_b.weight", "blk.0.attn_v_b.weight"])
    assert names_only["gguf_mla_latent_cache"] is True
    # vLLM and a config.json-only repo never see the GGUF fact: MLA stays the latent there
    assert arch_facts({**config, "gguf_mla_latent_cache": None}).mla_latent_cache is None


@pytest.mark.parametrize(("engine", "bytes_per_param"), [("generic", 4), ("vllm", 2), ("sglang", 2)])
def test_scan_of_an_fp32_config_charges_the_engine_load_dtype(
    tmp_path: Path, engine: str, bytes_per_param: int
) -> None:
    """Through the whole pipeline: a config-only fp32 repo under vLLM/SGLang is charged at 16 bits, with a note."""
    from cardscan.options import ScanOptions
    from cardscan.scanner import scan

    config = {**json.loads((CONFIGS / "meta-llama__Llama-3.1-8B.json").read_text()), "torch_dtype": "float32"}
    (tmp_path / "config.json").write_text(json.dumps(config))
    r = scan(str(tmp_path), ScanOptions(engine=engine, context=4096))
    assert r.memory is not None and r.memory.weights_bytes == PARAMS * bytes_per_param
    assert any("loads the fp32 checkpoint" in n for n in r.memory.notes) is (bytes_per_param == 2)
