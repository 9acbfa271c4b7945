"""Record real quantized checkpoints, made by the quantization libraries themselves, as header-only fixtures.

Builds a tiny Llama (hidden 256, intermediate 688 — not a multiple of 128, so down_proj has a ragged last group —
4 layers, 4 heads, 2 KV heads, vocab 1000, untied lm_head) with random BF16 weights, quantizes it with
bitsandbytes (via transformers `BitsAndBytesConfig`), compressed-tensors (its own quantization lifecycle and
`ModelCompressor`) and hqq (via transformers `HqqConfig`), saves each with `save_pretrained`, and keeps only:

    tests/fixtures/real_quant/<name>/model.safetensors.header   the file's first 8 + N bytes (data section dropped)
    tests/fixtures/real_quant/<name>/config.json                as saved, with its `quantization_config`
    tests/fixtures/real_quant/<name>/quant_states.json          bitsandbytes 4-bit only: the quant_state JSON values
    tests/fixtures/real_quant/manifest.json                     params before quantizing, file size, versions

NOT run in CI: it needs torch==2.13.0 (CPU), transformers>=5,<6, bitsandbytes, compressed-tensors and hqq, e.g.

    python -m venv --system-site-packages /tmp/qenv
    /tmp/qenv/bin/pip install torch==2.13.0 "transformers>=5,<6" bitsandbytes compressed-tensors hqq
    /tmp/qenv/bin/python scripts/make_real_quant_fixtures.py

A recipe whose library fails on this machine is recorded under `failed` in the manifest with its error, never faked.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import shutil
import struct
import sys
import tempfile
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "real_quant"
LIBRARIES = ("torch", "transformers", "bitsandbytes", "compressed-tensors", "hqq", "accelerate", "safetensors")

TINY = dict(
    hidden_size=256,
    intermediate_size=688,
    num_hidden_layers=4,
    num_attention_heads=4,
    num_key_value_heads=2,
    vocab_size=1000,
    max_position_embeddings=512,
    tie_word_embeddings=False,
)


def versions() -> dict[str, str]:
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def save_base(path: Path, overrides: dict[str, Any]) -> int:
    """Save the random tiny model and return its logical parameter count (tied weights once)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**{**TINY, **overrides})).to(torch.bfloat16)
    model.save_pretrained(path)
    return sum(p.numel() for p in model.parameters())  # parameters() yields a shared tensor once


def load(base: Path, **kwargs):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(base, device_map="cpu", dtype=torch.bfloat16, **kwargs)


# --- bitsandbytes ---------------------------------------------------------------------------------------------


def bnb(**options) -> Callable[[Path, Path], None]:
    def make(base: Path, out: Path) -> None:
        from transformers import BitsAndBytesConfig

        load(base, quantization_config=BitsAndBytesConfig(**options)).save_pretrained(out)

    return make


# --- hqq ------------------------------------------------------------------------------------------------------


def hqq(nbits: int, group_size: int, axis: int = 1) -> Callable[[Path, Path], None]:
    """hqq itself: transformers 5.24 cannot quantize on load with `HqqConfig` (NotImplementedError), so the model is
    quantized by `AutoHQQHFModel.quantize_model` and written by hqq's own `save_to_safetensors`."""

    def make(base: Path, out: Path) -> None:
        from hqq.core.quantize import BaseQuantizeConfig
        from hqq.models.hf.base import AutoHQQHFModel

        model = load(base)
        config = BaseQuantizeConfig(nbits=nbits, group_size=group_size, axis=axis)
        AutoHQQHFModel.quantize_model(model, quant_config=config, compute_dtype=torch.bfloat16, device="cpu")
        AutoHQQHFModel.save_to_safetensors(model, str(out))

    return make


def hqq_transformers_block(nbits: int, group_size: int, axis: int = 1) -> dict:
    """The `quantization_config` transformers writes for an HQQ model (`HqqConfig.to_dict()`); hqq writes none."""
    from transformers import HqqConfig

    return HqqConfig(nbits=nbits, group_size=group_size, axis=axis).to_dict()


# --- compressed-tensors ---------------------------------------------------------------------------------------


