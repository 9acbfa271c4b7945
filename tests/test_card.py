"""Model-card and repo-name hints (cardscan.parse.card): phrases as real cards write them (Qwen "Number of Paramaters",
DeepSeek "671B total parameters", gguf-py size labels); the corpus of real cards is tested in test_card_corpus.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardscan.parse.card import CardInfo, CardQuant, Evidence, compare, parse_card

CARDS = Path(__file__).parent / "fixtures" / "cards"
B, M = 10**9, 10**6


def card(name: str, repo_id: str | None = None, **kw) -> CardInfo:
    """Parse a fixture card from its raw bytes, as the fetcher would hand them over."""
    return parse_card((CARDS / name).read_bytes(), repo_id, **kw)


def q(method: str | None, bits: float | None, scheme: str | None = None, tool: str | None = None,
      source: str = "name") -> CardQuant:  # fmt: skip
    """A CardQuant, read from the repo name unless said otherwise."""
    return CardQuant(method, bits, scheme, tool, source)


def sources(info: CardInfo, field: str) -> set[str]:
    """Where the hints for one field came from."""
    return {e.source for e in info.evidence if e.field == field}


# ---- phrases as cards write them ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("Number of Parameters: 235B in total and 22B activated", "parameters", 235 * B),
        ("Number of Parameters: 235B in total and 22B activated", "active_parameters", 22 * B),
        ("Number of Paramaters (Non-Embedding): 6.53B", "non_embedding_parameters", 6_530_000_000),
        ("- Number of Parameters: 7.61B", "parameters", 7_610_000_000),
        ("**Number of Parameters**: 0.6B", "parameters", 600 * M),
        ("7 billion parameters", "parameters", 7 * B),
        ("671B total parameters", "parameters", 671 * B),
        ("37B activated for each token", "active_parameters", 37 * B),
        ("5.1B active parameters", "active_parameters", 5_100_000_000),
        ("1.6 trillion total parameters, of which 49 billion activate", "parameters", 1_600 * B),
        ("1.6 trillion total parameters, of which 49 billion activate", "active_parameters", 49 * B),
        ("Model size: 1.1B params", "hub_model_size", 1_100 * M),
        ("a 1,000 million parameter model", "parameters", 1 * B),
        ("a 135M-parameter model", "parameters", 135 * M),
    ],
)
def test_spec_strings(text: str, field: str, value: int) -> None:
    assert getattr(parse_card(text), field) == value


def test_range_is_evidence_not_a_total() -> None:
    info = parse_card("ranging in scale from 7 billion to 70 billion parameters.")
    assert info.parameters is None
    assert [e.value for e in info.evidence if e.field == "parameters_range"] == [(7 * B, 70 * B)]


def test_hub_model_size_is_not_taken_as_the_total() -> None:
    info = parse_card("Model size: 1.1B params")
    assert info.parameters is None and info.hub_model_size == 1_100 * M


# ---- repo-name hints ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("repo_id", "expected"),
    [
        ("meta-llama/Llama-2-7b-hf", {"parameters": 7 * B}),
        ("meta-llama/Llama-3.1-8B", {"parameters": 8 * B}),
        ("HuggingFaceTB/SmolLM2-135M", {"parameters": 135 * M}),
        ("TinyLlama/TinyLlama-1.1B-Chat-v1.0", {"parameters": 1_100 * M}),
        ("bigscience/bloom-7b1", {"parameters": 7_100 * M}),
        ("Qwen/Qwen3-30B-A3B", {"parameters": 30 * B, "active_parameters": 3 * B}),
        ("Qwen/Qwen3-235B-A22B", {"parameters": 235 * B, "active_parameters": 22 * B}),
        ("mistralai/Mixtral-8x7B-v0.1", {"parameters": None, "experts": 8, "expert_size": 7 * B}),
        ("mistralai/Mixtral-8x22B-v0.1", {"parameters": None, "experts": 8, "expert_size": 22 * B}),
        ("google/gemma-3n-E2B-it", {"parameters": None, "effective_parameters": 2 * B}),
        ("Qwen/Qwen2.5-7B-Instruct-1M", {"parameters": 7 * B}),
        ("microsoft/Phi-3-mini-128k-instruct", {"parameters": None}),
        ("deepseek-ai/DeepSeek-V3", {"parameters": None}),
    ],
)
def test_name_sizes(repo_id: str, expected: dict) -> None:
    info = parse_card(None, repo_id)
    assert {k: getattr(info, k) for k in expected} == expected
    assert not info.present


@pytest.mark.parametrize(
    ("repo_id", "quant", "dtypes"),
    [
        ("TheBloke/Llama-2-7B-GPTQ", q("gptq", None, tool="gptq"), ()),
        ("Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4", q("gptq", 4.0, "int4", "gptq"), ("int4",)),
        ("Qwen/Qwen2.5-7B-Instruct-AWQ", q("awq", None, tool="awq"), ()),
        ("unsloth/llama-3-8b-bnb-4bit", q("bitsandbytes", 4.0), ("int4",)),
        ("Qwen/Qwen3-32B-FP8", q(None, 8.0, "fp8"), ("fp8",)),
        ("bartowski/Meta-Llama-3.1-8B-Instruct-GGUF", q("gguf", None), ()),
        ("org/Llama-3-8B-exl2-4.65bpw", q("exl2", 4.65), ()),
        ("org/Llama-3-8B-int4", q(None, 4.0, "int4"), ("int4",)),
        ("mlx-community/Qwen3-8B-4bit", q(None, 4.0), ("int4",)),
        ("mlx-community/GLM-OCR-bf16", None, ("bf16",)),
        ("nchapman/Qwen3.6-35B-A3B-int4-AutoRound", q(None, 4.0, "int4", "autoround"), ("int4",)),
        ("RedHatAI/Meta-Llama-3.1-8B-Instruct-quantized.w4a16", q(None, 4.0, "int4"), ("int4",)),
        ("meta-llama/Llama-2-7b-hf", None, ()),
    ],
)
def test_name_quantization(repo_id: str, quant: CardQuant | None, dtypes: tuple) -> None:
    info = parse_card(None, repo_id)
    assert info.quantization == quant
    assert info.quantization is None or info.source_of("quantization") == "name"
    assert info.dtypes == dtypes
    assert sources(info, "quant_method") <= {"name"}


# ---- fixture cards -----------------------------------------------------------------------------------------


def test_llama2_card() -> None:
    info = card("llama2_7b.md", "meta-llama/Llama-2-7b-hf")
    assert info.present and info.parameters == 7 * B
    assert (info.license, info.pipeline_tag) == ("llama2", "text-generation")
    assert "llama-2" in info.tags
    assert info.quantization is None and info.dtypes == ()
    assert sources(info, "parameters") == {"name"}  # the 13B/70B table rows are not read
    assert sources(info, "parameters_range") == {"text"}
    assert not info.warnings


def test_llama2_card_without_repo_id_claims_no_total() -> None:
    assert card("llama2_7b.md").parameters is None


def test_qwen3_moe_card_prefers_precise_bullets_over_the_name() -> None:
    info = card("qwen3_30b_a3b.md", "Qwen/Qwen3-30B-A3B")
    assert (info.parameters, info.active_parameters) == (30_500 * M, 3_300 * M)
    assert info.non_embedding_parameters == 29_900 * M
    assert info.base_model == "Qwen/Qwen3-30B-A3B-Base"
    assert sources(info, "parameters") == {"name", "text"}
    assert info.source_of("parameters") == "text"  # the precise bullet, not the name's rounded label
    # The flagship 235B-A22B named in the text is another model: not a claim about this one.
    assert 235 * B not in {e.value for e in info.evidence if e.field == "parameters"}


def test_qwen3_card_code_blocks_and_context_lengths_ignored() -> None:
    info = card("qwen3_30b_a3b.md")
    values = {e.value for e in info.evidence if e.field == "parameters"}
    assert 72 * B not in values  # inside a fenced code block
    assert 128_000 not in values and 32_768 not in values
    assert info.dtypes == ()  # "bf16" only appears inside the code block


def test_deepseek_v3_prose_picks_the_total_nearest_the_name() -> None:
    info = card("deepseek_v3.md", "deepseek-ai/DeepSeek-V3")
    assert (info.parameters, info.active_parameters) == (671 * B, 37 * B)
    totals = {e.value for e in info.evidence if e.field == "parameters"}
    others = {e.value for e in info.evidence if e.field == "other_parameters"}
    assert totals == {671 * B} and {236 * B, 67 * B} <= others  # "our previous model", "compared against"
    assert all(len(e.text) <= 120 for e in info.evidence)


def test_thebloke_gptq_card() -> None:
    info = card("thebloke_llama2_7b_gptq.md", "TheBloke/Llama-2-7B-GPTQ")
    assert info.parameters == 7 * B
    assert info.quantization == q("gptq", None, tool="gptq")
    assert info.base_model == "meta-llama/Llama-2-7b-hf"
    assert info.base_model_relation == "quantized" and info.quantized_by == "TheBloke"
    assert sources(info, "parameters") == {"name", "yaml"}  # repo name, model_name (the heading repeats the name)
    assert sources(info, "quant_method") <= {"name", "text"}


def test_bartowski_gguf_card() -> None:
    info = card("bartowski_llama31_8b_gguf.md", "bartowski/Meta-Llama-3.1-8B-Instruct-GGUF")
    assert info.parameters == 8 * B
    assert info.quantization == q("gguf", None, tool="llama.cpp", source="text")  # tool from the heading
    assert {"Q8_0", "Q6_K_L", "Q4_K_M", "IQ4_XS", "Q3_K_XL"} <= set(info.gguf_types)
    assert info.base_model_relation == "quantized" and info.quantized_by == "bartowski"
    assert info.dtypes == ()  # "Full F32 weights" sits in a table row
    assert len([e for e in info.evidence if e.field == "gguf_type" and e.value == "Q8_0"]) == 1


def test_gguf_card_recognised_from_text_alone() -> None:
    info = card("bartowski_llama31_8b_gguf.md")
    assert info.quantization == q("gguf", None, tool="llama.cpp", source="text")  # "Llamacpp imatrix Quantizations of"
    assert sources(info, "quant_method") == {"text"}


def test_mixtral_card_keeps_experts_not_a_total() -> None:
    info = card("mixtral_8x7b.md", "mistralai/Mixtral-8x7B-v0.1")
    assert (info.parameters, info.experts, info.expert_size) == (None, 8, 7 * B)
    assert info.quantization is None  # load_in_4bit only inside a code block
    assert 70 * B not in {e.value for e in info.evidence}  # "Llama 2 70B" comparison


def test_crlf_card() -> None:
    info = card("crlf.md")
    assert b"\r\n" in (CARDS / "crlf.md").read_bytes()
    assert info.license == "mit" and info.library_name == "transformers"
    assert (info.base_model, info.base_model_relation) == ("acme/base-3b", "finetune")
    assert info.parameters == 3 * B and info.dtypes == ("bf16",)
    assert not info.warnings


def test_bom_card() -> None:
    assert (CARDS / "bom.md").read_bytes().startswith(b"\xef\xbb\xbf")
    for text in ((CARDS / "bom.md").read_bytes(), "\ufeff" + (CARDS / "bom.md").read_text("utf-8-sig")):
        info = parse_card(text)
        assert info.license == "apache-2.0" and info.library_name == "gguf"
        assert (info.base_model, info.base_model_relation) == ("acme/widget-1.5B", "quantized")
        assert info.quantization == q("gguf", None, source="yaml") and info.gguf_types == ("Q4_K_M", "Q8_0")
        assert info.parameters == 1_500 * M
        assert not info.warnings


def test_broken_yaml_warns_and_uses_text() -> None:
    info = card("broken_yaml.md")
    assert info.license is None
    assert len(info.warnings) == 1 and info.warnings[0].startswith("YAML front matter is not valid")
    assert "text hints still used" in info.warnings[0]
    assert info.parameters == 7 * B and info.quantization == q("gptq", 4.0, tool="gptq", source="text")
    assert sources(info, "quant_method") == {"text"}


def test_broken_yaml_falls_back_to_hub_card_data() -> None:
    hub = {"license": "apache-2.0", "base_model": "acme/foo-7b", "tags": ["gptq", "4-bit"]}
    info = card("broken_yaml.md", hub_card_data=hub)
    assert (info.license, info.base_model, info.tags) == ("apache-2.0", "acme/foo-7b", ("gptq", "4-bit"))
    assert sources(info, "quant_method") == {"yaml", "text"}
    assert "cardData" in info.warnings[0]


def test_list_front_matter_warns() -> None:
    info = card("list_front_matter.md")
    assert "front matter is a list, not a mapping" in info.warnings[0]
    assert info.parameters == 13 * B and info.dtypes == ("bf16",)
    assert 32_000 not in {e.value for e in info.evidence}


def test_no_front_matter() -> None:
    info = card("no_front_matter.md")
    assert info.present and info.warnings == ("card has no YAML front matter; text hints only",)
    assert info.parameters is None and info.hub_model_size == 1_100 * M
    assert info.dtypes == ("fp32",)
    values = {e.value for e in info.evidence}
    assert 1 * M not in values and 3_100 * M not in values  # "1M tokens", "version 3.1"


def test_no_card_at_all() -> None:
    info = parse_card(None)
    assert info == CardInfo(present=False)


def test_hub_card_data_used_without_a_card() -> None:
    info = parse_card(None, "org/x", hub_card_data={"license": "mit", "tags": ["base_model:adapter:org/base"]})
    assert (info.license, info.base_model, info.base_model_relation) == ("mit", "org/base", "adapter")


def test_invalid_utf8_does_not_raise() -> None:
    assert parse_card(b"---\nlicense: mit\n---\n# Foo 7B \xff\xfe").parameters == 7 * B


# ---- false positives ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Supports a 128k context window.",
        "Context length: 32K tokens, extended to 1M tokens.",
        "# Long context model 1M tokens",
        "Released 2024-07-23. Version 3.1 of the family.",
        "See https://example.com/models/llama-7b-parameters for details.",
        "```\nprint('70B parameters')\n```",
        "| Llama-2-13B | 13B parameters | 4k |",
    ],
)
def test_no_parameter_false_positives(text: str) -> None:
    info = parse_card(text)
    assert info.parameters is None
    assert not [e for e in info.evidence if e.field == "parameters"]


def test_version_number_is_not_a_size() -> None:
    info = parse_card("# Llama 3.1 8B Instruct\n\nThe Llama 3.1 collection.")
    assert info.parameters == 8 * B
    assert {e.value for e in info.evidence if e.field == "parameters"} == {8 * B}


def test_precision_words_need_context() -> None:
    assert parse_card("We compared against int8 baselines and fp16 chat logs.").dtypes == ()
    assert parse_card("The weights are stored in bfloat16.").dtypes == ("bf16",)
    assert parse_card("Quantized to 8-bit with nf4 fallback.").dtypes == ("int8",)


def test_ambiguous_text_quant_methods_are_not_chosen() -> None:
    info = parse_card("Community quantized versions exist: GPTQ and AWQ weights.")
    assert info.quantization is None
    assert not [e for e in info.evidence if e.field.startswith("quant")]


def test_evidence_shape() -> None:
    info = card("deepseek_v3.md")
    assert all(isinstance(e, Evidence) and e.source in ("yaml", "text", "name") for e in info.evidence)
    assert len(set(info.evidence)) == len(info.evidence)


# ---- compare -----------------------------------------------------------------------------------------------


def agree(info: CardInfo, **observed) -> dict[str, str]:
    """Status per field."""
    args = {"parameters": None, "active": None, "dtypes": (), "quant_method": None, "quant_bits": None} | observed
    return {a.field: a.status for a in compare(info, **args)}


@pytest.mark.parametrize(
    ("claim", "observed", "status"),
    [
        (7 * B, 6_738_415_616, "consistent"),
        (13 * B, 6_738_415_616, "differs"),
        (70 * B, 68_976_648_192, "consistent"),
        (8 * B, 8_030_261_248, "consistent"),
        (1_100 * M, 1_100_048_384, "consistent"),
        (135 * M, 134_515_008, "consistent"),
        (671 * B, 684_531_386_000, "consistent"),
        (3 * B, 6_738_415_616, "differs"),
    ],
)
def test_parameter_agreement(claim: int, observed: int, status: str) -> None:
    (a,) = [a for a in compare(CardInfo(True, parameters=claim), parameters=observed, active=None, dtypes=(),
                               quant_method=None, quant_bits=None) if a.field == "parameters"]  # fmt: skip
    assert (a.status, a.claimed, a.observed) == (status, claim, observed)
    assert a.note


def test_far_off_label_is_flagged() -> None:
    agreements = compare(CardInfo(True, parameters=128_000), parameters=7 * B, active=None, dtypes=(),
                         quant_method=None, quant_bits=None)  # fmt: skip
    assert "context length" in agreements[0].note


def test_mixtral_total_is_unknown_with_a_note() -> None:
    info = parse_card(None, "mistralai/Mixtral-8x7B-v0.1")
    a = compare(info, parameters=46_702_792_704, active=None, dtypes=("BF16",), quant_method=None, quant_bits=None)
    assert a[0].status == "unknown" and "8x7B" in a[0].note


def test_active_agreement() -> None:
    info = parse_card(None, "Qwen/Qwen3-30B-A3B")
    assert agree(info, active=3_340_000_000)["active_parameters"] == "consistent"
    assert agree(info, active=22 * B)["active_parameters"] == "differs"
    assert agree(info)["active_parameters"] == "unknown"


@pytest.mark.parametrize(
    ("claimed", "dtypes", "bits", "status"),
    [
        (("bf16",), ("BF16", "F32"), None, "consistent"),
        (("int4",), ("F16",), None, "differs"),
        (("int4",), ("I32", "F16"), 4.16, "consistent"),
        (("fp16",), ("BF16",), None, "differs"),
        (("fp8",), ("F8_E4M3", "BF16"), None, "consistent"),
        (("int8",), ("F8_E4M3",), None, "consistent"),
        (("fp4",), ("U8", "F8_E4M3"), 4.5, "consistent"),
        (("fp32",), ("Q4_K", "Q6_K", "F32"), 4.85, "consistent"),
        (("int4",), ("Q4_K", "F32"), None, "consistent"),
        ((), ("BF16",), None, "unknown"),
        (("bf16",), (), None, "unknown"),
    ],
)
def test_dtype_agreement(claimed: tuple, dtypes: tuple, bits: float | None, status: str) -> None:
    assert agree(CardInfo(True, dtypes=claimed), dtypes=dtypes, quant_bits=bits)["dtype"] == status


@pytest.mark.parametrize(
    ("quant", "dtypes", "method", "bits", "status"),
    [
        (CardQuant("gptq", 4.0), ("I32", "F16"), "gptq", 4.16, "consistent"),
        (CardQuant(None, 4.0), ("F16",), None, None, "differs"),
        (CardQuant("gptq", None), ("I32", "F16"), "awq", 4.16, "differs"),
        (CardQuant("gptq", 4.0), ("I32", "F16"), "gptq", 8.2, "differs"),
        (CardQuant("fp8", 8.0), ("F8_E4M3",), "compressed-tensors", 8.0, "consistent"),
        (CardQuant("fp8", 8.0), ("F8_E4M3", "BF16"), None, None, "consistent"),
        (CardQuant("bitsandbytes", 4.0), ("U8",), "bnb", 4.13, "consistent"),
        (CardQuant("gguf", None), ("Q4_K",), "llama.cpp", 4.8, "consistent"),
        (CardQuant("exl2", 4.65), ("I32",), "exl2", 4.65, "consistent"),
        (CardQuant(None, None), ("I32", "F16"), "gptq", 4.16, "consistent"),
        (None, ("I32", "F16"), "gptq", 4.16, "unknown"),
        (None, ("BF16",), None, None, "unknown"),
    ],
)
def test_quant_agreement(quant, dtypes, method, bits, status) -> None:
    got = agree(CardInfo(True, quantization=quant), dtypes=dtypes, quant_method=method, quant_bits=bits)
    assert got["quantization"] == status


def test_compare_returns_every_field_once() -> None:
    fields = [a.field for a in compare(CardInfo(False), parameters=None, active=None, dtypes=(),
                                       quant_method=None, quant_bits=None)]  # fmt: skip
    assert fields == ["parameters", "active_parameters", "dtype", "quantization"]


def test_card_says_4bit_headers_f16_end_to_end() -> None:
    info = parse_card("# Foo 7B\n\nWeights quantized to 4-bit.", "org/Foo-7B")
    got = agree(info, parameters=6_738_415_616, dtypes=("F16",))
    assert got == {"parameters": "consistent", "active_parameters": "unknown", "dtype": "differs",
                   "quantization": "differs"}  # fmt: skip


# ---- robustness --------------------------------------------------------------------------------------------

_PIECES = st.sampled_from(
    ["---\n", "license: mit\n", "tags: [a\n", "- x\n", "```\n", "# Foo 7B\n", "30B-A3B ", "8x7B ", "E2B ", "\r\n",
     "\ufeff", "Number of Paramaters: 6.53B ", "7 billion parameters ", "Q4_K_M ", "4-bit weights ", "| 13B |\n",
     "<!-- ", "https://x.y/7B ", "1,5B parameters ", "A3B ", "bpw ", "base_model: ", "..."]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=20)), max_size=30), st.booleans())
def test_parse_card_never_raises(pieces: list[str], as_bytes: bool) -> None:
    text = "".join(pieces)
    info = parse_card(text.encode("utf-8", "surrogatepass") if as_bytes else text, "org/Model-7B")
    assert info.present
    assert all(len(e.text) <= 120 for e in info.evidence)
    compare(info, parameters=7 * B, active=None, dtypes=("BF16",), quant_method=None, quant_bits=None)


def test_large_card_is_fast_enough_to_parse() -> None:
    body = (CARDS / "deepseek_v3.md").read_text() + "x " * 100_000 + "```\n" + "<!-- " + "7B parameters " * 2_000
    assert parse_card(body, "deepseek-ai/DeepSeek-V3").parameters == 671 * B


@pytest.mark.parametrize(
    "text",
    ["quantized " + "word " * 20_000, "7B parameters and " * 3_000, ("This model was quantized " + "a " * 50) * 2_000],
)
def test_long_lines_parse_in_linear_time(text: str) -> None:
    import time

    start = time.perf_counter()
    parse_card(text, "org/x")
    assert time.perf_counter() - start < 5  # each is well under a second; quadratic look-backs took ~10 s


def test_exl2_head_bits_are_evidence() -> None:
    info = parse_card(None, "org/Llama-3-8B-exl2-4.65bpw_H6")
    assert info.quantization == q("exl2", 4.65)
    assert Evidence("head_bits", 6, "name", "Llama-3-8B-exl2-4.65bpw_H6") in info.evidence
