"""Repos that are more than one model: diffusers pipelines, multimodal checkpoints, PEFT adapters."""

import json

from cardscan.scanner import ScanOptions, _scan_listing
from cardscan.sources.memory import MemorySource
from tests.st_builder import header_bytes


def run(files: dict[str, bytes]):
    source = MemorySource(files)
    return _scan_listing(source, source.listing(), "memory/model", ScanOptions(), None, depth=1)


def test_diffusers_pipeline_sums_components_and_skips_schedulers():
    files = {
        "model_index.json": json.dumps(
            {
                "_class_name": "StableDiffusionPipeline",
                "unet": ["diffusers", "UNet2DConditionModel"],
                "vae": ["diffusers", "AutoencoderKL"],
                "scheduler": ["diffusers", "PNDMScheduler"],
                "text_encoder": ["transformers", "CLIPTextModel"],
            }
        ).encode(),
        "unet/config.json": b"{}",
        "unet/diffusion_pytorch_model.safetensors": header_bytes({"conv.weight": ("F16", [320, 4, 3, 3])}),
        "unet/diffusion_pytorch_model.fp16.safetensors": header_bytes({"conv.weight": ("F16", [320, 4, 3, 3])}),
        "vae/diffusion_pytorch_model.safetensors": header_bytes({"dec.weight": ("F32", [128, 4])}),
        "text_encoder/model.safetensors": header_bytes({"emb.weight": ("F16", [1000, 16])}),
        "scheduler/scheduler_config.json": b"{}",
        "README.md": b"# a pipeline\n",
    }
    r = run(files)
    assert r.ok, r.error
    assert [c.name for c in r.components] == ["text_encoder", "unet", "vae"]
    assert r.parameters.total == 320 * 4 * 9 + 128 * 4 + 16_000  # the fp16 variant is not counted twice
    assert r.parameters.by_dtype == {"fp16": 320 * 36 + 16_000, "fp32": 512}
    assert r.weights.bytes == 320 * 36 * 2 + 512 * 4 + 32_000


def test_multimodal_parts_are_reported_separately():
    tensors = {
        "model.language_model.embed_tokens.weight": ("BF16", [100, 8]),
        "model.vision_tower.patch.weight": ("BF16", [8, 3, 2, 2]),
        "model.multi_modal_projector.linear.weight": ("BF16", [8, 8]),
    }
    r = run({"model.safetensors": header_bytes(tensors)})
    assert r.parameters.by_component == {"language": 800, "vision": 96, "projector": 64}
    assert sum(r.parameters.by_component.values()) == r.parameters.total


def test_adapter_details_without_base_lookup():
    cfg = {
        "peft_type": "LORA",
        "r": 8,
        "lora_alpha": 16,
        "target_modules": ["q_proj"],
        "base_model_name_or_path": "org/base",
    }
    files = {
        "adapter_config.json": json.dumps(cfg).encode(),
        "adapter_model.safetensors": header_bytes(
            {
                "base_model.model.layers.0.q_proj.lora_A.weight": ("F32", [8, 64]),
                "base_model.model.layers.0.q_proj.lora_B.weight": ("F32", [64, 8]),
            }
        ),
    }
    r = run(files)  # depth=1: the base is not scanned here (integration tests cover that over HTTP)
    assert r.adapter.rank == 8 and r.adapter.target_modules == ("q_proj",)
    assert r.adapter.parameters == 1024 and r.adapter.base_model == "org/base"
    assert r.base is None


def test_sentence_transformers_modules_are_added_not_alternatives():
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
    ]
    files = {
        "modules.json": json.dumps(modules).encode(),
        "config.json": json.dumps({"model_type": "bert", "architectures": ["BertModel"]}).encode(),
        "model.safetensors": header_bytes({"embeddings.word_embeddings.weight": ("F32", [100, 8])}),
        "1_Pooling/config.json": b"{}",
        "2_Dense/config.json": b"{}",
        "2_Dense/model.safetensors": header_bytes({"linear.weight": ("F32", [4, 8])}),
    }
    r = run(files)
    assert r.parameters.total == 800 + 32
    assert [c.name for c in r.components] == ["transformer", "2_Dense"]
    assert r.weights.alternatives == ()
    assert r.weights.bytes == (800 + 32) * 4


# --- defects of the looping design, fixed by combine-then-estimate-once ------------------------------------------


def test_pipeline_memory_is_estimated_after_components_are_summed():
    files = {
        "model_index.json": json.dumps({"unet": ["diffusers", "UNet2DConditionModel"]}).encode(),
        "unet/diffusion_pytorch_model.safetensors": header_bytes({"conv.weight": ("F16", [320, 4, 3, 3])}),
    }
    r = run(files)
    assert r.memory is not None and r.memory.weights_bytes == r.weights.bytes == 320 * 36 * 2
    assert r.memory.kv_cache_bytes == 0 and r.fits
    assert not any("not estimated" in n for n in r.notes)  # no contradiction with the summed figures
    assert r.precision_bytes["bf16/fp16"] == 320 * 36 * 2


def test_sentence_transformers_estimates_use_the_combined_count():
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
    ]
    config = {"model_type": "bert", "architectures": ["BertModel"], "hidden_size": 8, "num_attention_heads": 2,
              "num_hidden_layers": 1, "intermediate_size": 16, "vocab_size": 100, "max_position_embeddings": 64}  # fmt: skip
    files = {
        "modules.json": json.dumps(modules).encode(),
        "config.json": json.dumps(config).encode(),
        "model.safetensors": header_bytes({"embeddings.word_embeddings.weight": ("F32", [100, 8])}),
        "2_Dense/model.safetensors": header_bytes({"linear.weight": ("F32", [4, 8])}),
    }
    r = run(files)
    assert r.parameters.total == 832
    assert r.precision_bytes["fp32"] == 832 * 4 and r.precision_bytes["bf16/fp16"] == 832 * 2
    assert r.memory.weights_bytes == r.weights.bytes == 832 * 4


def test_module_weights_chosen_at_the_top_are_not_counted_twice():
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
    ]
    files = {
        "modules.json": json.dumps(modules).encode(),
        "model.onnx": b"\x08\x07" * 16,  # the transformer only as ONNX: not a weight format cardscan reads
        "2_Dense/model.safetensors": header_bytes({"linear.weight": ("F32", [4, 8])}),
    }
    r = run(files)
    assert r.parameters.total == 32 and r.weights.bytes == 32 * 4
    assert r.components == ()  # the top level is the Dense module itself; the ONNX transformer is an alternative
