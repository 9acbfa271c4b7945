"""One small layer per quantized format: recognition, logical elements from shape identities, aux bytes (docs/quant-formats.md).

Running example: Llama-2-7B q_proj, in = out = 4096, n = 16,777,216.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardscan.parse.params import count_parameters
from cardscan.parse.quant import recognise
from cardscan.tensors import SAFETENSORS_DTYPES, TensorInfo

N = 4096 * 4096
Q = "model.layers.0.self_attn.q_proj"
NORM = "model.norm.weight"


def t(name: str, dtype: str, shape: tuple[int, ...], nbytes: int | None = None) -> TensorInfo:
    if nbytes is None:
        nbytes = math.prod(shape) * SAFETENSORS_DTYPES[dtype].bits // 8
    return TensorInfo(name, dtype, shape, nbytes)


def with_norm(*tensors: TensorInfo) -> list[TensorInfo]:
    return [*tensors, t(NORM, "BF16", (4096,))]


def test_fp8_block_weight_scale_inv_is_aux():
    ts = with_norm(t(f"{Q}.weight", "F8_E4M3", (4096, 4096)), t(f"{Q}.weight_scale_inv", "F32", (32, 32)))
    config = {"quantization_config": {"quant_method": "fp8", "fmt": "e4m3", "weight_block_size": [128, 128]}}
    pc = count_parameters(ts, config)
    assert pc.total == N + 4096 and pc.by_dtype["fp8"] == N
    q = pc.quantization
    assert (q.method, q.bits, q.format_details["block_size"]) == ("fp8", 8, [128, 128])
    assert q.bits_per_weight == pytest.approx(8 * 16_781_312 / N)


def test_fp8_ue8m0_scales_and_sniffing():
    ts = with_norm(t(f"{Q}.weight", "F8_E4M3", (4096, 4096)), t(f"{Q}.weight_scale_inv", "F8_E8M0", (32, 32)))
    pc = count_parameters(ts)
    assert pc.total == N + 4096 and pc.aux_bytes == 1024
    assert (pc.quantization.method, pc.quantization.source) == ("fp8", "names")


def test_stray_e8m0_tensor_is_aux_even_unquantized():
    pc = count_parameters(with_norm(t("x.scale", "F8_E8M0", (64,))))
    assert pc.total == 4096 and pc.aux_bytes == 64


def test_deepseek_v4_fp4_experts_packed_in_i8():
    ts = [
        t("model.layers.0.mlp.experts.0.w1.weight", "I8", (256, 64)),
        t("model.layers.0.mlp.experts.0.w1.weight_scale_inv", "F32", (2, 1)),
    ]
    pc = count_parameters(ts, {"quantization_config": {"quant_method": "fp8", "expert_dtype": "fp4"}})
    assert pc.total == 256 * 128 and pc.by_dtype == {"fp4": 256 * 128}


def ct_config(bits: int, fmt: str = "pack-quantized", strategy: str = "group") -> dict:
    weights = {"num_bits": bits, "type": "int", "strategy": strategy, "group_size": 128}
    return {
        "quantization_config": {
            "quant_method": "compressed-tensors",
            "format": fmt,
            "config_groups": {"group_0": {"weights": weights, "targets": ["Linear"]}},
        }
    }


@pytest.mark.parametrize(("cols_q", "cols_down"), [(384, 1032), (410, 1101)], ids=["current", "legacy"])
def test_compressed_tensors_3bit_both_packings(cols_q, cols_down):
    down = "model.layers.0.mlp.down_proj"
    ts = [
        t(f"{Q}.weight_packed", "I32", (4096, cols_q)),
        t(f"{Q}.weight_scale", "BF16", (4096, 32)),
        t(f"{Q}.weight_shape", "I64", (2,)),
        t(f"{down}.weight_packed", "I32", (4096, cols_down)),
        t(f"{down}.weight_scale", "BF16", (4096, 86)),
        t(f"{down}.weight_shape", "I64", (2,)),
    ]
    pc = count_parameters(ts, ct_config(3))
    assert pc.total == N + 4096 * 11008
    assert pc.quantization.bits == 3 and pc.by_dtype == {"int3": pc.total}


def test_compressed_tensors_4bit_channel_strategy_uses_cols():
    ts = [t(f"{Q}.weight_packed", "I32", (4096, 512)), t(f"{Q}.weight_scale", "BF16", (4096, 1))]
    assert count_parameters(ts, ct_config(4, strategy="channel")).total == N


def test_compressed_tensors_nvfp4():
    ts = with_norm(
        t(f"{Q}.weight_packed", "U8", (4096, 2048)),
        t(f"{Q}.weight_scale", "F8_E4M3", (4096, 256)),
        t(f"{Q}.weight_global_scale", "F32", (1,)),
        t(f"{Q}.input_global_scale", "F32", (1,)),
    )
    pc = count_parameters(ts, ct_config(4, fmt="nvfp4-pack-quantized"))
    assert pc.by_dtype == {"nvfp4": N, "bf16": 4096}
    assert pc.quantization.bits_per_weight == pytest.approx(4.5, abs=1e-5)


def test_compressed_tensors_int8_dense():
    ts = [t(f"{Q}.weight", "I8", (4096, 4096)), t(f"{Q}.weight_scale", "BF16", (4096, 1))]
    pc = count_parameters(ts, ct_config(8, fmt="int-quantized", strategy="channel"))
    assert pc.by_dtype == {"int8": N} and pc.quantization.layers_quantized == 1


def test_scaled_8bit_without_config_is_flagged_ambiguous():
    ts = [t(f"{Q}.weight", "F8_E4M3", (4096, 4096)), t(f"{Q}.weight_scale", "F32", (4096, 1))]
    pc = count_parameters(ts)
    assert pc.total == N and any("look alike" in n for n in pc.notes)


def modelopt_layer() -> list[TensorInfo]:
    return with_norm(
        t(f"{Q}.weight", "U8", (4096, 2048)),
        t(f"{Q}.weight_scale", "F8_E4M3", (4096, 256)),
        t(f"{Q}.weight_scale_2", "F32", ()),
        t(f"{Q}.input_scale", "F32", ()),
    )


def test_modelopt_nvfp4_from_side_file():
    side = {
        "hf_quant_config.json": {
            "producer": {"name": "modelopt"},
            "quantization": {"quant_algo": "NVFP4", "group_size": 16},
        }
    }
    pc = count_parameters(modelopt_layer(), {}, side_files=side)
    assert pc.by_dtype == {"nvfp4": N, "bf16": 4096}
    q = pc.quantization
    assert (q.method, q.bits, q.group_size, q.source) == ("modelopt", 4, 16, "side_file:hf_quant_config.json")


def test_modelopt_nvfp4_sniffed_by_weight_scale_2():
    pc = count_parameters(modelopt_layer())
    assert pc.total == N + 4096 and pc.quantization.method == "modelopt"


def test_hqq_4bit_and_3bit():
    meta = [t(f"{Q}.nbits", "I32", ()), t(f"{Q}.packing", "U8", (7,)), t(f"{Q}.shape", "I64", (2,))]
    ts = [
        t(f"{Q}.W_q", "U8", (N * 4 // 8 // 64, 64)),
        t(f"{Q}.scale", "F16", (N // 64, 1)),
        t(f"{Q}.zero", "F16", (N // 64, 1)),
        *meta,
    ]
    config = {
        "quantization_config": {
            "quant_method": "hqq",
            "quant_config": {"weight_quant_params": {"nbits": 4, "group_size": 64, "axis": 1}},
        }
    }
    pc = count_parameters(ts, config)
    assert pc.total == N and pc.quantization.bits == 4 and pc.quantization.group_size == 64
    three = [t(f"{Q}.W_q", "I32", (math.ceil(N / 64 / 10), 64)), t(f"{Q}.scale", "F16", (N // 64, 1))]
    assert count_parameters(three).by_dtype == {"int3": N}


def test_eetq_int8():
    ts = [t(f"{Q}.weight", "I8", (4096, 4096)), t(f"{Q}.weight_scales", "F16", (4096,))]
    pc = count_parameters(ts, {"quantization_config": {"quant_method": "eetq", "weights": "int8"}})
    assert pc.total == N and pc.quantization.bits == 8
    assert pc.quantization.bits_per_weight == pytest.approx(8 * 16_785_408 / N)


def test_aqlm_1x16():
    ts = [
        t(f"{Q}.codes", "I16", (4096, 512, 1)),
        t(f"{Q}.codebooks", "F16", (1, 65536, 1, 8)),
        t(f"{Q}.scales", "F16", (4096, 1, 1, 1)),
    ]
    config = {
        "quantization_config": {
            "quant_method": "aqlm",
            "in_group_size": 8,
            "out_group_size": 1,
            "num_codebooks": 1,
            "nbits_per_codebook": 16,
        }
    }
    pc = count_parameters(ts, config)
    assert pc.by_dtype == {"aqlm": N}
    assert pc.quantization.bits == 2
    assert pc.quantization.bits_per_weight == pytest.approx(2.504, abs=1e-3)


def test_quip_sharp_e8p12():
    ts = [
        t(f"{Q}.Qidxs", "I16", (4096, 512)),
        t(f"{Q}.SU", "F16", (4096,)),
        t(f"{Q}.SV", "F16", (4096,)),
        t(f"{Q}.Wscale", "F32", ()),
    ]
    pc = count_parameters(ts, {"quip_params": {"codebook": "E8P12", "codesz": 8}})
    assert pc.by_dtype == {"quip#": N}
    assert (pc.quantization.method, pc.quantization.bits) == ("quip#", 2)
    assert pc.quantization.bits_per_weight == pytest.approx(2.008, abs=1e-3)


def exl2_layer(prefix: str, rows: int) -> list[TensorInfo]:
    return [
        t(f"{prefix}.q_weight", "I32", (rows, 4096)),
        t(f"{prefix}.q_invperm", "I32", (4096,)),
        t(f"{prefix}.q_scale", "I32", (32, 512)),
        t(f"{prefix}.q_scale_max", "F16", (32,)),
        t(f"{prefix}.q_groups", "I16", (64,)),
    ]


def test_exl2_mixed_bits_from_measurement_json():
    ts = exl2_layer(Q, 512) + exl2_layer("model.layers.0.self_attn.k_proj", 595)
    pc = count_parameters(ts, {}, side_files={"measurement.json": {}})
    assert pc.total == 2 * N and pc.by_dtype == {"exl2": 2 * N}
    q = pc.quantization
    assert (q.method, q.source) == ("exl2", "side_file:measurement.json")
    assert set(q.format_details["bits_by_layer"]) == {"4", str(round(595 * 32 / 4096, 4))}


def test_exl3_trellis():
    ts = [t(f"{Q}.trellis", "I16", (256, 256, 64)), t(f"{Q}.suh", "F16", (4096,)), t(f"{Q}.svh", "F16", (4096,))]
    pc = count_parameters(ts, {"quantization_config": {"quant_method": "exl3", "bits": 4.0, "head_bits": 6}})
    assert pc.total == N and pc.quantization.bits == 4
    assert pc.quantization.bits_per_weight == pytest.approx(4.008, abs=1e-3)


def test_torchao_int4_shape_from_metadata():
    ts = [
        t(f"{Q}._weight_qdata", "U8", (4096, 2048)),
        t(f"{Q}._weight_scale", "BF16", (32, 4096)),
        t(f"{Q}._weight_zero_point", "BF16", (32, 4096)),
    ]
    meta = {
        f"{Q}.weight": json.dumps({"_type": "Int4Tensor", "_data": {"shape": [4096, 4096], "block_size": [1, 128]}})
    }
    config = {
        "quantization_config": {"quant_method": "torchao", "quant_type": {"default": {"_type": "Int4WeightOnlyConfig"}}}
    }
    pc = count_parameters(ts, config, metadata=meta)
    assert pc.by_dtype == {"int4": N} and pc.quantization.method == "torchao"
    assert count_parameters(ts, config).by_dtype == {"int4": N}  # no metadata: the config's type says Int4


def test_mlx_per_module_bits():
    gate = "model.layers.0.mlp.gate"
    ts = with_norm(
        t(f"{Q}.weight", "U32", (4096, 512)),
        t(f"{Q}.scales", "BF16", (4096, 64)),
        t(f"{Q}.biases", "BF16", (4096, 64)),
        t(f"{gate}.weight", "U32", (128, 1024)),
        t(f"{gate}.scales", "BF16", (128, 64)),
        t(f"{gate}.biases", "BF16", (128, 64)),
    )
    config = {"quantization": {"group_size": 64, "bits": 4, gate: {"group_size": 64, "bits": 8}}}
    pc = count_parameters(ts, config)
    assert pc.by_dtype == {"int4": N, "int8": 128 * 4096, "bf16": 4096}
    assert pc.quantization.method == "mlx" and pc.quantization.bits == 4
    assert pc.quantization.bits_per_weight == pytest.approx(
        (8 * (9_437_184 + 128 * 1024 * 4 + 2 * 128 * 64 * 2)) / (N + 128 * 4096)
    )


def test_mlx_recognised_from_header_metadata():
    ts = [
        t(f"{Q}.weight", "U32", (4096, 512)),
        t(f"{Q}.scales", "BF16", (4096, 64)),
        t(f"{Q}.biases", "BF16", (4096, 64)),
    ]
    rec = recognise(ts, {}, {}, {"format": "mlx"})
    assert (rec.method, rec.source) == ("mlx", "header")


def test_bitnet_ternary():
    ts = [t(f"{Q}.weight", "U8", (1024, 4096)), t(f"{Q}.weight_scale", "BF16", (1,))]
    pc = count_parameters(ts, {"quantization_config": {"quant_method": "bitnet"}})
    assert pc.by_dtype == {"ternary": N}


def test_gptq_mixed_bits_per_layer():
    def layer(prefix: str, bits: int) -> list[TensorInfo]:
        return [
            t(f"{prefix}.qweight", "I32", (4096 * bits // 32, 4096)),
            t(f"{prefix}.qzeros", "I32", (32, 4096 * bits // 32)),
            t(f"{prefix}.scales", "F16", (32, 4096)),
            t(f"{prefix}.g_idx", "I32", (4096,)),
        ]

    ts = layer(Q, 4) + layer("model.layers.0.self_attn.k_proj", 8) + layer("model.layers.0.self_attn.v_proj", 4)
    pc = count_parameters(
        ts,
        {
            "quantization_config": {
                "quant_method": "gptq",
                "bits": 4,
                "group_size": 128,
                "dynamic": {"k_proj": {"bits": 8}},
            }
        },
    )
    assert pc.by_dtype == {"int4": 2 * N, "int8": N}
    assert pc.quantization.bits == 4 and pc.quantization.format_details["bits_by_layer"] == {"4": 2 * N, "8": N}


def test_gptq_without_g_idx_uses_qzeros():
    ts = [
        t(f"{Q}.qweight", "I32", (384, 4096)),
        t(f"{Q}.qzeros", "I32", (32, 384)),
        t(f"{Q}.scales", "F16", (32, 4096)),
    ]
    pc = count_parameters(ts)
    assert pc.total == N and pc.quantization.bits == 3 and pc.quantization.method == "gptq"


def test_auto_round_gptq_packing():
    rec = recognise(
        [], {"quantization_config": {"quant_method": "auto-round", "packing_format": "auto_round:gptq", "bits": 4}}
    )
    assert rec.method == "gptq"


def test_unknown_method_counts_stored_elements_with_note():
    pc = count_parameters([t(f"{Q}.weight", "BF16", (8, 8))], {"quantization_config": {"quant_method": "quanto"}})
    assert pc.total == 64 and pc.quantization.method == "quanto"
    assert any("no shape rules" in n for n in pc.notes)


def test_config_contradicted_by_names_notes_it():
    ts = [t(f"{Q}.weight_packed", "U8", (4096, 2048)), t(f"{Q}.weight_scale", "F8_E4M3", (4096, 256))]
    pc = count_parameters(ts, {"quantization_config": {"quant_method": "gptq", "bits": 4}})
    assert pc.total == N and any("look like compressed-tensors" in n for n in pc.notes)


# --- GGUF ---------------------------------------------------------------------------------------------------


def g(name: str, dtype: str, shape: tuple[int, ...], block: int, size: int) -> TensorInfo:
    return TensorInfo(name, dtype, shape, math.prod(shape) // block * size, "model-Q4_K_M.gguf")


def test_gguf_counts_every_tensor_and_keys_by_type():
    ts = [
        g("token_embd.weight", "Q6_K", (4096, 32000), 256, 210),
        g("blk.0.attn_q.weight", "Q4_K", (4096, 4096), 256, 144),
        g("blk.0.ffn_down.weight", "Q6_K", (11008, 4096), 256, 210),
        g("blk.0.attn_norm.weight", "F32", (4096,), 1, 4),
    ]
    pc = count_parameters(ts, None, metadata={"general.file_type": "15", "llama.block_count": "1"})
    assert pc.total == 4096 * 32000 + N + 11008 * 4096 + 4096
    assert pc.by_dtype == {"q6_k": 4096 * 32000 + 11008 * 4096, "q4_k": N, "f32": 4096}
    q = pc.quantization
    assert q.method == "gguf" and q.format_details["file_type"] == "Q4_K_M"
    assert q.bits == pytest.approx(6.5625)  # the dominant type here
    assert q.bits_per_weight == pytest.approx(8 * sum(x.nbytes for x in ts[:3]) / (pc.total - 4096))


def test_gguf_unknown_type_does_not_crash():
    ts = [TensorInfo("blk.0.attn_q.weight", "Q2_0", (4096, 4096), 1000, "m.gguf")]
    pc = count_parameters(ts)
    assert pc.total == N and pc.quantization.format_details["unknown_types"] == ["Q2_0"]


def test_gguf_moe_active_from_metadata():
    ts = [
        g("blk.0.ffn_up_exps.weight", "Q4_K", (4096, 1024, 8), 256, 144),
        g("blk.0.attn_q.weight", "Q4_K", (4096, 4096), 256, 144),
    ]
    pc = count_parameters(ts, metadata={"mixtral.expert_count": "8", "mixtral.expert_used_count": "2"})
    routed = 4096 * 1024 * 8
    assert pc.active == N + routed // 4


# --- DeepSeek-V3 layout with the real config: FP8 blocks, MoE, MTP layer 61 ---------------------------------


def test_deepseek_v3_fp8_moe_and_mtp():
    from pathlib import Path

    config = json.loads((Path(__file__).parent / "fixtures/configs/deepseek-ai__DeepSeek-V3.json").read_text())

    def fp8(name: str, out: int, n_in: int) -> list[TensorInfo]:
        scale = (math.ceil(out / 128), math.ceil(n_in / 128))
        return [t(f"{name}.weight", "F8_E4M3", (out, n_in)), t(f"{name}.weight_scale_inv", "F32", scale)]

    def layer(i: int) -> list[TensorInfo]:
        p = f"model.layers.{i}.mlp"
        ts = [*fp8(f"{p}.shared_experts.down_proj", 7168, 2048), t(f"{p}.gate.weight", "BF16", (256, 7168))]
        ts.append(t(f"{p}.gate.e_score_correction_bias", "F32", (256,)))
        return ts + [x for j in range(256) for x in fp8(f"{p}.experts.{j}.down_proj", 7168, 2048)]

    ts = layer(3) + layer(61) + [t("model.embed_tokens.weight", "BF16", (129280, 7168))]
    pc = count_parameters(ts, config)
    expert, per_layer = 7168 * 2048, 7168 * 2048 + 256 * 7168 + 256 + 256 * 7168 * 2048
    assert (pc.total, pc.mtp) == (129280 * 7168 + per_layer, per_layer)
    assert pc.active == pc.total - 256 * expert + 8 * expert
    assert pc.quantization.method == "fp8" and pc.quantization.layers_quantized == 2 * 257
    assert any("multi-token" in n for n in pc.notes)


@settings(max_examples=60, deadline=None)
@given(
    bits=st.sampled_from([2, 3, 4, 8]),
    n_in=st.integers(1, 64).map(lambda k: k * 128),
    out=st.integers(1, 64).map(lambda k: k * 32),
    g_idx=st.booleans(),
)
def test_gptq_identity_recovers_in_times_out(bits, n_in, out, g_idx):
    groups = n_in // 128
    ts = [
        t(f"{Q}.qweight", "I32", (n_in * bits // 32, out)),
        t(f"{Q}.qzeros", "I32", (groups, out * bits // 32)),
        t(f"{Q}.scales", "F16", (groups, out)),
    ]
    ts += [t(f"{Q}.g_idx", "I32", (n_in,))] if g_idx else []
    pc = count_parameters(ts, {"quantization_config": {"quant_method": "gptq", "bits": bits, "group_size": 128}})
    assert pc.total == n_in * out and pc.quantization.bits == bits
