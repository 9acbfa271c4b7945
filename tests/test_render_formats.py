"""CSV, Markdown and HTML renderers (cardscan.render.csv / markdown / html) on real offline scans."""

from __future__ import annotations

import csv
import dataclasses
import io
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardscan.parse.quant import QuantInfo
from cardscan.render import render
from cardscan.render.csv import COLUMNS
from cardscan.result import Failure, ScanResult
from cardscan.scanner import ScanOptions, scan

EXAMPLE = Path(__file__).parents[1] / "examples" / "llama-2-7b"
EVIL = '<script>alert("x")</script>'

# The documented CSV contract (docs/output-formats.md), in order.
DOCUMENTED_COLUMNS = [
    "input", "repo_id", "revision", "commit", "status", "error_code", "error_message", "architecture", "model_type",
    "max_context", "params_total", "params_active", "params_source", "params_by_dtype", "stored_elements",
    "weights_bytes", "bits_per_weight", "quant_method", "quant_bits", "quant_group_size", "card_parameters",
    "card_dtypes", "agreement_parameters", "agreement_dtype", "agreement_quantization", "context", "batch",
    "kv_dtype", "engine", "tp", "kv_bytes_per_token", "memory_weights_bytes", "kv_cache_bytes", "activations_bytes",
    "overhead_bytes", "total_bytes", "weights_fp32_bytes", "weights_bf16_fp16_bytes", "weights_int8_fp8_bytes",
    "weights_int4_fp4_bytes", "quick_rule_bf16_fp16_bytes", "fits_gpus", "max_context_fit",
    "max_batch_fit", "cheapest_precision_fit", "min_tp_fit", "least_lossy_precision_fit", "verdict",
    "verdict_gpus_fit", "quick_rule_bytes",
]  # fmt: skip


@pytest.fixture(scope="module")
def ok() -> ScanResult:
    result = scan(str(EXAMPLE), ScanOptions())
    assert result.ok, result.error
    return result


@pytest.fixture(scope="module")
def err() -> ScanResult:
    result = scan("does/not-exist", ScanOptions(offline=True))
    assert result.error is not None and result.error.code == "offline_miss"
    return result


def gptq() -> QuantInfo:
    return QuantInfo(
        method="gptq", bits=4, group_size=128, format_details={}, source="config", quantized_params=6_000_000_000,
        bits_per_weight=4.25, layers_quantized=224,
    )  # fmt: skip


def evil(r: ScanResult) -> ScanResult:
    """The result with attacker-controlled text in every free-text field a renderer shows."""
    card = dataclasses.replace(r.card, license=EVIL, base_model=EVIL, dtypes=(EVIL,))
    return dataclasses.replace(r, input=EVIL, repo_id=EVIL + "|x", card=card, notes=(EVIL,), warnings=(EVIL + "|w",))


# ---- CSV -------------------------------------------------------------------------------------------------------


def csv_rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == DOCUMENTED_COLUMNS
    return list(reader)


def test_csv_columns_are_the_documented_contract():
    assert list(COLUMNS) == DOCUMENTED_COLUMNS


def test_csv_ok_row_round_trips(ok):
    (row,) = csv_rows(render([ok], "csv"))
    assert row["status"] == "ok" and row["error_code"] == "" and row["error_message"] == ""
    assert row["architecture"] == "LlamaForCausalLM" and row["model_type"] == "llama"
    assert int(row["params_total"]) == ok.parameters.total == 6_738_415_616
    assert row["params_by_dtype"] == "fp16=6738415616"
    assert int(row["weights_bytes"]) == ok.weights.bytes
    assert float(row["bits_per_weight"]) == pytest.approx(16.0)
    assert int(row["total_bytes"]) == ok.memory.total_bytes
    assert int(row["weights_bf16_fp16_bytes"]) == ok.precision_bytes["bf16/fp16"]
    assert int(row["quick_rule_bf16_fp16_bytes"]) == ok.rule_of_thumb_bytes["bf16/fp16"]
    assert row["agreement_parameters"] == "consistent"
    fits = row["fits_gpus"].split(";")
    assert fits == [f.gpu.name for f in ok.fits if f.fits] and "RTX 4090 24GB" in fits
    # Unknowns are empty cells, not "None".
    assert row["params_active"] == "" and row["quant_method"] == "" and row["max_context_fit"] == ""
    assert "None" not in row.values()


