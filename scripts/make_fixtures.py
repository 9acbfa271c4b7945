"""Regenerate the offline examples and the Hub emulator corpus (tests/fixtures/hub) from the real configs.

    python scripts/make_fixtures.py            # writes examples/ and tests/fixtures/hub/

Weight files are header-only: the emulator serves declared sizes, zero-filling past the stored prefix.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

from cardscan.testing import corpus as c

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "tests" / "fixtures" / "configs"
HUB = ROOT / "tests" / "fixtures" / "hub"
EXAMPLES = ROOT / "examples"
GB = 10**9

LLAMA2_CARD = """---
extra_gated_heading: You need to share contact information with Meta to access this model
extra_gated_button_content: Submit
language:
- en
pipeline_tag: text-generation
inference: false
tags:
- facebook
- meta
- pytorch
- llama
- llama-2
license: llama2
---
# **Llama 2**
Llama 2 is a collection of pretrained and fine-tuned generative text models ranging in scale from 7 billion to 70 billion
parameters. This is the repository for the 7B pretrained model, converted for the Hugging Face Transformers format.

## Model Details
*Note: Use of this model is governed by the Meta license.*

**Model Architecture** Llama 2 is an auto-regressive language model that uses an optimized transformer architecture.

|Model|Training Data|Params|Content Length|GQA|Tokens|LR|
|---|---|---|---|---|---|---|
|Llama 2|*A new mix of publicly available online data*|7B|4k|&#10007;|2.0T|3.0 x 10<sup>-4</sup>|
"""


def config(name: str, **changes: object) -> dict:
    """A copied real config, with the values the Hub file has where the copy differs."""
    cfg = json.loads((CONFIGS / f"{name}.json").read_text())
    cfg.update(changes)
    return cfg


def dumps(obj: object) -> bytes:
    """JSON as transformers writes it (indent 2, trailing newline)."""
    return (json.dumps(obj, indent=2) + "\n").encode()


def sha1(text: str) -> str:
    """A stable fake commit sha for `text`."""
    return hashlib.sha1(text.encode()).hexdigest()


def llama2_config() -> dict:
    """Llama-2-7b-hf config.json: the preset copy minus MLC keys, with the Hub's 4096 context."""
    cfg = config("meta-llama__Llama-2-7b-hf", max_position_embeddings=4096)
    for key in ("context_window_size", "prefill_chunk_size"):
        cfg.pop(key, None)
    return cfg


def llama2_weights() -> dict[str, c.HeaderFile | bytes]:
    """Two F16 shards like the Hub's (with the RoPE inv_freq buffers) plus the index."""
    specs = c.model_tensors(llama2_config(), "F16", rule="llama+inv_freq")
    return c.weight_files(c.shard(specs, 10 * GB))


def make_example() -> None:
    """examples/llama-2-7b: header-only shards a user can scan offline."""
    folder = EXAMPLES / "llama-2-7b"
    shutil.rmtree(folder, ignore_errors=True)
    files = {"config.json": dumps(llama2_config()), "README.md": LLAMA2_CARD.encode(), **llama2_weights()}
    c.write_files(folder, files)


def write_repo(repo_id: str, files: dict, **meta: object) -> None:
    """tests/fixtures/hub/{repo_id}: files/ plus repo.json (sha, declared sizes, flags)."""
    folder = HUB / repo_id
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    declared = c.write_files(folder / "files", files)
    doc = {"sha": sha1(repo_id), **meta, "sizes": declared}
    (folder / "repo.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")


def card(front: str, body: str) -> bytes:
    """README.md with YAML front matter."""
    return f"---\n{front.strip()}\n---\n{body.lstrip()}".encode()


def base_repo(name: str, recipe: dict, front: str, body: str, **cfg_changes: object) -> dict:
    """config.json + README + the weight files of `recipe` (header-only)."""
    cfg = config(name, **cfg_changes)
    return {"config.json": dumps(cfg), "README.md": card(front, body), **c.recipe_files(recipe, cfg)}


