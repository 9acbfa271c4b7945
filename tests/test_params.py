"""Parameter accounting on whole-checkpoint tensor lists: packed quantized weights, buffers, tied heads, MoE and MTP
layers, with worked numbers (docs/real-quant-fixtures.md, parse/families.py)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from cardscan.parse.params import bits_per_weight, count_parameters
from cardscan.tensors import SAFETENSORS_DTYPES, TensorInfo

FIXTURES = Path(__file__).parent / "fixtures" / "quant"
LLAMA2_7B = 6_738_415_616


def load(name: str) -> tuple[list[TensorInfo], dict]:
    """Tensor list + config written by scripts/make_quant_fixtures.py."""
    data = json.loads(gzip.decompress((FIXTURES / f"{name}.json.gz").read_bytes()))
    return [TensorInfo(n, d, tuple(s), b) for n, d, s, b in data["tensors"]], data["config"]


def count(name: str, **kwargs):
    tensors, config = load(name)
    return count_parameters(tensors, config, **kwargs)


def t(name: str, dtype: str, shape: tuple[int, ...]) -> TensorInfo:
    n = 1
    for d in shape:
        n *= d
    return TensorInfo(name, dtype, shape, n * SAFETENSORS_DTYPES[dtype].bits // 8)


def test_llama2_dense_f16():
    pc = count("llama2_7b_f16")
    assert pc.total == pc.stored_elements == LLAMA2_7B
    assert pc.by_dtype == {"fp16": LLAMA2_7B}
    assert pc.quantization is None and pc.active is None and pc.mtp == 0
    assert pc.embedding == 2 * 32000 * 4096  # untied lm_head counts as embedding params
    assert bits_per_weight(pc) == 16


def test_llama2_gptq_4bit_g128_act_order():
    pc = count("llama2_7b_gptq4")
    assert pc.total == LLAMA2_7B
    assert pc.stored_elements == 1_129_967_616
    assert pc.stored_bytes == 3_893_862_400
    q = pc.quantization
    assert (q.method, q.bits, q.group_size, q.source) == ("gptq", 4, 128, "config")
    assert q.quantized_params == 6_476_005_376 and q.layers_quantized == 224
    assert q.bits_per_weight == pytest.approx(4.162, abs=5e-4)
    assert bits_per_weight(pc) == pytest.approx(4.623, abs=5e-4)
    assert pc.by_dtype == {"int4": 6_476_005_376, "fp16": 262_410_240}
    assert q.format_details["desc_act"] is True


def test_llama2_gptq_3bit_has_no_floor_error():
    pc = count("llama2_7b_gptq3")
    assert pc.total == LLAMA2_7B
    assert (pc.stored_elements, pc.stored_bytes) == (926_011_392, 3_078_037_504)
    assert pc.quantization.bits == 3 and "int3" in pc.by_dtype


def test_llama2_gptq_8bit():
    pc = count("llama2_7b_gptq8")
    assert pc.total == LLAMA2_7B and pc.stored_elements == 1_945_792_512
    assert pc.quantization.bits == 8


@pytest.mark.parametrize("version", ["gemm", "gemv", "gemv_fast"])
def test_llama2_awq_versions(version):
    pc = count(f"llama2_7b_awq_{version}")
    assert pc.total == LLAMA2_7B
    assert pc.quantization.method == "awq" and pc.quantization.bits == 4


def test_llama2_awq_gemm_naive_count():
    pc = count("llama2_7b_awq_gemm")
    assert pc.stored_elements == 1_128_828_928
    assert pc.quantization.bits_per_weight == pytest.approx(4.156, abs=1e-3)


def test_bnb_nf4_double_quant():
    pc = count("llama2_7b_bnb_nf4_dq")
    assert pc.total == LLAMA2_7B
    q = pc.quantization
    assert q.method == "bitsandbytes" and q.bits == 4
    assert q.format_details["quant_type"] == "nf4" and q.format_details["double_quant"] is True
    assert q.bits_per_weight == pytest.approx(4.13, abs=5e-3)
    assert pc.by_dtype["nf4"] == 6_476_005_376
    assert pc.aux_bytes > 0


def test_bnb_bf16_quant_storage_still_exact():
    pc = count("llama2_7b_bnb_nf4_bf16_storage")
    assert pc.total == LLAMA2_7B
    assert pc.quantization.bits_per_weight == pytest.approx(4.5, abs=1e-3)  # no double quant: F32 absmax


def test_bnb_8bit_scb_is_aux():
    pc = count("llama2_7b_bnb_int8")
    assert pc.total == LLAMA2_7B
    assert pc.quantization.bits == 8 and pc.by_dtype["int8"] == 6_476_005_376
    assert pc.quantization.bits_per_weight == pytest.approx(8.0, abs=0.01)


def test_unsloth_llama31_8b_bnb_4bit():
    pc = count("llama31_8b_bnb4_unsloth")
    assert pc.total == 8_030_261_248
    assert pc.by_dtype == {"nf4": 6_979_321_856, "bf16": 1_050_939_392}


def test_compressed_tensors_w4a16_g_idx_is_aux():
    pc = count("llama31_8b_ct_w4a16")
    assert pc.total == 8_030_261_248
    q = pc.quantization
    assert (q.method, q.bits, q.group_size) == ("compressed-tensors", 4, 128)
    assert q.format_details["format"] == "pack-quantized"


def test_gpt_oss_20b_mxfp4():
    pc = count("gpt_oss_20b")
    assert pc.total == 20_914_757_184
    assert pc.by_dtype == {"bf16": 1_804_459_584, "mxfp4": 19_110_297_600}
    q = pc.quantization
    assert (q.method, q.bits) == ("mxfp4", 4)
    assert q.bits_per_weight == pytest.approx(4.25)
    assert pc.aux_bytes == 597_196_800  # the `_scales` tensors
    routed = 19_110_297_600 + 24 * 32 * (2 * 2880 + 2880)  # blocks + per-expert biases
    assert pc.active == 20_914_757_184 - routed + routed * 4 // 32


def test_gpt_oss_120b_mxfp4():
    pc = count("gpt_oss_120b")
    assert pc.total == 116_829_156_672
    assert pc.by_dtype == {"bf16": 2_167_371_072, "mxfp4": 114_661_785_600}
    assert pc.aux_bytes == 3_583_180_800


def test_gpt2_attention_mask_buffers():
    pc = count("gpt2")
    assert pc.total == 124_439_808
    assert pc.stored_elements == 137_022_720
    assert pc.non_parameter_elements == 12_582_912
    assert pc.non_parameter_tensors[0] == "h.0.attn.bias"
    assert pc.embedding == 50257 * 768


def test_config_is_not_the_only_source_of_bits():
    tensors, config = load("llama2_7b_gptq4")
    config["quantization_config"]["bits"] = 8
    pc = count_parameters(tensors, config)
    assert pc.total == LLAMA2_7B and pc.quantization.bits == 4
    assert any("8-bit" in n for n in pc.notes)


def test_gptq_recognised_without_config_by_names():
    tensors, _ = load("llama2_7b_gptq4")
    pc = count_parameters(tensors)
    assert pc.total == LLAMA2_7B
    assert (pc.quantization.method, pc.quantization.source) == ("gptq", "names")


def test_awq_recognised_without_config_by_shapes():
    tensors, _ = load("llama2_7b_awq_gemm")
    pc = count_parameters(tensors)
    assert pc.total == LLAMA2_7B and pc.quantization.method == "awq"


def test_gptq_side_file():
    tensors, config = load("llama2_7b_gptq4")
    config.pop("quantization_config")
    side = {"quantize_config.json": {"bits": 4, "group_size": 128, "desc_act": True}}
    pc = count_parameters(tensors, config, side_files=side)
    assert pc.total == LLAMA2_7B
    assert pc.quantization.source == "side_file:quantize_config.json"


# --- tied embeddings, buffers, MoE, MTP ---------------------------------------------------------------------


def tiny_llama(vocab=100, h=8, head=True) -> list[TensorInfo]:
    ts = [t("model.embed_tokens.weight", "BF16", (vocab, h)), t("model.norm.weight", "BF16", (h,))]
    ts.append(t("model.layers.0.self_attn.q_proj.weight", "BF16", (h, h)))
    return [*ts, t("lm_head.weight", "BF16", (vocab, h))] if head else ts


def test_tied_lm_head_counted_once():
    pc = count_parameters(tiny_llama(), {"tie_word_embeddings": True})
    assert pc.total == 100 * 8 + 8 + 64
    assert pc.embedding == 800
    assert any("tied" in n for n in pc.notes)
    assert pc.stored_elements == 2 * 800 + 8 + 64


def test_untied_lm_head_counted_twice():
    pc = count_parameters(tiny_llama(), {"tie_word_embeddings": False})
    assert pc.total == 2 * 800 + 72 and pc.embedding == 1600


def test_tie_default_by_model_type():
    assert count_parameters(tiny_llama(), {"model_type": "gemma"}).total == 872


@pytest.mark.parametrize(("model_type", "total"), [("falcon", 872), ("bloom", 872), ("gptj", 1672), ("llama", 1672)])
def test_tie_default_from_the_family_table(model_type: str, total: int):
    """No tie_word_embeddings key: the family's transformers default decides (parse/families.py)."""
    assert count_parameters(tiny_llama(), {"model_type": model_type}).total == total


