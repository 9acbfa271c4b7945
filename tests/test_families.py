"""parse/families.py: the table's invariants, one test per fact, and the table checked against transformers' own
config classes when transformers is installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cardscan.parse import families
from cardscan.parse.config import active_parameters, arch_facts, expert_params, expert_size
from cardscan.parse.families import (
    ALIASES,
    FAMILIES,
    alias_keys,
    family,
    gated_mlp,
    lookup,
    tied_default,
)

CONFIGS = Path(__file__).parent / "fixtures" / "configs"


def facts(name: str):
    return arch_facts(json.loads((CONFIGS / f"{name}.json").read_text()))


# --- table invariants --------------------------------------------------------------------------------------------


def test_rows_keyed_by_their_model_type_and_unique() -> None:
    rows = families._rows()
    assert len({r.model_type for r in rows}) == len(rows)
    assert all(FAMILIES[r.model_type] == r for r in rows)


@pytest.mark.parametrize("row", FAMILIES.values(), ids=lambda r: r.model_type)
def test_every_row_cites_its_transformers_source(row: families.Family) -> None:
    assert row.source and row.url.startswith("https://github.com/huggingface/transformers/")


@pytest.mark.parametrize("row", FAMILIES.values(), ids=lambda r: r.model_type)
def test_trust_fields_agree(row: families.Family) -> None:
    """Exact rows claim no error; approximate rows state a bound and why; rows without a formula say why."""
    if row.formula is None:
        assert not row.exact and row.expected_error is None and row.note
    elif row.exact:
        assert row.expected_error is None
    else:
        assert row.expected_error is not None and 0 < row.expected_error <= 0.05 and row.note


def test_formula_names_are_known() -> None:
    assert {r.formula for r in FAMILIES.values()} <= {"decoder", "opt", "t5", "encoder", None}


def test_same_as_points_at_rows() -> None:
    assert all(target in FAMILIES for target in families.SAME_AS.values())
    assert family("gemma3") is FAMILIES["gemma3_text"]


# --- one test per fact -------------------------------------------------------------------------------------------


def test_tied_defaults() -> None:
    assert tied_default("llama") is False and tied_default("gemma") is True
    assert tied_default("falcon") is True and tied_default("bloom") is True  # PretrainedConfig default kept
    assert tied_default("gptj") is False and tied_default("gpt_neox") is False
    assert tied_default("unknown-family") is None and tied_default(None) is None


def test_gated_mlp() -> None:
    assert gated_mlp("llama") and gated_mlp("qwen3_moe") and gated_mlp("cohere")
    for ungated in ("gpt2", "gpt_neox", "gptj", "falcon", "bloom", "starcoder2", "bert", "phi"):
        assert not gated_mlp(ungated), ungated
    assert gated_mlp("never-heard-of-it")  # Llama-style unless the table says otherwise


def test_aliases_read_bloom_falcon_t5_spellings() -> None:
    bloom = {"n_embed": 14336, "n_layer": 70, "n_head": 112}
    assert (lookup(bloom, "hidden_size"), lookup(bloom, "num_hidden_layers")) == (14336, 70)
    assert lookup(bloom, "num_attention_heads") == 112
    assert lookup({"num_kv_heads": 8}, "num_key_value_heads") == 8  # falcon
    assert lookup({"ffn_hidden_size": 13696}, "intermediate_size") == 13696  # falcon, chatglm
    assert lookup({"d_kv": 64}, "head_dim") == 64  # t5
    assert lookup({"moe_k": 8}, "experts_per_token") == 8  # ernie


def test_first_alias_wins() -> None:
    assert lookup({"hidden_size": 1, "n_embd": 2}, "hidden_size") == 1
    assert lookup({"hidden_size": None, "n_embd": 2}, "hidden_size") == 2
    assert alias_keys("not-an-alias") == ("not-an-alias",)


def test_bias_switches_per_family() -> None:
    assert FAMILIES["falcon"].bias_keys["bias"] == ("qkv_bias", "o_bias", "mlp_bias")
    assert FAMILIES["starcoder2"].bias_keys["use_bias"] == ("qkv_bias", "o_bias", "mlp_bias")
    assert FAMILIES["stablelm"].bias_keys["use_qkv_bias"] == ("qkv_bias",)
    assert families.BIAS_KEYS["attention_bias"] == ("qkv_bias", "o_bias")


def test_block_facts() -> None:
    assert FAMILIES["bloom"].block.embed_norm and FAMILIES["bloom"].block.norm_bias
    assert FAMILIES["gemma2"].block.norms_per_layer == 4 and FAMILIES["cohere"].block.norms_per_layer == 1
    assert FAMILIES["qwen3"].block.qk_norm == "head" and FAMILIES["olmo2"].block.qk_norm == "full"
    assert FAMILIES["gptj"].block.lm_head_bias and FAMILIES["gpt2"].block.learned_positions
    assert FAMILIES["qwen2_moe"].block.shared_expert_gate and FAMILIES["gpt_oss"].block.expert_bias


def test_expert_params_and_active_mixtral() -> None:
    f = facts("mistralai__Mixtral-8x7B-v0.1")
    assert expert_size(f) == 3 * 4096 * 14336
    assert expert_params(f) == 32 * 8 * 3 * 4096 * 14336
    # Mistral's announcement: 46.7B total, 12.9B used per token.
    assert active_parameters(f, 46_702_792_704) == 12_879_925_248


def test_active_qwen3_moe_and_gpt_oss_with_expert_biases() -> None:
    qwen = facts("Qwen__Qwen3-30B-A3B")
    assert 3.3e9 <= active_parameters(qwen, 30_532_122_624) < 3.4e9  # model card: "30.5B total, 3.3B activated"
    oss = facts("openai__gpt-oss-20b")
    assert expert_size(oss) == 3 * 2880 * 2880 + 2 * 2880 + 2880  # gate_up + down, with biases
    active = active_parameters(oss, 20_914_757_184)
    assert active == 4_187_440_704
    # OpenAI's model card says "3.6B active": its figure leaves out the embedding table.
    assert round((active - oss.vocab_size * oss.hidden_size) / 1e9, 2) == 3.61


def test_dense_model_has_no_active_count() -> None:
    f = facts("meta-llama__Llama-3.1-8B")
    assert expert_params(f) == 0 and active_parameters(f, 8_030_261_248) is None
    assert active_parameters(facts("mistralai__Mixtral-8x7B-v0.1"), None) is None


def test_mtp_and_expert_keys() -> None:
    assert "num_nextn_predict_layers" in families.MTP_KEYS
    assert set(ALIASES["num_experts"]) >= {"num_local_experts", "num_experts", "n_routed_experts"}


# --- against transformers' own config classes (skipped without transformers) ----------------------------------


def _transformers_config(model_type: str):
    transformers = pytest.importorskip("transformers")
    if model_type not in transformers.CONFIG_MAPPING:
        pytest.skip(f"{model_type} not in this transformers")
    return transformers.CONFIG_MAPPING[model_type]()


NATIVE = sorted(t for t, r in FAMILIES.items() if r.source == r.model_type.replace("-", "_") or t == "gemma3_text")


@pytest.mark.parametrize("model_type", NATIVE)
def test_tied_default_matches_transformers(model_type: str) -> None:
    cfg = _transformers_config(model_type)
    assert tied_default(model_type) is bool(cfg.tie_word_embeddings)


@pytest.mark.parametrize("model_type", NATIVE)
def test_attribute_map_spellings_are_aliases(model_type: str) -> None:
    """Every key transformers' attribute_map maps a canonical attribute to is one we read for that attribute."""
    cfg = _transformers_config(model_type)
    for canonical, key in getattr(cfg, "attribute_map", {}).items():
        if canonical in ALIASES:
            assert key in alias_keys(canonical), (model_type, canonical, key)