def llama2_repo() -> dict:
    """meta-llama/Llama-2-7b-hf: 2 F16 shards + the legacy .bin shards (size only)."""
    bins = {"pytorch_model-00001-of-00002.bin": 9976634558, "pytorch_model-00002-of-00002.bin": 3500315539}
    return {
        "config.json": dumps(llama2_config()),
        "README.md": LLAMA2_CARD.encode(),
        "generation_config.json": dumps({"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0}),
        "tokenizer_config.json": dumps({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}),
        "pytorch_model.bin.index.json": dumps({"metadata": {"total_size": 13476839424}, "weight_map": {}}),
        "tokenizer.model": 499723,
        **llama2_weights(),
        **bins,
    }


def llama31_repo() -> dict:
    """meta-llama/Llama-3.1-8B: 4 BF16 shards + `original/` consolidated checkpoint."""
    files = base_repo(
        "meta-llama__Llama-3.1-8B",
        {"dtype": "BF16", "max_shard_bytes": 5 * GB},
        "language:\n- en\nlibrary_name: transformers\nlicense: llama3.1\npipeline_tag: text-generation\n"
        "tags:\n- facebook\n- meta\n- pytorch\n- llama\n- llama-3\nextra_gated_prompt: LLAMA 3.1 COMMUNITY LICENSE AGREEMENT",
        "## Model Information\n\nThe Meta Llama 3.1 collection of multilingual large language models (LLMs) is a collection "
        "of pretrained and instruction tuned generative models in 8B, 70B and 405B sizes.\n",
    )
    params = {
        "dim": 4096,
        "n_layers": 32,
        "n_heads": 32,
        "n_kv_heads": 8,
        "vocab_size": 128256,
        "ffn_dim_multiplier": 1.3,
        "multiple_of": 1024,
        "norm_eps": 1e-05,
        "rope_theta": 500000.0,
        "use_scaled_rope": True,
    }
    return {
        **files,
        "original/params.json": dumps(params),
        "original/consolidated.00.pth": 16060617592,
        "original/tokenizer.model": 2183982,
    }


def mistral_repo() -> dict:
    """mistralai/Mistral-7B-v0.1: 2 shards plus the `consolidated.safetensors` trap (same weights, other names)."""
    cfg_changes = {"sliding_window": 4096}
    files = base_repo(
        "mistralai__Mistral-7B-v0.1",
        {"dtype": "BF16", "max_shard_bytes": 10 * GB},
        "library_name: transformers\nlanguage:\n- en\nlicense: apache-2.0\ntags:\n- pretrained\npipeline_tag: text-generation",
        "# Model Card for Mistral-7B-v0.1\n\nThe Mistral-7B-v0.1 Large Language Model (LLM) is a pretrained generative text "
        "model with 7 billion parameters.\n",
        **cfg_changes,
    )
    cfg = json.loads(files["config.json"])
    for key in ("sliding_window_size", "prefill_chunk_size", "attention_sink_size"):
        cfg.pop(key, None)
    files["config.json"] = dumps(cfg)
    specs = [c.Spec(consolidated_name(s.name), s.dtype, s.shape) for s in c.model_tensors(cfg, "BF16")]
    files["consolidated.safetensors"] = c.safetensors_file(specs)
    files["params.json"] = dumps({"dim": 4096, "n_layers": 32, "n_heads": 32, "n_kv_heads": 8, "vocab_size": 32000})
    return files


# Mistral's own (consolidated) tensor names for the HF names.
CONSOLIDATED_NAMES = (
    ("model.embed_tokens.", "tok_embeddings."),
    ("model.norm.", "norm."),
    ("lm_head.", "output."),
    ("model.layers.", "layers."),
    ("self_attn.q_proj", "attention.wq"),
    ("self_attn.k_proj", "attention.wk"),
    ("self_attn.v_proj", "attention.wv"),
    ("self_attn.o_proj", "attention.wo"),
    ("mlp.gate_proj", "feed_forward.w1"),
    ("mlp.down_proj", "feed_forward.w2"),
    ("mlp.up_proj", "feed_forward.w3"),
    ("input_layernorm", "attention_norm"),
    ("post_attention_layernorm", "ffn_norm"),
)


def consolidated_name(name: str) -> str:
    for old, new in CONSOLIDATED_NAMES:
        name = name.replace(old, new)
    return name


def simple_repo(name: str, dtype: str, shard_gb: float, front: str, body: str, **changes: object) -> dict:
    return base_repo(name, {"dtype": dtype, "max_shard_bytes": int(shard_gb * GB)}, front, body, **changes)


def gpt_oss_repo() -> dict:
    """openai/gpt-oss-20b: MXFP4 experts, plus an `original/` copy that must not be counted."""
    files = base_repo(
        "openai__gpt-oss-20b",
        {"dtype": "BF16", "max_shard_bytes": 5 * GB},
        "license: apache-2.0\npipeline_tag: text-generation\nlibrary_name: transformers\ntags:\n- vllm",
        "# gpt-oss-20b\n\n`gpt-oss-20b` — for lower latency, and local or specialized use cases (21B parameters with 3.6B "
        "active parameters)\n",
    )
    cfg = json.loads(files["config.json"])
    files["original/model.safetensors"] = c.safetensors_file(c.model_tensors(cfg, "BF16"))
    files["original/config.json"] = dumps({"num_hidden_layers": 24, "num_experts": 32, "hidden_size": 2880})
    return files


def deepseek_repo() -> tuple[dict, dict]:
    """deepseek-ai/DeepSeek-V3: only config + card committed; 163 FP8 shards generated at emulator start."""
    files = {
        "config.json": dumps(config("deepseek-ai__DeepSeek-V3")),
        "README.md": card(
            "license: mit\nlibrary_name: transformers",
            "# DeepSeek-V3\n\nDeepSeek-V3, a strong Mixture-of-Experts (MoE) language model with 671B total "
            "parameters with 37B activated for each token.\n",
        ),
        "configuration_deepseek.py": b"# remote code (not run)\n",
    }
    return files, {"dtype": "BF16", "quant": "fp8_block", "shards": 163}


def gptq_repo() -> dict:
    qc = {
        "bits": 4,
        "group_size": 128,
        "damp_percent": 0.01,
        "desc_act": True,
        "sym": True,
        "true_sequential": True,
        "model_name_or_path": None,
        "model_file_base_name": "model",
        "quant_method": "gptq",
    }
    cfg = {**llama2_config(), "quantization_config": qc, "torch_dtype": "float16"}
    specs = c.gptq(c.model_tensors(cfg, "F16"))
    meta = {
        "format": "pt",
        "auto_gptq_version": "0.4.2",
        "gptq_bits": "4",
        "gptq_group_size": "128",
        "gptq_desc_act": "True",
    }
    front = (
        "base_model: meta-llama/Llama-2-7b-hf\ninference: false\nlicense: llama2\nmodel_creator: Meta\n"
        "model_name: Llama 2 7B\nmodel_type: llama\nquantized_by: TheBloke\ntags:\n- gptq\n- 4-bit"
    )
    return {
        "config.json": dumps(cfg),
        "quantize_config.json": dumps({k: v for k, v in qc.items() if k != "quant_method"}),
        "README.md": card(
            front, "# Llama 2 7B - GPTQ\n- Model creator: Meta\n\nGPTQ 4-bit, group size 128, Act Order.\n"
        ),
        "model.safetensors": c.safetensors_file(specs, meta),
    }


def awq_repo() -> dict:
    qc = {"quant_method": "awq", "zero_point": True, "group_size": 128, "bits": 4, "version": "gemm"}
    cfg = {**llama2_config(), "quantization_config": qc}
    front = "base_model: meta-llama/Llama-2-7b-hf\nlicense: llama2\nquantized_by: TheBloke\ntags:\n- awq"
    return {
        "config.json": dumps(cfg),
        "quant_config.json": dumps({"zero_point": True, "q_group_size": 128, "w_bit": 4, "version": "GEMM"}),
        "README.md": card(front, "# Llama 2 7B - AWQ\n\nAWQ 4-bit GEMM model files for Meta's Llama 2 7B.\n"),
        "model.safetensors": c.safetensors_file(c.awq_gemm(c.model_tensors(cfg, "F16"))),
    }


def bnb_repo() -> dict:
    qc = {
        "quant_method": "bitsandbytes",
        "load_in_4bit": True,
        "load_in_8bit": False,
        "bnb_4bit_quant_type": "nf4",
        "bnb_4bit_use_double_quant": True,
        "bnb_4bit_compute_dtype": "bfloat16",
        "bnb_4bit_quant_storage": "uint8",
        "llm_int8_skip_modules": None,
    }
    cfg = config(
        "meta-llama__Llama-3.1-8B",
        quantization_config=qc,
        max_position_embeddings=8192,
        rope_scaling=None,
        rope_theta=500000.0,
    )
    front = "language:\n- en\nlibrary_name: transformers\nlicense: llama3\ntags:\n- unsloth\n- llama\n- bnb\n- 4-bit"
    files = {"config.json": dumps(cfg), "README.md": card(front, "# Finetune Llama 3 with Unsloth\n\nbnb 4bit.\n")}
    return {**files, **c.recipe_files({"dtype": "BF16", "quant": "bnb_nf4", "shards": 2}, cfg)}


def variants_repo() -> dict:
    """org/variants: main BF16 files plus `*.fp16.safetensors` variants beside them."""
    cfg = config("Qwen__Qwen3-0.6B")
    specs = c.model_tensors(cfg, "BF16")
    return {
        "config.json": dumps(cfg),
        "README.md": card("license: apache-2.0", "# variants\n\nBF16 weights with fp16 variants.\n"),
        "model.safetensors": c.safetensors_file(specs),
        "model.fp16.safetensors": c.safetensors_file([c.Spec(s.name, "F16", s.shape) for s in specs]),
    }


def adapter_repo() -> dict:
    """org/lora-adapter: adapter_config.json + adapter_model.safetensors (lora_A/lora_B on q,v of Llama-2-7B)."""
    r, d, layers = 16, 4096, 32
    specs = []
    for i in range(layers):
        for proj in ("q_proj", "v_proj"):
            base = f"base_model.model.model.layers.{i}.self_attn.{proj}."
            specs += [c.Spec(base + "lora_A.weight", "F32", (r, d)), c.Spec(base + "lora_B.weight", "F32", (d, r))]
    peft = {
        "base_model_name_or_path": "meta-llama/Llama-2-7b-hf",
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "r": r,
        "lora_alpha": 32,
        "lora_dropout": 0.05,
        "target_modules": ["q_proj", "v_proj"],
        "bias": "none",
    }
    front = "base_model: meta-llama/Llama-2-7b-hf\nlibrary_name: peft\nlicense: llama2"
    return {
        "adapter_config.json": dumps(peft),
        "README.md": card(front, "# LoRA adapter\n"),
        "adapter_model.safetensors": c.safetensors_file(specs),
    }


# Llama-2-7B GGUF quant mixes: type of token_embd, output, attn_v, ffn_down, everything else (llama.cpp llama-quant.cpp, simplified).
GGUF_MIXES: dict[str, tuple[int, tuple[str, str, str, str, str]]] = {
    "Q2_K": (10, ("Q2_K", "Q6_K", "Q4_K", "Q3_K", "Q2_K")),
    "Q4_K_M": (15, ("Q4_K", "Q6_K", "Q6_K", "Q6_K", "Q4_K")),
    "Q8_0": (7, ("Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0")),
}


def gguf_llama2(mix: str) -> c.HeaderFile:
    """A llama.cpp-style GGUF header of Llama-2-7B at one quant mix (dims innermost-first)."""
    file_type, (embd, out, attn_v, down, rest) = GGUF_MIXES[mix]
    H, F, V, L = 4096, 11008, 32000, 32  # hidden, ffn, vocab, layers
    tensors = [("token_embd.weight", (H, V), embd)]
    for i in range(L):
        b = f"blk.{i}."
        tensors += [
            (b + "attn_q.weight", (H, H), rest),
            (b + "attn_k.weight", (H, H), rest),
            (b + "attn_v.weight", (H, H), attn_v),
            (b + "attn_output.weight", (H, H), rest),
            (b + "ffn_gate.weight", (H, F), rest),
            (b + "ffn_up.weight", (H, F), rest),
            (b + "ffn_down.weight", (F, H), down),
            (b + "attn_norm.weight", (H,), "F32"),
            (b + "ffn_norm.weight", (H,), "F32"),
        ]
    tensors += [("output_norm.weight", (H,), "F32"), ("output.weight", (H, V), out)]
    kvs = {
        "general.architecture": "llama",
        "general.name": "LLaMA v2",
        "general.file_type": file_type,
        "general.quantization_version": 2,
        "llama.context_length": 4096,
        "llama.embedding_length": H,
        "llama.block_count": L,
        "llama.feed_forward_length": F,
        "llama.rope.dimension_count": 128,
        "llama.attention.head_count": 32,
        "llama.attention.head_count_kv": 32,
        "llama.attention.layer_norm_rms_epsilon": 1e-05,
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.tokens": ["<unk>", "<s>", "</s>"],
    }
    return c.gguf_file(kvs, tensors)


def gguf_repo() -> dict:
    front = (
        "base_model: meta-llama/Llama-2-7b-hf\nlicense: llama2\nmodel_creator: Meta\nmodel_type: llama\n"
        "quantized_by: TheBloke\ninference: false"
    )
    files = {f"llama-2-7b.{mix}.gguf": gguf_llama2(mix) for mix in GGUF_MIXES}
    return {
        **files,
        "config.json": dumps({"model_type": "llama"}),
        "README.md": card(front, "# Llama 2 7B - GGUF\n\n| Name | Quant method | Bits |\n|---|---|---|\n"),
    }


def bin_only_repo() -> dict:
    """org/bin-only: a real tiny torch zip checkpoint (tests/fixtures/torch/gpt2_tiny.bin) and no safetensors."""
    tiny = ROOT / "tests" / "fixtures" / "torch" / "gpt2_tiny.bin"
    cfg = {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "n_embd": 16,
        "n_layer": 2,
        "n_head": 2,
        "n_positions": 32,
        "vocab_size": 64,
    }
    weights = {"pytorch_model.bin": tiny.read_bytes()} if tiny.exists() else {"pytorch_model.bin": 27740}
    return {"config.json": dumps(cfg), "README.md": card("license: mit", "# tiny gpt2 (.bin only)\n"), **weights}


def write_corpus() -> None:
    shutil.rmtree(HUB, ignore_errors=True)
    gpt2_front = "language: en\ntags:\n- exbert\nlicense: mit"
    gpt2_body = (
        "# GPT-2\n\nTest the whole generation capabilities here: https://transformer.huggingface.co/doc/gpt2-large\n"
    )
    gemma_front = "license: gemma\nlibrary_name: transformers\npipeline_tag: text-generation\nextra_gated_heading: Access Gemma on Hugging Face"
    write_repo("openai-community/gpt2", simple_repo("openai-community__gpt2", "F32", 10, gpt2_front, gpt2_body))
    write_repo("meta-llama/Llama-2-7b-hf", llama2_repo(), gated="manual", allowed_tokens=["hf_approved"])
    write_repo("meta-llama/Llama-3.1-8B", llama31_repo(), gated="manual", allowed_tokens=["hf_approved"])
    write_repo("mistralai/Mistral-7B-v0.1", mistral_repo())
    write_repo(
        "mistralai/Mixtral-8x7B-v0.1",
        simple_repo(
            "mistralai__Mixtral-8x7B-v0.1",
            "BF16",
            5,
            "license: apache-2.0\nlanguage:\n- fr\n- en",
            "# Model Card for Mixtral-8x7B\nThe Mixtral-8x7B Large Language Model (LLM) is a pretrained generative Sparse Mixture of Experts.\n",
        ),
    )
    write_repo(
        "Qwen/Qwen3-30B-A3B",
        simple_repo(
            "Qwen__Qwen3-30B-A3B",
            "BF16",
            4,
            "library_name: transformers\nlicense: apache-2.0\npipeline_tag: text-generation",
            "# Qwen3-30B-A3B\n\n- Number of Parameters: 30.5B in total and 3.3B activated\n- Number of Paramaters (Non-Embedding): 29.9B\n",
        ),
    )
    ds_files, ds_recipe = deepseek_repo()
    write_repo("deepseek-ai/DeepSeek-V3", ds_files, generate=ds_recipe)
    write_repo("openai/gpt-oss-20b", gpt_oss_repo())
    write_repo(
        "google/gemma-2-2b",
        simple_repo("google__gemma-2-2b", "F32", 5, gemma_front, "# Gemma 2 model card\n"),
        gated="manual",
        allowed_tokens=["hf_approved"],
    )
    write_repo(
        "google/gemma-3-1b-it", simple_repo("google__gemma-3-1b-it", "BF16", 5, gemma_front, "# Gemma 3 model card\n")
    )
    write_repo("TheBloke/Llama-2-7B-GPTQ", gptq_repo())
    write_repo("TheBloke/Llama-2-7B-AWQ", awq_repo())
    write_repo("unsloth/llama-3-8b-bnb-4bit", bnb_repo())
    write_repo("TheBloke/Llama-2-7B-GGUF", gguf_repo())
    write_repo("org/variants", variants_repo())
    write_repo("org/lora-adapter", adapter_repo())
    write_repo("org/bin-only", bin_only_repo())
    write_repo(
        "org/config-only",
        {"config.json": dumps(config("Qwen__Qwen3-8B")), "README.md": card("license: apache-2.0", "# config only\n")},
    )
    write_repo(
        "org/no-readme",
        {
            "config.json": dumps(config("Qwen__Qwen3-0.6B")),
            "model.safetensors": c.safetensors_file(c.model_tensors(config("Qwen__Qwen3-0.6B"), "BF16")),
        },
    )
    write_repo(
        "org/broken-yaml",
        {
            "config.json": dumps(config("Qwen__Qwen3-0.6B")),
            "README.md": b"---\nlicense: [apache-2.0\ntags: - oops: :\n---\n# broken front matter\n",
        },
    )
    write_repo(
        "org/private",
        {"config.json": dumps(config("Qwen__Qwen3-0.6B")), "README.md": card("license: other", "# private\n")},
        private=True,
        allowed_tokens=["hf_private_ok"],
    )
    write_repo("old-org/old-name", {}, renamed_to="meta-llama/Llama-2-7b-hf")
    write_pr_revision()


def write_pr_revision() -> None:
    """Qwen/Qwen3-30B-A3B `refs/pr/1`: a config with a longer context (overlay under revisions/{sha}/files)."""
    folder, pr_sha = HUB / "Qwen" / "Qwen3-30B-A3B", sha1("Qwen/Qwen3-30B-A3B refs/pr/1")
    meta = json.loads((folder / "repo.json").read_text())
    meta["revisions"] = {"refs/pr/1": pr_sha, "v1.0": meta["sha"]}
    (folder / "repo.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    cfg = config(
        "Qwen__Qwen3-30B-A3B",
        max_position_embeddings=131072,
        rope_scaling={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768},
    )
    c.write_files(folder / "revisions" / pr_sha / "files", {"config.json": dumps(cfg)})


def main(argv: list[str]) -> int:
    make_example()
    write_corpus()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