def test_tie_unknown_family_counts_both_and_says_so():
    pc = count_parameters(tiny_llama(), {"model_type": "never-heard-of-it"})
    assert pc.total == 1672 and any("tying is unknown" in n for n in pc.notes)


def test_tie_default_of_multimodal_text_model():
    assert (
        count_parameters(tiny_llama(), {"model_type": "gemma3", "text_config": {"model_type": "gemma3_text"}}).total
        == 872
    )


def test_common_buffers_excluded():
    extra = [
        t("model.layers.0.self_attn.rotary_emb.inv_freq", "F32", (4,)),
        t("embeddings.position_ids", "I64", (1, 512)),
        t("bn.num_batches_tracked", "I64", ()),
    ]
    pc = count_parameters(tiny_llama(head=False) + extra)
    assert pc.total == 872 and pc.non_parameter_elements == 4 + 512 + 1
    assert len(pc.non_parameter_tensors) == 3


def moe_layer(prefix: str, experts: int, h=8, inter=4, shared=False) -> list[TensorInfo]:
    ts = [t(f"{prefix}.mlp.gate.weight", "BF16", (experts, h))]
    for j in range(experts):
        for w in ("gate_proj", "up_proj"):
            ts.append(t(f"{prefix}.mlp.experts.{j}.{w}.weight", "BF16", (inter, h)))
        ts.append(t(f"{prefix}.mlp.experts.{j}.down_proj.weight", "BF16", (h, inter)))
    if shared:
        ts += [t(f"{prefix}.mlp.shared_experts.down_proj.weight", "BF16", (h, inter))]
    return ts


