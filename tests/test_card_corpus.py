"""The card parser on real model cards (tests/fixtures/cards/corpus, sources in tests/fixtures/cards/README.md): one
test per class of text that is *not* a claim about the repo's own model, the agreement rows built on top, and the
precision/recall goals measured by bench/card_eval.py over the whole labelled corpus."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from cardscan.parse import quant_formats
from cardscan.parse.card import CardInfo, compare, parse_card

CARDS = Path(__file__).parent / "fixtures" / "cards"
LABELS = json.loads((CARDS / "labels.json").read_text())
B, M = 10**9, 10**6


def real(repo_id: str, *, with_name: bool = True) -> CardInfo:
    """Parse the corpus card of `repo_id` from its bytes (with the repo id, as a Hub scan passes it)."""
    return parse_card((CARDS / "corpus" / LABELS[repo_id]["file"]).read_bytes(), repo_id if with_name else None)


def values(info: CardInfo, fld: str) -> set:
    return {e.value for e in info.evidence if e.field == fld}


def agreement(info: CardInfo, **observed) -> dict[str, object]:
    """field → Agreement, with unknowns for whatever is not given."""
    args = {"parameters": None, "active": None, "dtypes": (), "quant_method": None, "quant_bits": None} | observed
    return {a.field: a for a in compare(info, **args)}


# ---- comparisons and bounds --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("repo_id", "total", "not_claimed"),
    [
        ("microsoft/phi-2", 2_700 * M, 13 * B),  # "among models with less than 13 billion parameters"
        ("upstage/SOLAR-10.7B-v1.0", 10_700 * M, 30 * B),  # "outperforms models with up to 30B parameters"
        ("mlabonne/Beyonder-4x7B-v2", 24_200 * M, 34 * B),  # "… (so ~12B) vs. 34B param"
        ("clibrain/lince-zero", 7 * B, 40 * B),  # "the robust 40B parameters version called LINCE"
        ("EleutherAI/llemma_7b", 7 * B, 34 * B),  # "also comes in a 34B parameter version"
    ],
)
def test_comparisons_and_bounds_are_not_claims(repo_id: str, total: int, not_claimed: int) -> None:
    info, nameless = real(repo_id), real(repo_id, with_name=False)
    assert info.parameters == total and nameless.parameters in (None, total)
    assert not_claimed not in values(info, "parameters") | values(nameless, "parameters")
    assert not_claimed in values(nameless, "other_parameters")  # kept as evidence


def test_comparison_tables_and_other_models_moe_names_are_not_claims() -> None:
    info = real("upstage/SOLAR-10.7B-v1.0")  # a table row "| mistralai/Mixtral-8x7B-v0.1 | 68.42 | ~ 46.7B |"
    assert (info.parameters, info.experts) == (10_700 * M, None)
    assert 46_700 * M not in values(info, "parameters")


# ---- family cards ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("repo_id", ["openai/gpt-oss-120b", "RedHatAI/gpt-oss-120b"])
def test_family_card_picks_this_size_and_its_own_active_count(repo_id: str) -> None:
    # "gpt-oss-120b — … (117B parameters with 5.1B active parameters)" / "gpt-oss-20b — … (21B … 3.6B active …)"
    info = real(repo_id)
    assert (info.parameters, info.active_parameters) == (117 * B, 5_100 * M)
    assert info.source_of("parameters") == "text" and info.source_of("active_parameters") == "text"
    assert {21 * B} <= values(info, "parameters") and 3_600 * M in values(info, "active_parameters")


@pytest.mark.parametrize(
    ("repo_id", "total"),
    [
        ("codellama/CodeLlama-34b-hf", 34 * B),  # "available in sizes of 7B, 13B and 34B parameters"
        ("meta-llama/Llama-2-13b-hf", 13 * B),  # "from 7 billion to 70 billion parameters"
        ("deepseek-ai/deepseek-coder-6.7b-base", 6_700 * M),  # "Offered in model sizes of 1.3B, 5.7B, 6.7B, and 33B"
        ("Voicelab/trurl-2-13b", 13 * B),  # "with 7 billion and 13 billion parameters"
    ],
)
def test_family_size_lists_do_not_override_this_size(repo_id: str, total: int) -> None:
    assert real(repo_id).parameters == total
    assert real(repo_id, with_name=False).parameters in (None, total)  # a list member is never taken for it


# ---- key-value lines and tables ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("repo_id", "total", "line"),
    [
        ("LumiOpen/Poro-34B", 34_200 * M, "n_parameters: 34.2B"),  # `| n_parameters | 34.2B |`
        ("cyberagent/calm2-7b-chat", 7 * B, "Model size: 7B"),  # `* **Model size**: 7B`
        ("DeepHat/DeepHat-V1-7B", 7_610 * M, "Number of Parameters: 7.61B"),
        ("Qwen/Qwen3-4B-MLX-4bit", 4 * B, "Number of Parameters: 4.0B"),
    ],
)
def test_key_value_lines_and_two_column_rows(repo_id: str, total: int, line: str) -> None:
    info = real(repo_id)
    assert info.parameters == total and line in next(e.text for e in info.chosen if e.field == "parameters")


def test_wide_tables_are_not_read_for_counts() -> None:
    # bartowski's boilerplate benchmark table: "| qwen2 3B Q4_0 | 1.70 GiB | 3.09 B | CPU | …"
    for repo_id in ("bartowski/openai_gpt-oss-20b-GGUF", "bartowski/zerofata_GLM-4.5-Iceblink-106B-A12B-GGUF"):
        info = real(repo_id)
        assert 3_090 * M not in values(info, "parameters") and 3 * B not in values(info, "parameters")
    # without the repo id the heading "Llamacpp imatrix Quantizations of gpt-oss-20b" still names the model
    assert real("bartowski/openai_gpt-oss-20b-GGUF", with_name=False).parameters == 20 * B


def test_counts_in_other_languages() -> None:
    info = real("Nanbeige/Nanbeige-16B-Base", with_name=False)  # "研发的160亿参数规模的大语言模型"
    assert info.parameters == 16 * B
    assert any("160亿参数" in e.text for e in info.evidence if e.field == "parameters")


# ---- active counts -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("repo_id", "total", "active"),
    [
        ("bartowski/zerofata_GLM-4.5-Iceblink-106B-A12B-GGUF", 106 * B, 12 * B),
        ("RedHatAI/Qwen3.8-2.4T-A95B-NVFP4", 2_400 * B, 95 * B),  # a T-sized total
        ("nchapman/Qwen3.6-35B-A3B-int4-AutoRound", 35 * B, 3 * B),
    ],
)
def test_active_counts_in_names(repo_id: str, total: int, active: int) -> None:
    info = real(repo_id)
    assert (info.parameters, info.active_parameters) == (total, active)
    assert info.source_of("active_parameters") == "name"


def test_active_count_in_a_lower_case_name_and_alone() -> None:
    assert parse_card(None, "Qwen/Qwen1.5-MoE-A2.7B").active_parameters == 2_700 * M
    assert parse_card(None, "ibm-granite/granite-3.0-3b-a800m-instruct").active_parameters == 800 * M


def test_active_count_in_text_refines_the_name() -> None:
    info = real("Qwen/Qwen3-235B-A22B-FP8")  # "Number of Parameters: 235B in total and 22B activated"
    assert (info.parameters, info.active_parameters) == (235 * B, 22 * B)
    assert info.non_embedding_parameters == 234 * B


# ---- NxM names ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("repo_id", "total", "experts"),
    [
        ("TomGrc/FusionNet_34Bx2_MoE", 60_800 * M, 2),  # card: "has 60.8B parameters" (not 2×34B)
        ("cloudyu/Mixtral_34Bx2_MoE_60B", 60 * B, 2),  # the name states the total too
        ("cloudyu/Mixtral_11Bx2_MoE_19B", 19 * B, 2),
        ("mlabonne/Beyonder-4x7B-v2", 24_200 * M, 4),
        ("Steelskull/Lumosia-MoE-4x10.7", None, 4),
        ("Weyaxi/Helion-4x34B", None, 4),
        ("mistralai/Mixtral-8x7B-v0.1", None, 8),
    ],
)
def test_nxm_names_are_experts_not_totals(repo_id: str, total: int | None, experts: int) -> None:
    info = real(repo_id)
    assert (info.parameters, info.experts) == (total, experts)


def test_nxm_total_left_unknown_in_agreement() -> None:
    row = agreement(real("mistralai/Mixtral-8x7B-v0.1"), parameters=46_702_792_704)["parameters"]
    assert row.status == "unknown" and "8x7B (experts × expert size), not a total" in row.note


# ---- usage snippets ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "repo_id",
    [
        "google/gemma-2b",  # "Quantized Versions through `bitsandbytes`", "Using 8-bit precision (int8)"
        "mistralai/Mixtral-8x7B-v0.1",  # "Lower precision using (8-bit & 4-bit) using `bitsandbytes`"
        "cloudyu/Mixtral_34Bx2_MoE_60B",  # load_in_4bit=True in the example
        "BAAI/AquilaChat2-34B",  # BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4")
        "01-ai/Yi-34B",  # "two 8-bit models quantized by GPTQ, and two 4-bit models quantized by AWQ"
        "CausalLM/14B",  # "Thanks TheBloke for GGUF quants", "Unofficial GPTQ and AWQ models may have issues"
    ],
)
def test_how_to_load_quantized_is_not_a_claim(repo_id: str) -> None:
    info = real(repo_id)
    assert info.quantization is None and info.dtypes == ()
    rows = agreement(info, dtypes=("BF16",))
    assert rows["quantization"].status == "unknown" and rows["dtype"].status == "unknown"


# ---- tool/algorithm versus storage format ------------------------------------------------------------------


def test_gptq_run_through_llm_compressor_is_stored_as_compressed_tensors() -> None:
    # "The GPTQ algorithm is applied …, as implemented in the llm-compressor library"; tags: llmcompressor, INT4
    q = real("RedHatAI/Qwen3-32B-quantized.w4a16").quantization
    assert q is not None and (q.method, q.scheme, q.bits) == ("compressed-tensors", "int4", 4.0)
    assert q.tool in ("gptq", "llm-compressor")


def test_autoround_is_a_tool_not_a_storage_format() -> None:
    for repo_id in ("nchapman/Qwen3.6-35B-A3B-int4-AutoRound", "LeaderboardModel1/gemma-4-E4B-it-AutoRound-W4A16-RTN"):
        q = real(repo_id).quantization
        assert q is not None and (q.method, q.scheme, q.tool) == (None, "int4", "autoround")


def test_mlx_conversion_in_bf16_is_not_a_quantization() -> None:
    info = real("mlx-community/GLM-OCR-bf16")  # tags: mlx; "converted to MLX format"
    assert info.quantization is None and info.dtypes == ("bf16",)
    q = real("mlx-community/Kokoro-82M-6bit").quantization
    assert q is not None and (q.method, q.bits) == ("mlx", 6.0)


# ---- agreement: kinds of quantization, and who claims -------------------------------------------------------


@pytest.mark.parametrize("repo_id", ["openai/gpt-oss-120b", "RedHatAI/gpt-oss-120b"])
@pytest.mark.parametrize("method", ["mxfp4", "compressed-tensors"])  # native, and `format: mxfp4-pack-quantized`
def test_mxfp4_card_agrees_with_an_mxfp4_checkpoint_in_any_container(repo_id: str, method: str) -> None:
    rows = agreement(real(repo_id), parameters=116_829_156_672, dtypes=("mxfp4", "BF16"), quant_method=method,
                     quant_bits=4.0)  # fmt: skip
    assert rows["quantization"].status == "consistent", rows["quantization"].note
    assert rows["parameters"].status == "consistent"


@pytest.mark.parametrize(
    ("fixture", "repo_id", "status"),
    [
        ("ct_mxfp4a16", "openai/gpt-oss-120b", "consistent"),  # config format `mxfp4-pack-quantized`
        ("ct_nvfp4", "RedHatAI/GLM-5.3-Flash-NVFP4", "consistent"),
        ("ct_nvfp4", "openai/gpt-oss-120b", "differs"),  # nvfp4 weights, mxfp4 card
        ("ct_w4a16_g128", "RedHatAI/Qwen3-32B-quantized.w4a16", "consistent"),  # GPTQ via llm-compressor
        ("ct_w4a16_g128", "nchapman/Qwen3.6-35B-A3B-int4-AutoRound", "consistent"),
        ("ct_fp8_block", "neuralmagic-ent/DeepSeek-Coder-V2-Instruct-0724-FP8", "consistent"),
        ("ct_fp8_block", "RedHatAI/Qwen3-32B-quantized.w4a16", "differs"),  # int4 card, fp8 weights
    ],
)
def test_real_cards_against_real_compressed_tensors_headers(fixture: str, repo_id: str, status: str) -> None:
    """Headers and configs written by compressed-tensors itself (tests/fixtures/real_quant), counted as a scan does."""
    from cardscan.parse.params import count_parameters
    from cardscan.parse.safetensors import parse_header

    folder = Path(__file__).parent / "fixtures" / "real_quant" / fixture
    header = parse_header((folder / "model.safetensors.header").read_bytes(), file="model.safetensors")
    counted = count_parameters(
        header.tensors, json.loads((folder / "config.json").read_text()), metadata=header.metadata
    )
    assert counted.quantization is not None
    observed = sorted(counted.by_dtype, key=lambda k: -counted.by_dtype[k])  # as interpret.py hands them over
    row = agreement(real(repo_id), dtypes=observed, quant_method=counted.quantization.method,
                    quant_bits=counted.quantization.bits)["quantization"]  # fmt: skip
    assert row.status == status, row.note


def test_nvfp4_is_not_mxfp4() -> None:
    rows = agreement(real("RedHatAI/gpt-oss-120b"), dtypes=("nvfp4", "BF16"), quant_method="compressed-tensors",
                     quant_bits=4.0)  # fmt: skip
    assert rows["quantization"].status == "differs" and "mxfp4, weights are nvfp4" in rows["quantization"].note


def test_autoround_export_agrees_with_gptq_layout() -> None:
    # quant.py reads `quant_method: auto-round` (packing auto_round:auto_gptq) as the gptq layout
    rows = agreement(real("nchapman/Qwen3.6-35B-A3B-int4-AutoRound"), parameters=35_100 * M, active=3_000 * M,
                     dtypes=("int4", "BF16"), quant_method="gptq", quant_bits=4.0)  # fmt: skip
    assert {f: r.status for f, r in rows.items()} == {
        "parameters": "consistent", "active_parameters": "consistent", "dtype": "consistent",
        "quantization": "consistent",
    }  # fmt: skip


def test_a_real_format_mismatch_is_still_reported() -> None:
    info = real("RedHatAI/Qwen3-32B-quantized.w4a16")
    ok = agreement(info, dtypes=("int4", "BF16"), quant_method="compressed-tensors", quant_bits=4.0)
    bad = agreement(info, dtypes=("int4", "F16"), quant_method="awq", quant_bits=4.0)
    assert ok["quantization"].status == "consistent"
    assert bad["quantization"].status == "differs" and "weights are awq" in bad["quantization"].note


def test_claims_from_the_name_are_labelled_name() -> None:
    info = real("bartowski/openai_gpt-oss-20b-GGUF")  # the card body states no count; the name says 20b
    assert info.parameters == 20 * B and info.source_of("parameters") == "name"
    row = agreement(info, parameters=120 * B)["parameters"]
    assert row.status == "differs" and row.claimed_by == "name" and row.note.startswith("name says 20B")
    card_row = agreement(real("Qwen/Qwen3-4B-MLX-4bit"), parameters=4_022_468_096)["parameters"]
    assert card_row.claimed_by == "card" and card_row.status == "consistent"


def test_no_claim_means_no_claimant() -> None:
    rows = agreement(real("sentence-transformers/all-MiniLM-L6-v2"), parameters=22_713_216, dtypes=("F32",))
    assert all(r.claimed_by is None for r in rows.values())  # "1B sentence pairs" is a dataset size


# ---- one home per fact -------------------------------------------------------------------------------------


def test_card_vocabulary_uses_the_quant_formats_names() -> None:
    from cardscan.parse.card import _WORDS

    methods = set(quant_formats.METHOD_ALIASES.values()) | {"gguf"}
    assert {w.method for w in _WORDS.values() if w.method} <= methods
    assert {w.tool for w in _WORDS.values() if w.tool} <= set(quant_formats.TOOL_FORMATS)


# ---- the measured goals ------------------------------------------------------------------------------------


def _card_eval():
    spec = importlib.util.spec_from_file_location("card_eval", Path(__file__).parents[1] / "bench" / "card_eval.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_corpus_precision_and_recall_goals() -> None:
    assert len(LABELS) >= 100
    scores = _card_eval().evaluate()
    for fld, s in scores.items():
        assert s.claimed, f"{fld}: no claims made on the corpus"
        assert s.precision() >= 0.98, f"{fld}: precision {s.precision():.3f}; wrong: {s.wrong}"
    assert scores["parameters"].recall() >= 0.9, scores["parameters"].missed