# Exact rows with no real config in the corpus, checked on transformers' default config of that type instead.
DEFAULT_CHECKED = {"phi": "PhiForCausalLM", "mt5": "MT5ForConditionalGeneration", "opt": "OPTForCausalLM"}
# opt-350m's layout: word embeddings of 512 projected in and out of the 1024-wide post-norm decoder.
OPT_350M = {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "ffn_dim": 4096,
            "word_embed_proj_dim": 512, "do_layer_norm_before": False}  # fmt: skip


@pytest.mark.parametrize(
    ("model_type", "architecture", "changes"),
    [*((t, a, {}) for t, a in DEFAULT_CHECKED.items()), ("opt", "OPTForCausalLM", OPT_350M)],
)
def test_exact_on_transformers_default_config(model_type: str, architecture: str, changes: dict) -> None:
    cfg = _transformers_config(model_type).to_dict()
    cfg.update(model_type=model_type, architectures=[architecture], **changes)
    from cardscan.parse.config import count_from_config
    from cardscan.parse.meta_count import meta_parameter_count

    meta = meta_parameter_count(cfg)
    if meta is None:
        pytest.skip("torch not installed")
    count = count_from_config(cfg)
    assert count.exact and count.total == meta.total + meta.buffer_elements


def test_config_defaults_fill_omitted_keys() -> None:
    """FalconConfig and GPTBigCodeConfig default multi_query to True: a config that omits it has one KV head."""
    falcon = {"model_type": "falcon", "hidden_size": 4544, "num_attention_heads": 71, "num_hidden_layers": 32,
              "vocab_size": 65024}  # fmt: skip
    assert arch_facts(falcon).num_kv_heads == 1 and arch_facts(falcon).norms_per_layer == 1
    assert arch_facts({**falcon, "multi_query": False}).num_kv_heads == 71
    bigcode = {"model_type": "gpt_bigcode", "n_embd": 2048, "n_head": 16, "n_layer": 24, "vocab_size": 49280}
    assert arch_facts(bigcode).num_kv_heads == 1