def test_csv_error_row(ok, err):
    rows = csv_rows(render([ok, err], "csv"))
    assert [r["status"] for r in rows] == ["ok", "error"]
    bad = rows[1]
    assert bad["error_code"] == "offline_miss" and "offline" in bad["error_message"]
    filled = {k for k, v in bad.items() if v}
    assert filled == {"input", "repo_id", "revision", "status", "error_code", "error_message"}


def test_csv_quotes_commas_quotes_and_newlines(err):
    message = 'bad, "quoted"\nsecond line'
    r = dataclasses.replace(err, error=Failure("network", message))
    (row,) = csv_rows(render([r], "csv"))
    assert row["error_message"] == message
    assert {len(line) for line in csv.reader(io.StringIO(render([r, err], "csv")))} == {len(DOCUMENTED_COLUMNS)}


def test_csv_quantization_and_capacity(ok):
    r = dataclasses.replace(ok, quantization=gptq(), capacity=SimpleNamespace(max_context=2048))
    (row,) = csv_rows(render([r], "csv"))
    assert (row["quant_method"], row["quant_bits"], row["quant_group_size"]) == ("gptq", "4", "128")
    assert row["max_context_fit"] == "2048"


# ---- Markdown --------------------------------------------------------------------------------------------------


def split_row(line: str) -> list[str]:
    """GFM cells of a table line; a backslash escapes the next character (so `\\|` is not a separator)."""
    cells, current, chars = [], "", iter(line.strip()[1:-1])
    for ch in chars:
        if ch == "\\":
            current += ch + next(chars, "")
        elif ch == "|":
            cells.append(current)
            current = ""
        else:
            current += ch
    return [*cells, current]


def tables(text: str) -> list[list[list[str]]]:
    """Every table in the document as rows of cells."""
    found, current = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            current.append(split_row(line))
        elif current:
            found.append(current)
            current = []
    return found


def assert_tables_consistent(text: str) -> None:
    for rows in tables(text):
        assert len({len(row) for row in rows}) == 1, rows
        assert all(set(c.strip()) == {"-"} for c in rows[1]), "second line is the delimiter row"


def test_markdown_ok_section(ok):
    text = render([ok], "markdown")
    assert_tables_consistent(text)
    assert "## Summary" not in text  # one result: no summary table
    assert f"## {ok.repo_id} @ local" in text
    assert "| Parameters | 6.74B (6,738,415,616) from header |" in text
    assert "| Total | 15.08 GiB | 16,188,052,480 |" in text
    assert "### GPU fit" in text and "- Does not fit:" in text and "RTX 4060 8GB" in text
    assert "### Notes" in text


def test_markdown_summary_and_error(ok, err):
    text = render([ok, err], "markdown")
    assert_tables_consistent(text)
    summary = tables(text)[0]
    assert summary[0] == [" Model ", " Parameters ", " Bits/weight ", " Quantization ", " Total memory ", " Status "]
    assert [row[-1].strip() for row in summary[2:]] == ["ok", "error: offline_miss"]
    assert text.index("## Summary") < text.index(f"## {ok.repo_id}")
    assert "> **Error** `offline_miss`:" in text


def test_markdown_escapes_pipes_and_newlines(ok):
    r = dataclasses.replace(evil(ok), quantization=gptq(), warnings=("a|b\nc",))
    text = render([r, ok], "markdown")
    assert_tables_consistent(text)
    assert '&lt;script>alert("x")&lt;/script>\\|x' in text  # raw HTML cannot open
    assert "<script" not in text
    assert "| Quantization | GPTQ 4-bit g128 (from config, 4.25 bpw in quantized layers) |" in text
    assert "- ⚠️ a\\|b c" in text


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=30))
def test_markdown_tables_survive_any_text(text):
    r = ScanResult(input=text, repo_id=text, revision="main", commit=None, notes=(text,))
    assert_tables_consistent(render([r, r], "markdown"))


