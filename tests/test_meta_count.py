"""Exact parameter counts from config.json by building the model on the meta device (torch + transformers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cardscan.parse import meta_count
from cardscan.parse.config import arch_facts, estimate_params_from_config
from cardscan.parse.meta_count import MetaCount, meta_parameter_count
from tests.known_totals import KNOWN_TOTALS

CONFIGS = Path(__file__).parent / "fixtures" / "configs"

# The standard-family subset of the published totals (the meta device builds these natively).
EXACT = {
    k: v
    for k, v in KNOWN_TOTALS.items()
    if k not in ("deepseek-ai__DeepSeek-V3", "openai__gpt-oss-20b", "microsoft__phi-2")
}

# bert-base-uncased config.json (architecture fields); BertModel with pooler has 109,482,240 parameters.
BERT_BASE = {
    "model_type": "bert", "architectures": ["BertModel"], "hidden_size": 768, "num_hidden_layers": 12,
    "num_attention_heads": 12, "intermediate_size": 3072, "vocab_size": 30522, "max_position_embeddings": 512,
    "type_vocab_size": 2,
}  # fmt: skip


def load(name: str) -> dict:
    return json.loads((CONFIGS / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def backends() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")


@pytest.mark.usefixtures("backends")
@pytest.mark.parametrize(("name", "total"), EXACT.items())
def test_exact_counts(name: str, total: int) -> None:
    got = meta_parameter_count(load(name))
    assert got is not None and got.total == total
    assert sum(got.by_module.values()) == total


@pytest.mark.usefixtures("backends")
def test_deepseek_v3_excludes_mtp_layer_and_router_bias_buffer() -> None:
    config = load("deepseek-ai__DeepSeek-V3")
    got = meta_parameter_count(config)
    assert got is not None and got.architecture == "DeepseekV3ForCausalLM"
    assert round(got.total / 1e9) == 671  # "671B + 14B MTP": layer 61 is not built
    assert any("multi-token-prediction" in n for n in got.notes)
    # e_score_correction_bias: 256 per MoE layer, a buffer in transformers, a tensor in the checkpoint.
    assert got.buffer_elements == 58 * 256
    assert got.total + got.buffer_elements == estimate_params_from_config(arch_facts(config))


@pytest.mark.usefixtures("backends")
def test_tied_head_counts_once_under_first_holder() -> None:
    got = meta_parameter_count(load("openai-community__gpt2"))
    assert got is not None and got.by_module == {"transformer": 124_439_808, "lm_head": 0}
    assert any("tied" in n for n in got.notes)


@pytest.mark.usefixtures("backends")
def test_checkpoint_class_is_built_when_transformers_has_it() -> None:
    classifier = ["LlamaForSequenceClassification"]
    got = meta_parameter_count({**load("TinyLlama__TinyLlama-1.1B-Chat-v1.0"), "architectures": classifier})
    assert got is not None and got.architecture == "LlamaForSequenceClassification"
    assert got.total == 1_100_048_384 - 32000 * 2048 + 2 * 2048  # score head (2 labels) instead of lm_head


@pytest.mark.usefixtures("backends")
def test_unknown_architecture_name_falls_back_to_auto_class() -> None:
    got = meta_parameter_count({**load("Qwen__Qwen2-0.5B"), "architectures": ["NoSuchForCausalLM"]})
    assert got is not None and got.architecture == "Qwen2ForCausalLM" and got.total == 494_032_768
    assert any("AutoModelForCausalLM" in n for n in got.notes)


@pytest.mark.usefixtures("backends")
def test_encoder() -> None:
    got = meta_parameter_count(BERT_BASE)
    assert got is not None and (got.architecture, got.total) == ("BertModel", 109_482_240)


@pytest.mark.usefixtures("backends")
def test_quantized_config_counts_logical_parameters() -> None:
    got = meta_parameter_count(load("Qwen__Qwen3-30B-A3B-FP8"))
    plain = meta_parameter_count(load("Qwen__Qwen3-30B-A3B"))
    assert got is not None and plain is not None and got.total == plain.total == 30_532_122_624
    assert any("quantization_config" in n for n in got.notes)


@pytest.mark.usefixtures("backends")
@pytest.mark.parametrize(
    "config",
    [
        {"model_type": "no_such_model_type", "hidden_size": 8},
        {"hidden_size": 8},  # no model_type
        {"model_type": "llama", "hidden_size": 7, "num_attention_heads": 2},  # hidden not divisible by heads
        "not a mapping",
    ],
)
def test_unbuildable_configs_give_none(config) -> None:
    assert meta_parameter_count(config) is None


@pytest.mark.usefixtures("backends")
def test_remote_code_only_model_type_gives_none() -> None:
    assert meta_parameter_count(load("microsoft__phi-2")) is None  # phi-msft exists only as repo code


@pytest.mark.usefixtures("backends")
def test_auto_map_never_runs_repo_code_but_native_class_counts() -> None:
    got = meta_parameter_count({**load("meta-llama__Llama-2-7b-hf"), "auto_map": {"AutoModel": "evil.Model"}})
    assert got is not None and got.total == 6_738_415_616
    assert any("auto_map" in n for n in got.notes)


@pytest.mark.usefixtures("backends")
def test_cache_is_keyed_on_canonical_json_and_hands_out_copies() -> None:
    config = {**load("google__gemma-2-2b"), "_probe": "cache"}
    first = meta_parameter_count(config)
    hits = meta_count._count_cached.cache_info().hits
    second = meta_parameter_count(dict(reversed(list(config.items()))))
    assert meta_count._count_cached.cache_info().hits == hits + 1
    assert first == second and first is not second
    assert isinstance(first, MetaCount)
    first.by_module["model"] = 0
    assert meta_parameter_count(config).by_module["model"] == 2_614_341_888


@pytest.mark.usefixtures("backends")
def test_offline_during_build_and_restored_after(monkeypatch) -> None:
    import huggingface_hub.constants as hub_constants

    seen = []
    real_build = meta_count._build

    def spy(*args):
        seen.append((os.environ.get("HF_HUB_OFFLINE"), hub_constants.HF_HUB_OFFLINE))
        return real_build(*args)

    monkeypatch.setattr(meta_count, "_build", spy)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    assert meta_parameter_count({**load("Qwen__Qwen2-0.5B"), "_probe": "offline"}) is not None
    assert seen == [("1", True)]
    assert (os.environ["HF_HUB_OFFLINE"], hub_constants.HF_HUB_OFFLINE) == ("0", False)


def test_none_when_torch_is_missing(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    assert meta_parameter_count({**load("Qwen__Qwen2-0.5B"), "_probe": "no torch"}) is None


def test_importing_the_module_imports_neither_torch_nor_transformers() -> None:
    heavy = "{'torch', 'transformers'}"
    code = f"import sys, cardscan.parse.meta_count; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
