"""Emit the tensor lists (name, dtype, shape, nbytes) of real checkpoints, rebuilt from architecture rules.

Writes `tests/fixtures/quant/<name>.json.gz`: {"config": {...}, "tensors": [[name, dtype, shape, nbytes], ...]}.
Shapes follow /shared/spec/quant-formats.md §2–§5 (per format) and the model configs in tests/fixtures/configs/.
Run from the repo root: `python scripts/make_quant_fixtures.py`.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "tests" / "fixtures" / "configs"
OUT = ROOT / "tests" / "fixtures" / "quant"

BITS = {"F32": 32, "F16": 16, "BF16": 16, "I32": 32, "I16": 16, "I64": 64, "I8": 8, "U8": 8, "F8_E4M3": 8}
Row = list  # [name, dtype, shape, nbytes]
Linear = Callable[[str, int, int], Iterator[Row]]


def row(name: str, dtype: str, shape: list[int]) -> Row:
    """One tensor with nbytes = numel · element size (what data_offsets give for a real file)."""
    return [name, dtype, shape, math.prod(shape) * BITS[dtype] // 8]


def dense(dtype: str) -> Linear:
    def emit(name: str, n_in: int, out: int) -> Iterator[Row]:
        yield row(f"{name}.weight", dtype, [out, n_in])

    return emit


def gptq(bits: int, gs: int = 128) -> Linear:
    def emit(name: str, n_in: int, out: int) -> Iterator[Row]:
        groups = math.ceil(n_in / gs)
        yield row(f"{name}.qweight", "I32", [n_in * bits // 32, out])
        yield row(f"{name}.qzeros", "I32", [groups, out * bits // 32])
        yield row(f"{name}.scales", "F16", [groups, out])
        yield row(f"{name}.g_idx", "I32", [n_in])

    return emit


def awq(version: str, gs: int = 128) -> Linear:
    def emit(name: str, n_in: int, out: int) -> Iterator[Row]:
        groups = math.ceil(n_in / gs)
        z = math.ceil(groups / 8)  # m = 1 for gs ≥ 128
        if version == "gemm":
            yield from (
                row(f"{name}.qweight", "I32", [n_in, out // 8]),
                row(f"{name}.qzeros", "I32", [groups, out // 8]),
            )
            yield row(f"{name}.scales", "F16", [groups, out])
        elif version == "gemv":
            yield from (row(f"{name}.qweight", "I32", [out, n_in // 8]), row(f"{name}.qzeros", "I32", [out, z]))
            yield row(f"{name}.scales", "F16", [out, z * 8])
        else:
            yield from (row(f"{name}.qweight", "I16", [out // 4, n_in]), row(f"{name}.qzeros", "F16", [z * 8, out]))
            yield row(f"{name}.scales", "F16", [z * 8, out])

    return emit


def bnb4(storage: str = "U8", double_quant: bool = True, quant_type: str = "nf4") -> Linear:
    def emit(name: str, n_in: int, out: int) -> Iterator[Row]:
        n = n_in * out
        yield row(f"{name}.weight", storage, [(n + 1) // (BITS[storage] // 8 * 2), 1])
        yield row(f"{name}.weight.absmax", "U8" if double_quant else "F32", [math.ceil(n / 64)])
        yield row(f"{name}.weight.quant_map", "F32", [16])
        if double_quant:
            yield row(f"{name}.weight.nested_absmax", "F32", [math.ceil(n / 64 / 256)])
            yield row(f"{name}.weight.nested_quant_map", "F32", [256])
        yield row(f"{name}.weight.quant_state.bitsandbytes__{quant_type}", "U8", [171 if double_quant else 82])

    return emit


def bnb8(name: str, n_in: int, out: int) -> Iterator[Row]:
    yield from (row(f"{name}.weight", "I8", [out, n_in]), row(f"{name}.SCB", "F32", [out]))
    yield row(f"{name}.weight_format", "U8", [])


def ct_w4a16(name: str, n_in: int, out: int) -> Iterator[Row]:
    yield row(f"{name}.weight_packed", "I32", [out, math.ceil(n_in * 4 / 32)])
    yield row(f"{name}.weight_scale", "BF16", [out, math.ceil(n_in / 128)])
    yield row(f"{name}.weight_shape", "I64", [2])
    yield row(f"{name}.weight_g_idx", "I32", [n_in])


def llama(cfg: dict, linear: Linear, base: str = "F16") -> list[Row]:
    """Llama-family tensor list: quantized linears through `linear`, embeddings / norms / lm_head in `base`."""
    h, inter, layers = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    kv = cfg.get("num_key_value_heads", cfg["num_attention_heads"]) * (h // cfg["num_attention_heads"])
    rows = [row("model.embed_tokens.weight", base, [cfg["vocab_size"], h])]
    for i in range(layers):
        p = f"model.layers.{i}"
        shapes = [("self_attn.q_proj", h, h), ("self_attn.k_proj", h, kv), ("self_attn.v_proj", h, kv)]
        shapes += [("self_attn.o_proj", h, h), ("mlp.gate_proj", h, inter), ("mlp.up_proj", h, inter)]
        shapes += [("mlp.down_proj", inter, h)]
        for mod, n_in, out in shapes:
            rows += linear(f"{p}.{mod}", n_in, out)
        rows += [row(f"{p}.input_layernorm.weight", base, [h]), row(f"{p}.post_attention_layernorm.weight", base, [h])]
    rows += [row("model.norm.weight", base, [h]), row("lm_head.weight", base, [cfg["vocab_size"], h])]
    return rows


def gpt_oss(cfg: dict) -> list[Row]:
    """gpt-oss checkpoint: BF16 attention (+bias, sinks), router, embeddings; MXFP4 expert blocks (spec §5)."""
    h, inter, e, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_local_experts"], cfg["vocab_size"]
    heads, kv_heads, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    rows = [row("model.embed_tokens.weight", "BF16", [v, h]), row("lm_head.weight", "BF16", [v, h])]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}"
        rows += [
            row(f"{p}.input_layernorm.weight", "BF16", [h]),
            row(f"{p}.post_attention_layernorm.weight", "BF16", [h]),
        ]
        for mod, out, n_in in (("q_proj", heads * hd, h), ("k_proj", kv_heads * hd, h), ("v_proj", kv_heads * hd, h)):
            rows += [
                row(f"{p}.self_attn.{mod}.weight", "BF16", [out, n_in]),
                row(f"{p}.self_attn.{mod}.bias", "BF16", [out]),
            ]
        rows += [
            row(f"{p}.self_attn.o_proj.weight", "BF16", [h, heads * hd]),
            row(f"{p}.self_attn.o_proj.bias", "BF16", [h]),
        ]
        rows += [row(f"{p}.self_attn.sinks", "BF16", [heads])]
        rows += [row(f"{p}.mlp.router.weight", "BF16", [e, h]), row(f"{p}.mlp.router.bias", "BF16", [e])]
        for mod, out, n_in in (("gate_up_proj", 2 * inter, h), ("down_proj", h, inter)):
            x = f"{p}.mlp.experts.{mod}"
            rows += [row(f"{x}_blocks", "U8", [e, out, n_in // 32, 16]), row(f"{x}_scales", "U8", [e, out, n_in // 32])]
            rows += [row(f"{x}_bias", "BF16", [e, out])]
    rows.append(row("model.norm.weight", "BF16", [h]))
    return rows


def gpt2(cfg: dict) -> list[Row]:
    """GPT-2 (Conv1D weights [in, out]) with the 4-D causal-mask buffer `h.N.attn.bias` in every block."""
    h, ctx = cfg["n_embd"], cfg["n_positions"]
    rows = [row("wte.weight", "F32", [cfg["vocab_size"], h]), row("wpe.weight", "F32", [ctx, h])]
    for i in range(cfg["n_layer"]):
        p = f"h.{i}"
        rows += [row(f"{p}.attn.bias", "F32", [1, 1, ctx, ctx])]
        for mod, n_in, out in (("attn.c_attn", h, 3 * h), ("attn.c_proj", h, h), ("mlp.c_fc", h, 4 * h)):
            rows += [row(f"{p}.{mod}.weight", "F32", [n_in, out]), row(f"{p}.{mod}.bias", "F32", [out])]
        rows += [row(f"{p}.mlp.c_proj.weight", "F32", [4 * h, h]), row(f"{p}.mlp.c_proj.bias", "F32", [h])]
        for ln in ("ln_1", "ln_2"):
            rows += [row(f"{p}.{ln}.weight", "F32", [h]), row(f"{p}.{ln}.bias", "F32", [h])]
    return [*rows, row("ln_f.weight", "F32", [h]), row("ln_f.bias", "F32", [h])]


def config(name: str, **extra) -> dict:
    return {**json.loads((CONFIGS / name).read_text()), **extra}


def fixtures() -> dict[str, tuple[dict, list[Row]]]:
    l2 = config("meta-llama__Llama-2-7b-hf.json")
    l3 = config("meta-llama__Llama-3.1-8B.json")
    oss = config("openai__gpt-oss-20b.json")
    oss120 = {**oss, "num_hidden_layers": 36, "num_local_experts": 128, "layer_types": oss["layer_types"][:2] * 18}
    gq = {"quant_method": "gptq", "group_size": 128, "desc_act": True, "sym": True, "checkpoint_format": "gptq"}
    bnb = {"quant_method": "bitsandbytes", "load_in_4bit": True, "bnb_4bit_quant_type": "nf4"}
    bnb_dq = {**bnb, "bnb_4bit_use_double_quant": True, "bnb_4bit_quant_storage": "uint8"}
    ct = {
        "quant_method": "compressed-tensors",
        "format": "pack-quantized",
        "config_groups": {
            "group_0": {
                "targets": ["Linear"],
                "weights": {
                    "num_bits": 4,
                    "type": "int",
                    "strategy": "group",
                    "group_size": 128,
                    "symmetric": True,
                    "actorder": "group",
                },
            }
        },
        "ignore": ["lm_head"],
    }
    return {
        "llama2_7b_f16": (l2, llama(l2, dense("F16"))),
        "llama2_7b_gptq4": (
            {**l2, "quantization_config": {**gq, "bits": 4}},
            llama(l2, gptq(4)),
        ),
        "llama2_7b_gptq3": ({**l2, "quantization_config": {**gq, "bits": 3}}, llama(l2, gptq(3))),
        "llama2_7b_gptq8": ({**l2, "quantization_config": {**gq, "bits": 8}}, llama(l2, gptq(8))),
        **{
            f"llama2_7b_awq_{v}": (
                {**l2, "quantization_config": {"quant_method": "awq", "bits": 4, "group_size": 128, "version": v}},
                llama(l2, awq(v)),
            )
            for v in ("gemm", "gemv", "gemv_fast")
        },
        "llama2_7b_bnb_nf4_dq": ({**l2, "quantization_config": bnb_dq}, llama(l2, bnb4())),
        "llama2_7b_bnb_nf4_bf16_storage": (
            {**l2, "quantization_config": {**bnb, "bnb_4bit_quant_storage": "bfloat16"}},
            llama(l2, bnb4("BF16", double_quant=False)),
        ),
        "llama2_7b_bnb_int8": (
            {**l2, "quantization_config": {"quant_method": "bitsandbytes", "load_in_8bit": True}},
            llama(l2, bnb8),
        ),
        "llama31_8b_bnb4_unsloth": ({**l3, "quantization_config": bnb_dq}, llama(l3, bnb4(), "BF16")),
        "llama31_8b_ct_w4a16": ({**l3, "quantization_config": ct}, llama(l3, ct_w4a16, "BF16")),
        "gpt_oss_20b": (oss, gpt_oss(oss)),
        "gpt_oss_120b": (oss120, gpt_oss(oss120)),
        "gpt2": (config("openai-community__gpt2.json"), gpt2(config("openai-community__gpt2.json"))),
    }


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (cfg, rows) in fixtures().items():
        data = json.dumps({"config": cfg, "tensors": rows}, separators=(",", ":")).encode()
        (OUT / f"{name}.json.gz").write_bytes(gzip.compress(data, mtime=0))
        print(f"{name}: {len(rows)} tensors")


if __name__ == "__main__":
    main()
