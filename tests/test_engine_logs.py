"""Every engine-log fixture parses to the figures its case in tests/fixtures/engine_logs/cases.json records.

The logs are public start-up logs (sources in tests/fixtures/engine_logs/README.md); the parser is
cardscan.testing.engine_logs. Cases whose source is a summary rather than engine lines (log_format "summary") are
checked by the printed numbers appearing in the text.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from cardscan.testing.engine_logs import ENGINES, parse_engine_log
from tests.bench_loader import load_bench

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
CASES = json.loads((FIXTURES / "engine_logs" / "cases.json").read_text(encoding="utf-8"))["cases"]
IDS = [c["id"] for c in CASES]
V0_BLOCK = 16  # vLLM V0 prints "# GPU blocks"; the case records blocks × 16 tokens (printed_note)
REQUIRED = {"id", "engine", "split", "version", "date", "kind", "model_id", "source", "excerpt", "log_format", "config",
            "flags", "weights", "printed", "assumed", "misses"}  # fmt: skip


def _parsed(case: dict) -> object:
    return parse_engine_log((FIXTURES / case["excerpt"]).read_bytes(), case["engine"])


def _expected(case: dict, name: str, figures: object) -> object:
    """The parser field a printed figure is read from (V0 token counts come from the block count)."""
    if name == "kv_tokens" and getattr(figures, "kv_tokens", None) is None and hasattr(figures, "gpu_blocks"):
        blocks = figures.gpu_blocks
        return None if blocks is None else blocks * V0_BLOCK
    return getattr(figures, name)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_case_is_complete(case: dict) -> None:
    assert case.keys() >= REQUIRED, REQUIRED - case.keys()
    assert case["engine"] in ENGINES and case["split"] in ("calibration", "held_out")
    assert (FIXTURES / case["excerpt"]).is_file() and (FIXTURES / case["config"]).is_file()
    assert case["excerpt"].startswith(f"engine_logs/{case['engine']}/") and case["excerpt"].endswith(".log")
    assert case["printed"], "a case carries at least one printed figure"


@pytest.mark.parametrize("case", [c for c in CASES if c["log_format"] == "engine-log"],
                         ids=[c["id"] for c in CASES if c["log_format"] == "engine-log"])  # fmt: skip
def test_log_parses_to_the_printed_figures(case: dict) -> None:
    figures = _parsed(case)
    for name, value in {**case["printed"], **case.get("printed_unchecked", {})}.items():
        if name in ("kv_cells",) and getattr(figures, name) is None:
            continue  # a cell count the case derives from the context flag, not a log line
        assert _expected(case, name, figures) == value, f"{case['id']}: {name}"


@pytest.mark.parametrize("case", [c for c in CASES if c["log_format"] == "summary"],
                         ids=[c["id"] for c in CASES if c["log_format"] == "summary"])  # fmt: skip
def test_summary_source_states_the_printed_figures(case: dict) -> None:
    text = (FIXTURES / case["excerpt"]).read_text(encoding="utf-8").replace(",", "")
    for name, value in case["printed"].items():
        assert f"{value:g}" in text or f"{value:.2f}" in text, f"{case['id']}: {name}={value} not in the source"


def test_every_log_fixture_belongs_to_a_case() -> None:
    logs = {p.relative_to(FIXTURES).as_posix() for p in (FIXTURES / "engine_logs").glob("*/*.log")}
    assert logs == {c["excerpt"] for c in CASES}


def test_split_alternates_by_date_within_each_engine() -> None:
    """The stated rule (README): per engine, sort by (date, id) with undated last, alternate starting calibration."""
    for engine in ENGINES:
        group = sorted((c for c in CASES if c["engine"] == engine), key=lambda c: (c["date"] or "9999", c["id"]))
        assert [c["split"] for c in group] == ["calibration" if i % 2 == 0 else "held_out" for i in range(len(group))]


def test_corpus_size_per_engine() -> None:
    """Issue 9 asks for at least 15 vLLM V1 cases and 6 SGLang cases."""
    v1 = [c for c in CASES if c["engine"] == "vllm" and c["version"].startswith("V1")]
    counts = Counter(c["engine"] for c in CASES)
    assert len(v1) >= 15 and counts["sglang"] >= 6


def test_mla_case_reads_the_latent_line_not_the_unused_per_head_cache() -> None:
    """llama.cpp PR #11446 printed both caches; the 4.77 MiB per-head one is not what the model uses."""
    case = next(c for c in CASES if c["id"] == "llamacpp-pr11446-deepseek-r1-mla-c32768")
    figures = _parsed(case)
    assert (figures.kv_size_mib, figures.k_mib, figures.v_mib, figures.kv_cells) == (2196.0, 244.0, 1952.0, 32768)


def test_setting_is_read_from_its_first_statement() -> None:
    """lmcache#3430 states --gpu-memory-utilization=0.9764, then quotes the 0.9543 it is 'equivalent to'."""
    case = next(c for c in CASES if c["id"] == "lmcache3430-qwen3-8b-24gb")
    assert _parsed(case).gpu_memory_utilization == case["flags"]["gpu_util"]


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown engine"):
        parse_engine_log(b"", "tgi")


def test_bench_estimates_sglang_cases() -> None:
    bench = load_bench("engine_compare")
    figs = bench.figures(bench.load_all_cases())
    sglang = [f for f in figs if f.engine.startswith("sglang")]
    assert sglang and all(f.ours is not None for f in sglang)
    assert {"kv_tokens", "kv_bytes_per_token", "weights_gib"} <= {f.figure for f in sglang}
    assert all(f.met for f in sglang if f.figure == "kv_bytes_per_token"), "SGLang's pool holds cardscan's bytes/token"
    table = bench.table(figs)
    assert table.splitlines()[0].endswith("| split |")
    assert {"calibration", "held_out"} <= {
        line.split(" | ")[0].strip("| ") for line in bench.summary(figs).splitlines()
    }
