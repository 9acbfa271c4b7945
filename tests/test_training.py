"""Training memory estimator: reference numbers from memory-model.md §9-§10, regimes, ZeRO, activations."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cardscan.estimate.training import (
    LLAMA_LORA_TARGETS,
    OPTIMIZERS,
    QLORA_BITS_PER_PARAM,
    ModelDims,
    TrainOptions,
    activations_bytes,
    default_linear_shapes,
    estimate_training,
    layer_activation_bytes,
    logits_bytes,
    lora_trainable_params,
    qlora_base_bytes,
)

CONFIGS = Path(__file__).parent / "fixtures" / "configs"
LLAMA2_7B_PARAMS = 6_738_415_616  # HF model card / sum of safetensors shapes
LLAMA31_8B_PARAMS = 8_030_261_248
QWEN3_30B_A3B_PARAMS = 30_532_122_624


def _non_linear_params(cfg: dict, dims: ModelDims) -> int:
    """Embeddings, lm_head, RMSNorms (+ Qwen3 q/k norms): what the Linear list leaves out."""
    embed = dims.vocab * dims.hidden * (1 if dims.tied_embeddings else 2)
    qk_norm = 2 * dims.head_dim if cfg["model_type"].startswith("qwen3") else 0
    return embed + dims.layers * (2 * dims.hidden + qk_norm) + dims.hidden


def dims_from_config(name: str) -> ModelDims:
    """Test-side mapping of a raw config.json to ModelDims; params = Linears + embeddings + norms."""
    cfg = json.loads((CONFIGS / f"{name}.json").read_text())
    heads = cfg["num_attention_heads"]
    dims = ModelDims(
        layers=cfg["num_hidden_layers"],
        hidden=cfg["hidden_size"],
        heads=heads,
        kv_heads=cfg.get("num_key_value_heads", heads),
        head_dim=cfg.get("head_dim") or cfg["hidden_size"] // heads,
        intermediate=cfg["intermediate_size"],
        vocab=cfg["vocab_size"],
        params=0,
        experts=cfg.get("num_experts", 0),
        experts_per_token=cfg.get("num_experts_per_tok", 0),
        moe_intermediate=cfg.get("moe_intermediate_size", 0),
        tied_embeddings=cfg.get("tie_word_embeddings", False),
    )
    linear = sum(i * o * n for _, i, o, n in default_linear_shapes(dims))
    return dataclasses.replace(dims, params=linear + _non_linear_params(cfg, dims))


@pytest.fixture(scope="module")
def llama2() -> ModelDims:
    return dims_from_config("meta-llama__Llama-2-7b-hf")


@pytest.fixture(scope="module")
def llama3() -> ModelDims:
    return dims_from_config("meta-llama__Llama-3.1-8B")


@pytest.fixture(scope="module")
def qwen_moe() -> ModelDims:
    return dims_from_config("Qwen__Qwen3-30B-A3B")


def test_default_linears_reproduce_published_param_counts(llama2, llama3, qwen_moe):
    assert llama2.params == LLAMA2_7B_PARAMS
    assert llama3.params == LLAMA31_8B_PARAMS
    assert qwen_moe.params == QWEN3_30B_A3B_PARAMS


# --- reference numbers (docs/training.md) ---------------------------------------------------------------------------


def test_classic_activations_3_25_gb_per_layer():
    # s·b·h·(34 + 5·a·s/h) = 4096·1·4096·(34 + 5·32·4096/4096) = 16,777,216 · (34 + 160) = 16,777,216 · 194
    dims = ModelDims(layers=1, hidden=4096, heads=32, kv_heads=32, head_dim=128, intermediate=16384, vocab=1, params=1)
    got = layer_activation_bytes(dims, seq_len=4096, micro_batch=1, flash_attention=False)
    assert got == 16_777_216 * 194 == 3_254_779_904
    assert round(got / 1e9, 2) == 3.25


def test_modern_block_llama3_8b_537_mb_per_layer(llama3):
    # 2sb(5h + 2·kv·d) = 8192·(20480 + 2048) = 184,549,376; 6sbi = 6·4096·14336 = 352,321,536; 4sba = 524,288
    got = layer_activation_bytes(llama3, seq_len=4096, micro_batch=1, flash_attention=True)
    assert got == 184_549_376 + 352_321_536 + 524_288 == 537_395_200
    no_ckpt = TrainOptions(mode="full", seq_len=4096, gradient_checkpointing=False)
    assert round(activations_bytes(llama3, no_ckpt) / 1e9, 1) == 17.2


def test_qlora_nf4_double_quant_is_4_127_bits():
    # 4 bits + 8-bit absmax per 64 + fp32 constant per 64·256 elements
    assert QLORA_BITS_PER_PARAM == 4 + 8 / 64 + 32 / (64 * 256) == 4.126953125
    assert round(QLORA_BITS_PER_PARAM, 3) == 4.127
    assert round(QLORA_BITS_PER_PARAM / 8, 3) == 0.516


def test_lora_params_llama2_7b_r16_all_linears(llama2):
    # per layer: r·(4096+4096)·4 (q,k,v,o) + r·(4096+11008)·2 (gate, up) + r·(11008+4096) (down)
    per_layer = 16 * 8192 * 4 + 16 * 15104 * 2 + 16 * 15104
    assert per_layer == 1_249_280
    assert lora_trainable_params(llama2, 16, LLAMA_LORA_TARGETS) == 32 * per_layer == 39_976_960


def test_lora_params_attention_only_and_rank_scaling(llama2):
    qv = lora_trainable_params(llama2, 8, ("q_proj", "v_proj"))
    assert qv == 32 * 2 * 8 * (4096 + 4096) == 4_194_304  # PEFT's classic q,v r=8: 4.19 M trainable
    assert lora_trainable_params(llama2, 64, ("q_proj", "v_proj")) == 8 * qv


# --- regimes ------------------------------------------------------------------------------------------------------


def test_full_finetune_7b_is_16_bytes_per_param_plus_activations(llama2):
    opts = TrainOptions(mode="full", seq_len=2048)
    est = estimate_training(llama2, opts)
    states = est.weights_bytes + est.gradients_bytes + est.master_weights_bytes + est.optimizer_bytes
    assert states == 16 * LLAMA2_7B_PARAMS
    assert (est.weights_bytes, est.gradients_bytes) == (2 * LLAMA2_7B_PARAMS, 2 * LLAMA2_7B_PARAMS)
    assert (est.master_weights_bytes, est.optimizer_bytes) == (4 * LLAMA2_7B_PARAMS, 8 * LLAMA2_7B_PARAMS)
    assert est.per_param_bytes == 16.0
    assert est.trainable_params == LLAMA2_7B_PARAMS
    assert est.activations_bytes == activations_bytes(llama2, opts)
    assert est.logits_bytes == 2048 * 32000 * 10
    assert est.total_bytes == states + est.activations_bytes + est.logits_bytes


@pytest.mark.parametrize(
    ("name", "total", "grads", "states"),
    [
        ("adamw", 16, 2, 8),
        ("adamw_fp32_grads", 18, 4, 8),
        ("adamw_8bit", 10, 2, 2),
        ("sgd", 12, 2, 4),
        ("lion", 12, 2, 4),
    ],
)
def test_optimizer_table(name, total, grads, states, llama2):
    row = OPTIMIZERS[name]
    assert (row.total, row.grads, row.states, row.weights, row.master) == (total, grads, states, 2, 4)
    assert row.source
    est = estimate_training(llama2, TrainOptions(mode="full", optimizer=name))
    assert est.per_param_bytes == total


def test_lora_frozen_base_plus_16_bytes_per_adapter_param(llama2):
    est = estimate_training(llama2, TrainOptions(mode="lora"))
    p = 39_976_960
    assert est.trainable_params == p
    assert est.weights_bytes == 2 * LLAMA2_7B_PARAMS + 2 * p
    assert est.gradients_bytes + est.master_weights_bytes + est.optimizer_bytes == 14 * p


def test_lora_uses_header_bytes_and_weight_bytes_option(llama2):
    header = 13_476_839_424  # e.g. Σ safetensors tensor bytes, slightly above 2·P
    p = 39_976_960
    assert estimate_training(llama2, TrainOptions(), base_weight_bytes=header).weights_bytes == header + 2 * p
    fp32 = estimate_training(llama2, TrainOptions(weight_bytes_per_param=4.0))
    assert fp32.weights_bytes == 4 * LLAMA2_7B_PARAMS + 2 * p


def test_qlora_base_quantizes_linears_keeps_embeddings_bf16(llama2):
    linear = LLAMA2_7B_PARAMS - 262_410_240  # embed + lm_head (2·32000·4096) + 65 RMSNorms of 4096
    expected = linear * 4.126953125 / 8 + 262_410_240 * 2
    assert qlora_base_bytes(llama2) == pytest.approx(expected, abs=1)
    est = estimate_training(llama2, TrainOptions(mode="qlora"), base_weight_bytes=10**12)  # header bytes ignored
    assert est.weights_bytes == qlora_base_bytes(llama2) + 2 * 39_976_960
    assert 3.9e9 < est.weights_bytes < 4.1e9


def test_frozen_base_still_stores_activations(llama2):
    full = estimate_training(llama2, TrainOptions(mode="full"))
    lora = estimate_training(llama2, TrainOptions(mode="lora"))
    qlora = estimate_training(llama2, TrainOptions(mode="qlora"))
    assert full.activations_bytes == lora.activations_bytes == qlora.activations_bytes > 0
    assert full.total_bytes > lora.total_bytes > qlora.total_bytes


# --- ZeRO -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "per_param"),
    [(0, 16), (1, 2 + 2 + 12 / 8), (2, 2 + 14 / 8), (3, 16 / 8)],
)
def test_zero_stages_per_gpu(stage, per_param, llama2):
    est = estimate_training(llama2, TrainOptions(mode="full", zero_stage=stage, num_gpus=8))
    states = est.weights_bytes + est.gradients_bytes + est.master_weights_bytes + est.optimizer_bytes
    assert states == pytest.approx(per_param * LLAMA2_7B_PARAMS, abs=4)
    assert est.per_param_bytes == pytest.approx(per_param, rel=1e-9)


def test_zero_does_not_split_activations(llama2):
    one = estimate_training(llama2, TrainOptions(mode="full"))
    eight = estimate_training(llama2, TrainOptions(mode="full", zero_stage=3, num_gpus=8))
    assert one.activations_bytes == eight.activations_bytes
    assert one.logits_bytes == eight.logits_bytes


def test_zero3_shards_frozen_lora_base_only_at_stage_3(llama2):
    s2 = estimate_training(llama2, TrainOptions(mode="lora", zero_stage=2, num_gpus=4))
    s3 = estimate_training(llama2, TrainOptions(mode="lora", zero_stage=3, num_gpus=4))
    assert s2.weights_bytes == 2 * LLAMA2_7B_PARAMS + 2 * 39_976_960
    assert s3.weights_bytes == (2 * LLAMA2_7B_PARAMS + 2 * 39_976_960) // 4


# --- activations ----------------------------------------------------------------------------------------------------


def test_checkpointing_keeps_layer_inputs_plus_one_layer(llama3):
    opts = TrainOptions(seq_len=4096, gradient_checkpointing=True)
    assert activations_bytes(llama3, opts) == 32 * 2 * 4096 * 4096 + 537_395_200


def test_logits_and_cross_entropy(llama3):
    assert logits_bytes(llama3, TrainOptions(seq_len=8192, micro_batch=2)) == 2 * 8192 * 128_256 * (2 + 4 + 4)


def test_moe_activation_uses_k_experts_router_and_dispatch(qwen_moe):
    s, h, kv, d, a, k, ie, e = 1024, 2048, 4, 128, 32, 8, 768, 128
    expected = 2 * s * (5 * h + 2 * kv * d) + 6 * s * k * ie + 4 * s * a + 4 * s * e + 4 * s * k * h
    assert layer_activation_bytes(qwen_moe, s, 1, flash_attention=True) == expected


def test_non_gated_mlp_has_two_matrices():
    dims = ModelDims(2, 64, 4, 4, 16, 256, 100, 10**6, gated_mlp=False)
    names = [n for n, *_ in default_linear_shapes(dims)]
    assert names == ["q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj"]
    assert layer_activation_bytes(dims, 8, 1, True) == 8 * (10 * 64 + 4 * 4 * 16 + 4 * 256 + 4 * 4)


# --- MoE LoRA, explicit shapes ------------------------------------------------------------------------------------


def test_moe_lora_targets_experts_by_suffix(qwen_moe):
    attn = 48 * 16 * ((2048 + 4096) * 2 + (2048 + 512) * 2)
    experts = 48 * 128 * 16 * ((2048 + 768) * 3)
    assert lora_trainable_params(qwen_moe, 16, ("q_proj", "k_proj", "v_proj", "o_proj")) == attn
    assert lora_trainable_params(qwen_moe, 16, LLAMA_LORA_TARGETS) == attn + experts
    assert lora_trainable_params(qwen_moe, 16, ("gate",)) == 48 * 16 * (2048 + 128)  # router only, not gate_proj


def test_explicit_linear_shapes_override_default():
    dims = ModelDims(1, 8, 1, 1, 8, 16, 10, 1000, linear_shapes=(("c_attn", 8, 24, 2), ("lm_head", 8, 10, 1)))
    assert lora_trainable_params(dims, 4, ("c_attn",)) == 4 * 32 * 2
    assert lora_trainable_params(dims, 4, LLAMA_LORA_TARGETS) == 0


def test_moe_notes_and_all_experts_resident(qwen_moe):
    est = estimate_training(qwen_moe, TrainOptions(mode="qlora"))
    assert any("128 experts resident" in n for n in est.notes)
    assert est.weights_bytes > 0.5 * qwen_moe.params * 4.126953125 / 8


# --- options ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"mode": "prefix"},
        {"optimizer": "adafactor"},
        {"zero_stage": 4},
        {"num_gpus": 0},
        {"lora_rank": 0},
        {"seq_len": 0},
        {"micro_batch": 0},
        {"weight_bytes_per_param": 0},
    ],
)
def test_bad_options_rejected(bad):
    with pytest.raises(ValueError, match="invalid training options"):
        TrainOptions(**bad)


def test_results_are_frozen(llama2):
    est = estimate_training(llama2, TrainOptions())
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.total_bytes = 0  # type: ignore[misc]
    assert any("excludes CUDA context" in n for n in est.notes)


@given(
    s=st.integers(1, 32_768),
    b=st.integers(1, 16),
    ckpt=st.booleans(),
    fa=st.booleans(),
    mode=st.sampled_from(["full", "lora", "qlora"]),
)
def test_total_is_sum_and_grows_with_tokens(s, b, ckpt, fa, mode):
    dims = ModelDims(4, 256, 8, 2, 32, 688, 1000, 4_000_000)
    opts = TrainOptions(mode=mode, seq_len=s, micro_batch=b, gradient_checkpointing=ckpt, flash_attention=fa)
    est = estimate_training(dims, opts)
    parts = (est.weights_bytes, est.gradients_bytes, est.master_weights_bytes, est.optimizer_bytes)
    assert est.total_bytes == sum(parts) + est.activations_bytes + est.logits_bytes
    bigger = estimate_training(dims, dataclasses.replace(opts, seq_len=s + 1))
    assert bigger.total_bytes > est.total_bytes


@given(stage=st.sampled_from([0, 1, 2]), n=st.integers(1, 64))
def test_higher_zero_stage_never_uses_more(stage, n):
    dims = ModelDims(4, 256, 8, 2, 32, 688, 1000, 4_000_000)
    lo = estimate_training(dims, TrainOptions(mode="full", zero_stage=stage, num_gpus=n))
    hi = estimate_training(dims, TrainOptions(mode="full", zero_stage=stage + 1, num_gpus=n))
    assert hi.total_bytes <= lo.total_bytes


def test_dense_first_layers_of_a_moe_model(qwen_moe):
    dims = dataclasses.replace(qwen_moe, dense_layers=3)
    shapes = {name: count for name, _, _, count in default_linear_shapes(dims)}
    assert (shapes["gate_proj"], shapes["experts.gate_proj"], shapes["gate"], shapes["q_proj"]) == (3, 45 * 128, 45, 48)
    dense = layer_activation_bytes(dims, 512, 1, True, moe=False)
    moe = layer_activation_bytes(dims, 512, 1, True, moe=True)
    assert dense == 512 * (10 * 2048 + 4 * 4 * 128 + 6 * 6144 + 4 * 32)
    no_ckpt = TrainOptions(seq_len=512, gradient_checkpointing=False)
    assert activations_bytes(dims, no_ckpt) == 3 * dense + 45 * moe
    ckpt = TrainOptions(seq_len=512)
    assert activations_bytes(dims, ckpt) == 48 * 2 * 512 * 2048 + max(dense, moe)