def _observe(weight: torch.Tensor, args) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-scale min/max of a weight, shaped like the scale compressed-tensors initialised (the observer's job,
    which lives in llmcompressor); a ragged last group is padded with zeros, which qparams include anyway."""
    from compressed_tensors.quantization import QuantizationStrategy as S

    w = weight.float()
    if args.strategy == S.TENSOR:
        lo, hi = torch.aminmax(w)
        return lo.reshape(1), hi.reshape(1)
    if args.strategy == S.CHANNEL:
        return w.amin(dim=-1, keepdim=True), w.amax(dim=-1, keepdim=True)
    if args.strategy in (S.GROUP, S.TENSOR_GROUP):
        gs = args.group_size
        groups = math.ceil(w.shape[-1] / gs)
        padded = torch.nn.functional.pad(w, (0, groups * gs - w.shape[-1])).unflatten(-1, (groups, gs))
        return padded.amin(dim=-1), padded.amax(dim=-1)
    if args.strategy == S.BLOCK:
        br, bc = args.block_structure
        rows, cols = math.ceil(w.shape[0] / br), math.ceil(w.shape[1] / bc)
        padded = torch.nn.functional.pad(w, (0, cols * bc - w.shape[1], 0, rows * br - w.shape[0]))
        blocks = padded.reshape(rows, br, cols, bc).transpose(1, 2)
        return blocks.amin(dim=(-1, -2)), blocks.amax(dim=(-1, -2))
    raise ValueError(f"no observer for strategy {args.strategy}")


def _calibrate_weights(model) -> None:
    """Fill each quantized Linear's weight qparams with compressed-tensors' own `calculate_qparams`."""
    from compressed_tensors.quantization import QuantizationStrategy
    from compressed_tensors.quantization.utils import calculate_qparams, generate_gparam

    for module in model.modules():
        scheme = getattr(module, "quantization_scheme", None)
        if scheme is None or scheme.weights is None:
            continue
        args = scheme.weights
        lo, hi = _observe(module.weight.data, args)
        global_scale = None
        if args.strategy == QuantizationStrategy.TENSOR_GROUP:
            global_scale = generate_gparam(lo.min(), hi.max())
            module.weight_global_scale.data.copy_(global_scale)
        scale, zero = calculate_qparams(lo, hi, args, global_scale=global_scale)
        module.weight_scale.data = scale.to(module.weight_scale.dtype).reshape(module.weight_scale.shape)
        if hasattr(module, "weight_zero_point"):
            zp = zero.to(module.weight_zero_point.dtype).reshape(module.weight_zero_point.shape)
            module.weight_zero_point.data = zp


def _observe_inputs(model) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Input min/max of every Linear over one forward pass of random tokens (before quantization hooks exist)."""
    seen: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):

            def hook(mod, args, name=name):
                seen[name] = torch.aminmax(args[0].float())

            hooks.append(module.register_forward_pre_hook(hook))
    torch.manual_seed(1)
    with torch.no_grad():
        model(torch.randint(0, model.config.vocab_size, (2, 32)))
    for h in hooks:
        h.remove()
    return seen


def _calibrate_inputs(model, seen: Mapping[str, tuple[torch.Tensor, torch.Tensor]]) -> None:
    """Static input qparams (FP8 `input_scale`, NVFP4 `input_global_scale`) from the observed activations."""
    from compressed_tensors.quantization import QuantizationStrategy
    from compressed_tensors.quantization.utils import calculate_qparams, generate_gparam

    for name, module in model.named_modules():
        scheme = getattr(module, "quantization_scheme", None)
        if scheme is None or scheme.input_activations is None or name not in seen:
            continue
        lo, hi = (v.reshape(1) for v in seen[name])
        if scheme.input_activations.strategy == QuantizationStrategy.TENSOR_GROUP:
            module.input_global_scale.data.copy_(generate_gparam(lo, hi))
        elif hasattr(module, "input_scale"):
            scale, _ = calculate_qparams(lo, hi, scheme.input_activations)
            module.input_scale.data = scale.to(module.input_scale.dtype).reshape(module.input_scale.shape)