@pytest.mark.parametrize("extra", [{}, {"multi_query": False, "parallel_attn": False}])
def test_falcon_defaults_match_transformers(extra: dict) -> None:
    pytest.importorskip("transformers")
    from cardscan.parse.config import count_from_config
    from cardscan.parse.meta_count import meta_parameter_count

    cfg = {"model_type": "falcon", "architectures": ["FalconForCausalLM"], "hidden_size": 256,
           "num_attention_heads": 4, "num_hidden_layers": 2, "vocab_size": 1000, **extra}  # fmt: skip
    meta = meta_parameter_count(cfg)
    if meta is None:
        pytest.skip("torch not installed")
    assert count_from_config(cfg).total == meta.total


FORMULA_ROWS = sorted(t for t, r in FAMILIES.items() if r.formula is not None and t != "phi-msft")


@pytest.mark.parametrize("model_type", FORMULA_ROWS)
def test_formula_agrees_with_transformers_on_its_default_config(model_type: str) -> None:
    """Beyond the real-config corpus: the default config of every type with a formula (the architecture its config
    class documents) is exact where the row says exact, within the bound where it says approximate."""
    cfg = _transformers_config(model_type).to_dict()
    cfg["model_type"] = model_type
    cfg.pop("architectures", None)
    from cardscan.parse.config import count_from_config
    from cardscan.parse.meta_count import meta_parameter_count

    meta = meta_parameter_count(cfg)
    if meta is None:
        pytest.skip("torch not installed")
    truth = meta.total + meta.buffer_elements
    count = count_from_config(cfg)
    assert count.total is not None
    if count.exact:
        assert count.total == truth
    else:
        assert abs(count.total - truth) / truth <= (count.expected_error or 0)
