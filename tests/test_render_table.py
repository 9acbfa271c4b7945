"""The terminal table's wording and switches (colour, width) on real offline scans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cardscan.estimate.engines import EstimateOptions, estimate_memory
from cardscan.estimate.gpus import parse_gpu
from cardscan.parse.config import arch_facts, estimate_params_from_config
from cardscan.render import render
from cardscan.render.units import ascii_fallback, model_shape, vllm_budget_text
from cardscan.result import ModelFacts
from cardscan.scanner import ScanOptions, scan

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = str(ROOT / "examples" / "llama-2-7b")
CONFIGS = ROOT / "tests" / "fixtures" / "configs"


@pytest.fixture(scope="module")
def on_4090():  # type: ignore[no-untyped-def]
    return scan(EXAMPLE, ScanOptions(gpu="rtx4090"))


def test_verdict_is_the_first_row(on_4090, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COLUMNS", "160")
    lines = render([on_4090]).splitlines()
    assert lines[1].startswith("verdict") and "fits RTX 4090 24GB at fp16 up to 4,096 tokens (batch 1)" in lines[1]


def test_shortfall_and_least_lossy_wording(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    text = render([scan(EXAMPLE, ScanOptions(gpu="rtx3060"))])
    assert "RTX 3060 12GB ✗ 3.32 GiB short" in text
    assert "least lossy precision that fits fp8" in text and "cheapest" not in text


def test_force_color_and_no_color(on_4090, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[" in render([on_4090])
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in render([on_4090])
    monkeypatch.delenv("FORCE_COLOR")
    monkeypatch.delenv("NO_COLOR")
    assert "\x1b[" not in render([on_4090])  # not a terminal, nothing forced


def test_width_follows_the_terminal_without_a_cap(on_4090, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    for width in (60, 100, 200):
        monkeypatch.setenv("COLUMNS", str(width))
        lines = render([on_4090]).splitlines()
        assert max(map(len, lines)) <= width
    assert max(map(len, lines)) > 120
    monkeypatch.setenv("COLUMNS", "70")
    narrow = render([on_4090]).splitlines()
    assert narrow[1] == "verdict" and narrow[2].startswith("  fits RTX 4090")


def test_negative_vllm_budget_is_worded() -> None:
    facts = arch_facts(json.loads((CONFIGS / "meta-llama__Llama-3.1-8B.json").read_text()))
    params = estimate_params_from_config(facts)
    small = parse_gpu("8GB")
    m = estimate_memory(facts, params * 2, params, EstimateOptions(engine="vllm", gpu=small))
    assert m.kv_budget_bytes is not None and m.kv_budget_bytes < 0
    text = vllm_budget_text(m)
    assert text.startswith("no KV budget: weights alone exceed the budget by ") and "-" not in text


def test_mla_shows_real_head_dims() -> None:
    r = scan(str(ROOT / "tests" / "fixtures" / "hub" / "deepseek-ai" / "DeepSeek-V3" / "files"))
    assert r.model is not None and (r.model.head_dim, r.model.v_head_dim) == (192, 128)
    assert "128 heads × 192 (q·k) / 128 (v)" in model_shape(r.model)
    plain = ModelFacts("LlamaForCausalLM", "llama", 4096, 32, 4096, 32, 8, 128, 32000, "bf16")
    assert "32 heads, 8 KV × 128" in model_shape(plain)


def test_ascii_fallback_keeps_widths() -> None:
    line = "RTX 4090 24GB ✓ 8.56 GiB free → use fp8 · ✗"
    plain = ascii_fallback(line)
    assert plain.isascii() and len(plain) == len(line)


def _rich_reference(result, width: int) -> str:  # type: ignore[no-untyped-def]
    """The same result laid out entirely by rich's Table (what the hand layout must reproduce, letter for letter)."""
    import io

    from rich.console import Console
    from rich.table import Table

    from cardscan.render import table as t

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, highlight=False, soft_wrap=False, force_terminal=False)
    rows = t._rows(result, narrow=False, width=0)  # no room for a hand-laid grid: each nested one is a rich Table
    grid = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 2))
    grid.add_column(style="cyan", no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value in rows:
        grid.add_row(label, value)
    console.print(grid)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())


@pytest.mark.parametrize("width", [80, 100, 160])
def test_hand_layout_matches_rich_tables(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Labels beside values and the nested grids (fit matrix, quants) are laid out by hand for speed: the text is
    exactly what rich's Table gives."""
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setenv("NO_COLOR", "1")
    result = scan(EXAMPLE, ScanOptions(gpus=("rtx3060", "rtx4090", "a100-40gb", "h100")))
    assert result.fit_matrix
    body = render([result]).splitlines()[1:]  # after the title line
    reference = _rich_reference(result, width).splitlines()
    assert body[: len(reference)] == reference