def ct(preset: str, **weight_overrides) -> Callable[[Path, Path], None]:
    def make(base: Path, out: Path) -> None:
        from compressed_tensors.compressors import ModelCompressor
        from compressed_tensors.quantization import (
            QuantizationConfig,
            QuantizationStatus,
            apply_quantization_config,
            preset_name_to_scheme,
        )

        model = load(base)
        seen = _observe_inputs(model)
        scheme = preset_name_to_scheme(preset, ["Linear"])
        if weight_overrides:
            scheme.weights = scheme.weights.model_copy(update=weight_overrides)
        config = QuantizationConfig(
            config_groups={"group_0": scheme},
            ignore=["lm_head"],
            quantization_status=QuantizationStatus.CALIBRATION,
        )
        apply_quantization_config(model, config)
        _calibrate_weights(model)
        _calibrate_inputs(model, seen)
        compressor = ModelCompressor.from_pretrained_model(model)
        compressor.compress_model(model)
        model.save_pretrained(out)
        compressor.update_config(out)

    return make


@dataclass(frozen=True)
class Recipe:
    """One real checkpoint to produce."""

    library: str
    """The library that quantized and wrote it."""
    how: str
    """Human-readable recipe (preset / config)."""
    make: Callable[[Path, Path], None]
    """(base model dir, output dir) → writes the quantized checkpoint."""
    model: tuple[tuple[str, Any], ...] = ()
    """Overrides of the tiny config (compressed-tensors group quantization refuses in % group != 0)."""
    extra: tuple[tuple[str, Any], ...] = ()
    """Extra manifest facts (e.g. the `quantization_config` transformers would write)."""


# compressed-tensors 0.20 raises "tensor column shape must be divisble by the given group_size" for down_proj
# (in = 688): its group recipes run on intermediate 768; the 688 attempts are kept to record that refusal.
I768 = (("intermediate_size", 768),)

RECIPES: dict[str, Recipe] = {
    "bnb_nf4_dq": Recipe(
        "bitsandbytes",
        "BitsAndBytesConfig(load_in_4bit, nf4, double quant)",
        bnb(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True),
    ),
    "bnb_nf4": Recipe(
        "bitsandbytes", "BitsAndBytesConfig(load_in_4bit, nf4)", bnb(load_in_4bit=True, bnb_4bit_quant_type="nf4")
    ),
    "bnb_fp4": Recipe(
        "bitsandbytes", "BitsAndBytesConfig(load_in_4bit, fp4)", bnb(load_in_4bit=True, bnb_4bit_quant_type="fp4")
    ),
    "bnb_nf4_storage_bf16": Recipe(
        "bitsandbytes",
        "BitsAndBytesConfig(load_in_4bit, nf4, double quant, bnb_4bit_quant_storage=bfloat16)",
        bnb(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_quant_storage=torch.bfloat16,
        ),
    ),
    "bnb_nf4_dq_tied": Recipe(
        "bitsandbytes",
        "BitsAndBytesConfig(load_in_4bit, nf4, double quant), tie_word_embeddings=True",
        bnb(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True),
        (("tie_word_embeddings", True),),
    ),
    "bnb_int8": Recipe("bitsandbytes", "BitsAndBytesConfig(load_in_8bit)", bnb(load_in_8bit=True)),
    "ct_w4a16_g128_i688": Recipe("compressed-tensors", "preset W4A16 (group 128), intermediate 688", ct("W4A16")),
    "ct_w4a16_g128": Recipe("compressed-tensors", "preset W4A16 (group 128)", ct("W4A16"), I768),
    "ct_w4a16_g32": Recipe("compressed-tensors", "preset W4A16, group_size 32", ct("W4A16", group_size=32), I768),
    "ct_w4a16_asym": Recipe("compressed-tensors", "preset W4A16_ASYM (group 128)", ct("W4A16_ASYM"), I768),
    "ct_w3a16_g128": Recipe("compressed-tensors", "preset W3A16 (group 128)", ct("W3A16"), I768),
    "ct_w8a8_int": Recipe("compressed-tensors", "preset W8A8 (int8 channel, dynamic token)", ct("W8A8")),
    "ct_fp8_dynamic": Recipe("compressed-tensors", "preset FP8_DYNAMIC", ct("FP8_DYNAMIC")),
    "ct_fp8_block": Recipe("compressed-tensors", "preset FP8_BLOCK (128x128 weights)", ct("FP8_BLOCK")),
    "ct_fp8_static": Recipe("compressed-tensors", "preset FP8 (tensor weights, static tensor input)", ct("FP8")),
    "ct_w4afp8": Recipe("compressed-tensors", "preset W4AFP8 (int4 group 128, dynamic fp8 input)", ct("W4AFP8"), I768),
    "ct_nvfp4": Recipe("compressed-tensors", "preset NVFP4 (group 16, static input global scale)", ct("NVFP4")),
    "ct_nvfp4a16": Recipe("compressed-tensors", "preset NVFP4A16 (group 16)", ct("NVFP4A16")),
    "ct_mxfp4a16": Recipe("compressed-tensors", "preset MXFP4A16 (group 32)", ct("MXFP4A16"), I768),
}
for _bits, _gs in ((4, 64), (3, 64), (2, 32), (8, 128)):
    RECIPES[f"hqq_{_bits}bit_g{_gs}"] = Recipe(
        "hqq",
        f"AutoHQQHFModel.quantize_model(BaseQuantizeConfig(nbits={_bits}, group_size={_gs}, axis=1))",
        hqq(_bits, _gs),
        extra=(("transformers_quantization_config", (_bits, _gs)),),
    )


