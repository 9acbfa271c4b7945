"""Every real config in tests/fixtures/configs: the config-only count is exact, within its family's stated bound, or
withheld with a reason — never silently wrong. The truth is transformers' own count on the meta device, precomputed
into meta_counts.json by scripts/check_config_counts.py (so this runs without torch); with torch installed a few
configs are rebuilt to show that file is current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cardscan.parse.config import arch_facts, count_from_config, estimate_params_from_config
from cardscan.parse.families import FAMILIES, family

CONFIGS = Path(__file__).parent / "fixtures" / "configs"
META = json.loads((CONFIGS / "meta_counts.json").read_text())
NAMES = sorted(p.stem for p in CONFIGS.glob("*.json") if p.name != "meta_counts.json")


def load(name: str) -> dict:
    return json.loads((CONFIGS / f"{name}.json").read_text())


def test_corpus_is_large_and_fully_measured() -> None:
    assert len(NAMES) >= 90
    assert set(META) == set(NAMES)  # rerun scripts/check_config_counts.py after adding a config


@pytest.mark.parametrize("name", NAMES)
def test_no_silent_miss(name: str) -> None:
    count = count_from_config(load(name))
    meta = META[name]
    if count.total is None:
        assert count.note.startswith("no config-only count:") and "cardscan[meta]" in count.note
        return
    assert count.total > 0
    if not meta["built"]:
        return  # remote code: checked against published totals in test_config.py
    err = abs(count.total - meta["total"]) / meta["total"]
    if count.exact:
        assert count.total == meta["total"], f"{name}: labelled exact, off by {100 * err:.3g}%"
    else:
        assert count.expected_error is not None and err <= count.expected_error, f"{name}: {100 * err:.3g}%"
        assert count.label.startswith("approximate")


def test_every_exact_family_was_checked() -> None:
    """On a real config transformers built, else on a published total (phi-msft) or transformers' default config of
    that type (tests/test_families.py: phi, mt5)."""
    rows = [family(load(n).get("model_type")) for n in NAMES if META[n]["built"]]
    checked = {row.model_type for row in rows if row} | {"phi-msft", "phi", "mt5"}
    assert {t for t, row in FAMILIES.items() if row.exact} <= checked


def test_falcon_180b_is_178_56b_not_250b() -> None:
    count = count_from_config(load("tiiuae__falcon-180B@reconstructed"))
    assert count.exact and count.total == 178_557_088_768
    assert estimate_params_from_config(arch_facts(load("tiiuae__falcon-180B@reconstructed"))) == 178_557_088_768


BLOOMS = [("bigscience__bloom-560m", 559_214_592), ("bigscience__bloom@reconstructed", 176_247_271_424)]


@pytest.mark.parametrize(("name", "total"), BLOOMS)
def test_bloom_n_embed_is_read(name: str, total: int) -> None:
    f = arch_facts(load(name))
    assert f.hidden_size > 0 and f.num_layers > 0
    assert count_from_config(load(name)).total == total


def test_unknown_and_hybrid_families_give_no_number_with_reason() -> None:
    assert "no row in the family table" in count_from_config(load("baichuan-inc__Baichuan2-7B-Chat")).note
    assert "Mamba" in count_from_config(load("nvidia__Nemotron-H-56B-Base-8K")).note
    assert "language model" in count_from_config(load("llava-hf__llava-1.5-7b-hf")).note
    legacy = count_from_config(load("FacebookAI__roberta-base@legacy"))
    assert legacy.total is None and "no model_type" in legacy.note


def test_approximate_label_carries_the_bound() -> None:
    count = count_from_config(load("deepseek-ai__DeepSeek-V3.2"))
    assert not count.exact and count.expected_error == 0.005 and count.label == "approximate (±0.5%)"
    assert "indexer" in count.note


def test_omitted_key_takes_the_config_class_default() -> None:
    """The mlc preset of DeepSeek-V2-Lite has no q_lora_rank: transformers then builds the 1536-rank query path."""
    assert arch_facts(load("deepseek-ai__DeepSeek-V2-Lite-Chat")).q_lora_rank == 1536
    assert arch_facts({**load("deepseek-ai__DeepSeek-V2-Lite-Chat"), "q_lora_rank": None}).q_lora_rank == 0


REBUILT = ["tiiuae__falcon-7b@reconstructed", "bigscience__bloom-560m", "google-t5__t5-small", "EleutherAI__gpt-j-6b"]


@pytest.mark.parametrize("name", REBUILT)
def test_meta_counts_fixture_is_current(name: str) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from cardscan.parse.meta_count import meta_parameter_count

    meta = meta_parameter_count(load(name))
    assert meta is not None and meta.total + meta.buffer_elements == META[name]["total"]