def test_moe_active_separate_experts():
    ts = tiny_llama(head=False) + moe_layer("model.layers.0", 8, shared=True)
    pc = count_parameters(ts, {"num_local_experts": 8, "num_experts_per_tok": 2})
    routed = 8 * 3 * 32
    assert pc.total == 872 + 64 + routed + 32
    assert pc.active == pc.total - routed + routed * 2 // 8  # shared expert and router count fully


def test_moe_active_fused_experts_and_text_config():
    ts = [*tiny_llama(head=False), t("model.layers.0.mlp.experts.gate_up_proj", "BF16", (4, 8, 16))]
    pc = count_parameters(ts, {"text_config": {"num_experts": 4, "num_experts_per_tok": 1}})
    assert pc.active == 872 + 512 // 4


def test_moe_without_expert_config_notes_it():
    pc = count_parameters(tiny_llama(head=False) + moe_layer("model.layers.0", 2))
    assert pc.active is None and any("active" in n for n in pc.notes)


def test_dense_model_has_no_active():
    assert count_parameters(tiny_llama()).active is None


def test_deepseek_mtp_layer_reported_apart():
    base = tiny_llama(head=False)
    mtp = [t("model.layers.1.eh_proj.weight", "BF16", (8, 16)), t("model.layers.1.enorm.weight", "BF16", (8,))]
    config = {"num_hidden_layers": 1, "num_nextn_predict_layers": 1}
    pc = count_parameters(base + mtp, config)
    assert (pc.total, pc.mtp) == (872, 136)
    assert pc.stored_elements == 872 + 136
    assert "bf16" in pc.by_dtype and pc.by_dtype["bf16"] == 872


def test_layers_beyond_count_without_nextn_are_not_mtp():
    ts = [*tiny_llama(head=False), t("model.layers.1.q_proj.weight", "BF16", (8, 8))]
    assert count_parameters(ts, {"num_hidden_layers": 1}).mtp == 0


@pytest.mark.parametrize("name", ["mtp.layers.0.fc.weight", "model.mtp_layers.0.fc.weight"])
def test_named_mtp_modules(name):
    pc = count_parameters([*tiny_llama(head=False), t(name, "BF16", (8, 8))])
    assert (pc.total, pc.mtp) == (872, 64)


def test_f4_header_shape_is_logical():
    pc = count_parameters([t("w.weight", "F4", (16, 16))])
    assert pc.total == 256 and pc.by_dtype == {"fp4": 256} and pc.stored_bytes == 128


def test_empty_tensor_list():
    pc = count_parameters([])
    assert pc.total == 0 and bits_per_weight(pc) is None and pc.quantization is None