# ---- HTML ------------------------------------------------------------------------------------------------------

VOID = {"meta", "br", "hr", "img", "link", "input", "wbr"}


class Checker(HTMLParser):
    """Tracks open tags; records any mismatch."""

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: set[str] = set()
        self.text = ""

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag == "script":
            assert not dict(attrs).get("src"), "scripts are inline only"
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)

    def handle_data(self, data):
        self.text += data


def check_html(text: str) -> Checker:
    checker = Checker()
    checker.feed(text)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    assert not checker.tags & {"link", "img", "iframe", "object"}  # scripts: inline only (handle_starttag)
    assert "http://" not in text and "https://" not in text  # nothing fetched from outside
    return checker


def test_html_ok_and_error(ok, err):
    text = render([ok, err], "html")
    page = check_html(text)
    assert text.startswith("<!DOCTYPE html>")
    assert "<style>" in text
    assert '<a href="#r0">' in text and '<section class="repo" id="r1"' in text
    assert "6.74B parameters" in page.text  # the section lede; charts and facts: tests/test_html_*.py
    assert "error: offline_miss</span>" in text


def test_html_escapes_hostile_text(ok, err):
    hostile_err = dataclasses.replace(err, repo_id=EVIL, error=Failure("not_found", EVIL))
    text = render([evil(ok), hostile_err], "html")
    page = check_html(text)
    assert "&lt;script&gt;" in text
    assert EVIL in page.text  # shown to the reader as text, not run


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=30))
def test_html_balanced_for_any_text(text):
    r = ScanResult(input=text, repo_id=text, revision=text, commit=None, warnings=(text,))
    check_html(render([r], "html"))


def test_chosen_gpu_shows_the_margin(ok):
    short = next(f for f in ok.fits if not f.fits)
    r = dataclasses.replace(ok, fits=(short,))
    assert f"- {short.gpu.name}: does not fit, " in render([r], "markdown")
    text = render([r], "html")
    check_html(text)
    assert f"{short.gpu.name}: does not fit, " in text  # in the page's data; drawn by its script
    (row,) = csv_rows(render([r], "csv"))
    assert row["fits_gpus"] == ""


def test_capacity_for_a_chosen_gpu():
    r = scan(str(EXAMPLE), ScanOptions(gpu="rtx4090"))
    (row,) = csv_rows(render([r], "csv"))
    assert row["fits_gpus"] == "RTX 4090 24GB"
    assert int(row["max_context_fit"]) == r.capacity.max_context == 4096
    assert int(row["max_batch_fit"]) == r.capacity.max_batch
    assert row["least_lossy_precision_fit"] == row["cheapest_precision_fit"] == "bf16" and row["min_tp_fit"] == "1"
    assert "| Capacity | max context 4,096 · max batch " in render([r], "markdown")
    assert "max context 4,096" in check_html(render([r], "html")).text


def test_gguf_repo_with_a_card(tmp_path):
    fixtures = Path(__file__).parent / "fixtures"
    (tmp_path / "m.gguf").write_bytes((fixtures / "gguf" / "tiny-llama-Q4_K_M.gguf").read_bytes())
    (tmp_path / "README.md").write_bytes((fixtures / "cards" / "bartowski_llama31_8b_gguf.md").read_bytes())
    r = scan(str(tmp_path), ScanOptions())
    assert r.ok, r.error
    (row,) = csv_rows(render([r], "csv"))
    assert (row["quant_method"], row["params_source"], row["agreement_parameters"]) == ("gguf", "gguf", "differs")
    assert dict(kv.split("=") for kv in row["params_by_dtype"].split(";")) == {
        k: str(v) for k, v in r.parameters.by_dtype.items()
    }
    text = render([r, r], "markdown")
    assert_tables_consistent(text)
    assert "| Card claims | 8.00B parameters, gguf via llama.cpp |" in text
    assert "| Agreement: parameters | differs (" in text
    check_html(render([r], "html"))