def record(saved: Path, dest: Path) -> dict:
    """Keep the header bytes and config of one saved checkpoint; return its file facts."""
    files = sorted(saved.glob("*.safetensors"))
    if len(files) != 1:
        raise RuntimeError(f"expected one safetensors file, got {[f.name for f in files]}")
    raw = files[0].read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "model.safetensors.header").write_bytes(raw[: 8 + n])
    shutil.copyfile(saved / "config.json", dest / "config.json")
    states = _quant_states(raw, n)
    if states:
        (dest / "quant_states.json").write_text(json.dumps(states, indent=1, sort_keys=True) + "\n")
    return {"header_bytes": 8 + n, "file_bytes": len(raw)}


def _quant_states(raw: bytes, n: int) -> dict[str, Any]:
    """bitsandbytes' `*.quant_state.bitsandbytes__*` values: JSON in the data section (shape, blocksize, dtype)."""
    header = json.loads(raw[8 : 8 + n])
    states = {}
    for name, entry in header.items():
        if ".quant_state.bitsandbytes__" in name:
            begin, end = entry["data_offsets"]
            states[name] = json.loads(raw[8 + n + begin : 8 + n + end])
    return states


def _extra(recipe: Recipe) -> dict:
    facts = dict(recipe.extra)
    if "transformers_quantization_config" in facts:
        facts["transformers_quantization_config"] = hqq_transformers_block(*facts["transformers_quantization_config"])
    return facts


def main(names: list[str]) -> None:
    manifest_path = OUT / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"fixtures": {}, "failed": {}}
    manifest.update(base_model={"config": TINY, "dtype": "bfloat16", "seed": 0}, versions=versions())
    manifest["python"] = sys.version.split()[0]
    with tempfile.TemporaryDirectory() as tmp:
        bases: dict[tuple, tuple[Path, int]] = {}
        for name in names or list(RECIPES):
            recipe = RECIPES[name]
            if recipe.model not in bases:
                path = Path(tmp) / f"base{len(bases)}"
                bases[recipe.model] = (path, save_base(path, dict(recipe.model)))
            base, params = bases[recipe.model]
            entry = {"library": recipe.library, "recipe": recipe.how, "model_overrides": dict(recipe.model)}
            try:
                recipe.make(base, Path(tmp) / name)
                facts = record(Path(tmp) / name, OUT / name)
            except Exception as exc:  # a library that cannot run here is reported, not faked
                manifest["failed"][name] = {**entry, "error": repr(exc)[:500]}
                traceback.print_exc()
                continue
            manifest["failed"].pop(name, None)
            manifest["fixtures"][name] = {**entry, "unquantized_params": params, **facts, **_extra(recipe)}
            print(f"{name}: {facts}")
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
