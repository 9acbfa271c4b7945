"""The HTML report's data (render/html.py `chart_data`, `page_data`) and page structure, without a browser.

Golden files (tests/fixtures/html_golden/*.json) hold each fixture repo's chart data: the series every chart is drawn
from. Regenerate them after a deliberate change to the estimate with `CARDSCAN_UPDATE_GOLDEN=1 pytest
tests/test_html_report.py` and review the diff. Pixels are checked in tests/test_html_browser.py.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from cardscan.estimate.curves import DOWNCAST_SHARE, context_grid, memory_curves
from cardscan.estimate.engines import EstimateOptions, estimate_memory
from cardscan.estimate.fit import engine_budget
from cardscan.estimate.gpus import parse_gpu
from cardscan.parse.config import arch_facts
from cardscan.render import render
from cardscan.render.html import EAGER_SECTIONS, chart_data, compact_page, page_data
from cardscan.render.html import render as html_render
from cardscan.result import ScanResult
from cardscan.scanner import ScanOptions, scan
from cardscan.testing.hub import HubEmulator
from tests.test_render_formats import EVIL, VOID

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "llama-2-7b"
GOLDEN = Path(__file__).parent / "fixtures" / "html_golden"
# Corpus repos covering each chart: GGUF quants, MoE (active vs other experts), sliding window, MXFP4, a long
# context that crosses GPU lines, a gated repo read with the emulator's approved token, and a failure.
CORPUS_REPOS = (
    "TheBloke/Llama-2-7B-GGUF",
    "Qwen/Qwen3-30B-A3B",
    "google/gemma-3-1b-it",
    "openai/gpt-oss-20b",
    "meta-llama/Llama-3.1-8B",
    "TheBloke/Llama-2-7B-GPTQ",
    "org/lora-adapter",
    "org/private",
)
APPROVED_TOKEN = "hf_approved"  # docs/emulator.md: gated corpus repos approve this token


def corpus_results(hub: HubEmulator, repos: Sequence[str] = CORPUS_REPOS, **kw: Any) -> list[ScanResult]:
    """The example and the corpus repos scanned through the emulator (shared with tests/test_html_browser.py)."""
    options = ScanOptions(curves=True, endpoint=hub.url, token=APPROVED_TOKEN, **kw)
    return [scan(str(EXAMPLE), ScanOptions(curves=True, **kw)), *(scan(r, options) for r in repos)]


def sample_audit(results: Sequence[ScanResult]) -> dict[str, Any]:
    """An audit dict in the documented shape (render/html.py AuditData), as `audit_report_data(run)` hands it over."""
    ids = [r.repo_id or r.input for r in results]
    return {
        "title": "nightly audit",
        "run": {"run": "42", "started": "2026-12-04 02:00 UTC", "previous": "41", "policy": "policy.yaml"},
        "tiles": [
            {"label": "repos", "value": len(results), "kind": "info", "title": "repos audited"},
            {"label": "violations", "value": 2, "kind": "error", "title": "repos breaking an error rule"},
            {"label": "errors", "value": 1, "kind": "error", "title": "scans that failed"},
            {"label": "changed since last run", "value": 2, "kind": "changed", "title": "against run 41"},
        ],
        "rows": [
            {"repo": ids[1], "status": "violation",
             "violations": [{"rule": "fits-rtx4090", "severity": "error", "message": "needs 30 GiB at 8,192 tokens"}]},
            {"repo": ids[2], "status": "ok", "changes": [{"field": "commit", "before": "aaaaaaa", "after": "bbbbbbb"}]},
            {"repo": ids[3], "status": "violation",
             "violations": [{"rule": "licence", "severity": "warning", "message": "licence other"}],
             "changes": [{"field": "licence", "before": "mit", "after": "other"}]},
        ],
        "diff": [
            {"repo": ids[2], "field": "commit", "before": "aaaaaaa", "after": "bbbbbbb"},
            {"repo": ids[3], "field": "licence", "before": "mit", "after": "other"},
            {"repo": "org/removed", "field": "removed", "before": None, "after": None},
        ],
        "trend": {
            ids[0]: [{"run": "40", "weights_bytes": 13_476_831_232, "commit": "a"},
                     {"run": "41", "weights_bytes": 14_000_000_000, "commit": "b"},
                     {"run": "42", "weights_bytes": 13_476_831_232, "commit": "c"}],
            ids[2]: [{"run": "41", "weights_bytes": 4_335_478_304, "commit": "aaaaaaa"},
                     {"run": "42", "weights_bytes": 4_335_478_304, "commit": "bbbbbbb"}],
        },
    }  # fmt: skip


@pytest.fixture(scope="module")
def example() -> ScanResult:
    r = scan(str(EXAMPLE), ScanOptions(curves=True))
    assert r.ok, r.error
    return r


@pytest.fixture(scope="module")
def corpus(hub_server: HubEmulator) -> dict[str, ScanResult]:
    hub_server.reset()
    results = corpus_results(hub_server, context=8192)
    return {r.repo_id or r.input: r for r in results}


def _golden_view(data: dict[str, Any]) -> dict[str, Any]:
    """chart_data without what varies run to run (scan cost in the facts) or is plain text (covered elsewhere)."""
    return {k: v for k, v in data.items() if k not in ("facts", "notes", "warnings")}


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")


def check_golden(name: str, data: dict[str, Any]) -> None:
    path = GOLDEN / f"{_slug(name)}.json"
    # The emulator listens on an ephemeral port; error messages name it.
    text = json.dumps(_golden_view(data)).replace(str(ROOT) + "/", "")
    view = json.loads(re.sub(r"http://127\.0\.0\.1:\d+", "http://HUB", text))
    if os.environ.get("CARDSCAN_UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(view, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run with CARDSCAN_UPDATE_GOLDEN=1 and review it"
    assert view == json.loads(path.read_text(encoding="utf-8"))


# ---- golden chart data -----------------------------------------------------------------------------------------


def test_example_golden(example):
    check_golden("example_llama-2-7b", chart_data(example))


@pytest.mark.parametrize("repo", CORPUS_REPOS)
def test_corpus_golden(corpus, repo):
    check_golden(repo, chart_data(corpus[repo]))


# ---- what the series mean --------------------------------------------------------------------------------------


def test_example_series_are_the_estimate_at_each_context(example):
    """Each point is the engine's own estimate at that context; the stacked bar is the scan's memory figure."""
    m = chart_data(example)["memory"]
    assert [s["key"] for s in m["series"]] == ["stored", "fp8", "int4"]  # bf16 = stored (fp16): not drawn twice
    assert m["series"][0]["label"] == "stored (fp16)"
    assert m["contexts"] == [128, 181, 256, 362, 512, 724, 1024, 1448, 2048, 2896, 4096]
    facts = arch_facts(json.loads((EXAMPLE / "config.json").read_text()))
    params = example.parameters.total
    for s in m["series"]:
        for c, total in zip(m["contexts"], s["totals"], strict=True):
            assert total == estimate_memory(facts, s["weights"], params, EstimateOptions(context=c)).total_bytes
        assert s["at"][4] == sum(s["at"][:4])
    stored = m["series"][0]
    assert stored["at"] == [example.memory.weights_bytes, example.memory.kv_cache_bytes,
                            example.memory.activations_bytes, example.memory.overhead_bytes,
                            example.memory.total_bytes]  # fmt: skip


def test_example_limits_follow_the_gpu_budgets(example):
    """The seed's picture: Llama-2-7B at FP16 is above a 12 GB card and under a 24 GB one."""
    m = chart_data(example)["memory"]
    names = [g["name"] for g in m["gpus"]]
    stored = dict(zip(names, m["series"][0]["limits"], strict=True))
    assert stored["RTX 3060 12GB"] == [None, None, False]
    assert stored["RTX 4090 24GB"][0] == 4096 and stored["RTX 4090 24GB"][2] is True
    total_3060 = m["series"][0]["totals"][0]
    assert total_3060 > next(g["budget"] for g in m["gpus"] if g["name"] == "RTX 3060 12GB")
    row = chart_data(example)["row"]
    assert (row["fits"], row["of"], row["smallest"]) == (5, 6, "RTX 4090 24GB")


@pytest.mark.parametrize("engine", ["generic", "vllm", "llama.cpp", "transformers"])
def test_limits_match_capacity_for_every_engine(engine):
    """The chosen GPU's largest context and batch agree with capacity.py (the CLI's --gpu answer) per engine."""
    r = scan(str(EXAMPLE), ScanOptions(curves=True, gpu="rtx4090", engine=engine, context=2048))
    limit = r.curves.curves[0].limits[0]
    assert (limit.gpu, limit.max_context, limit.max_batch) == ("RTX 4090 24GB", r.capacity.max_context,
                                                              r.capacity.max_batch)  # fmt: skip
    assert limit.fits == r.fits[0].fits and r.curves.curves[0].at_context.total_bytes == r.memory.total_bytes


def test_max_batch_matches_capacity():
    """The largest batch per GPU agrees with capacity.max_batch (the CLI's --gpu answer)."""
    r = scan(str(EXAMPLE), ScanOptions(curves=True, gpu="rtx4090"))
    m = chart_data(r)["memory"]
    assert m["gpus"][0] == {"name": "RTX 4090 24GB", "usable": m["gpus"][0]["usable"],
                            "budget": m["gpus"][0]["usable"], "chosen": True}  # fmt: skip
    assert sum(g["chosen"] for g in m["gpus"]) == 1 and len(m["gpus"]) == 6
    max_ctx, max_batch, fits = m["series"][0]["limits"][0]
    assert (max_ctx, max_batch, fits) == (r.capacity.max_context, r.capacity.max_batch, True)


def test_long_context_crosses_gpu_lines(corpus):
    """Llama-3.1-8B at bf16: the 24 GB card holds only part of the 131k context; the largest is where it crosses."""
    m = chart_data(corpus["meta-llama/Llama-3.1-8B"])["memory"]
    assert m["max_context"] == 131072 and m["contexts"][-1] == 131072 and m["context"] == 8192
    assert m["contexts"] == list(context_grid(131072, 8192))
    i = [g["name"] for g in m["gpus"]].index("RTX 4090 24GB")
    max_ctx, _, fits = m["series"][0]["limits"][i]
    assert fits and 8192 < max_ctx < 131072
    budget = m["gpus"][i]["budget"]
    # The curve is under the line before max_ctx and over it after (grid points either side).
    below = [t for c, t in zip(m["contexts"], m["series"][0]["totals"], strict=True) if c <= max_ctx]
    above = [t for c, t in zip(m["contexts"], m["series"][0]["totals"], strict=True) if c > max_ctx]
    assert max(below) <= budget < min(above)


def test_quantized_repos_are_not_upcast(corpus):
    """A 4-bit checkpoint is drawn at its stored size only: bf16 would need the original weights."""
    for repo in ("TheBloke/Llama-2-7B-GPTQ", "TheBloke/Llama-2-7B-GGUF", "openai/gpt-oss-20b"):
        series = chart_data(corpus[repo])["memory"]["series"]
        assert [s["key"] for s in series] == ["stored"], repo
        assert all(s["weights"] <= DOWNCAST_SHARE * series[0]["weights"] for s in series[1:])


def test_gguf_quants_are_points_with_fits(corpus):
    r = corpus["TheBloke/Llama-2-7B-GGUF"]
    q = chart_data(r)["quants"]
    assert [p["label"] for p in q["points"]] == ["Q2_K", "Q4_K_M", "Q8_0"]
    assert [p["chosen"] for p in q["points"]] == [False, True, False]
    assert q["context"] == 8192 and len(q["gpus"]) == 6
    budgets = [g["budget"] for g in chart_data(r)["memory"]["gpus"]]
    for p, v in zip(q["points"], r.variants, strict=True):
        assert p["memory"] == v.total_bytes and p["bpw"] == v.bits_per_weight
        assert p["fits"] == [v.total_bytes <= b for b in budgets]


def test_moe_parameter_bar_splits_active_and_other_experts(corpus):
    r = corpus["Qwen/Qwen3-30B-A3B"]
    p = chart_data(r)["params"]
    (by_component, by_dtype) = p["bars"]
    assert by_component["segments"] == [["used per token (active)", r.parameters.active],
                                        ["other experts", r.parameters.total - r.parameters.active]]  # fmt: skip
    assert sum(v for _, v in by_dtype["segments"]) == r.parameters.total


def test_claims_carry_the_card_snippets(example):
    (claim,) = chart_data(example)["claims"]
    assert claim["field"] == "parameters" and claim["status"] == "consistent"
    assert claim["claimed"] == "7.00B (7,000,000,000)" and claim["observed"] == "6.74B (6,738,415,616)"
    assert {"source": "name", "text": "llama-2-7b"} in claim["snippets"]


def test_adapter_shows_its_base_models_curves(corpus):
    r = corpus["org/lora-adapter"]
    assert r.curves is None and r.base is not None and r.base.ok
    data = chart_data(r)
    assert data["memory"]["series"] == chart_data(r.base)["memory"]["series"]
    assert data["memory"]["notes"][0].startswith(f"the base model's curves ({r.base.repo_id})")
    assert data["row"]["memory"] == r.base.memory.total_bytes + r.adapter.bytes


def test_failed_repo_is_a_row_with_its_code(corpus):
    data = chart_data(corpus["org/private"])
    assert data["status"] == "error" and data["error"]["code"] == "not_found"
    assert data["row"]["status"] == "error: not_found" and "memory" not in data


def test_curves_with_vllm_use_its_budget():
    """vLLM fills utilization × usable memory: the lines and limits follow that budget."""
    r = scan(str(EXAMPLE), ScanOptions(curves=True, engine="vllm", gpu="rtx4090"))
    m = chart_data(r)["memory"]
    gpu = parse_gpu("rtx4090")
    assert m["engine"] == "vllm" and m["gpus"][0]["budget"] == engine_budget(gpu, "vllm", 0.9)


def test_memory_curves_grid_and_tp():
    """TP halves the per-GPU weights; the grid always holds the chosen context and the end."""
    facts = arch_facts(json.loads((EXAMPLE / "config.json").read_text()))
    c = memory_curves(facts, 13_476_831_232, 6_738_415_616, EstimateOptions(context=3000, tp=2), "fp16")
    assert 3000 in [p.context for p in c.curves[0].points] and c.curves[0].points[-1].context == 4096
    assert c.curves[0].at_context.weights_bytes == 13_476_831_232 // 2 and c.tp == 2
    assert context_grid(4096, 100_000) == context_grid(4096, 4096)


class PageChecker(HTMLParser):
    """Balanced tags; no element that loads anything (only inline scripts, only in-page links)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("link", "img", "iframe", "object", "embed", "video", "audio", "source") or a.get("src"):
            self.errors.append(f"loads something: <{tag} {a}>")
        if a.get("href") is not None and not str(a["href"]).startswith("#"):
            self.errors.append(f"link out of the page: {a['href']}")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unbalanced </{tag}>")

    def handle_data(self, data: str) -> None:
        self.text += data


def check_html(text: str) -> PageChecker:
    checker = PageChecker()
    checker.feed(text)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    assert "url(" not in text and "@import" not in text  # no CSS fetches either
    return checker


# ---- the page --------------------------------------------------------------------------------------------------


def _blob(text: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="cardscan-data">(.*?)</script>', text, re.S)
    assert match
    return json.loads(match[1])


def test_single_repo_page(example):
    text = render([example], "html")
    check_html(text)
    assert "default-src 'none'" in text  # the browser itself refuses any fetch
    data = _blob(text)
    assert data["kind"] == "repo" and data["eager"] and data["repos"][0]["id"] == "r0"
    assert expand(data, data["repos"][0])["memory"] == mib(json.loads(json.dumps(chart_data(example)["memory"])))
    assert 'id="repos"' not in text  # one repo: no table


def expand(page: dict[str, Any], e: dict[str, Any]) -> dict[str, Any]:
    """What the page's script does to an entry (html_assets.JS `expand`), in Python."""
    m = e["memory"]
    k = 1 << 20
    series = [
        {
            **s,
            "weights": s["weights"] * k,
            "totals": [t * k for t in s["totals"]],
            "at": [a * k for a in s["at"]],
            "limits": [_limit(m, c, b) for c, b in s["limits"]],
        }
        for s in m["series"]
    ]
    memory = {
        **m,
        "gpus": [page["gpus"][i] for i in m["gpus"]],
        "notes": [page["texts"][i] for i in m["notes"]],
        "contexts": page["texts"][m["contexts"]],
        "series": series,
    }
    return {**e, "memory": memory}  # fmt: skip


def _limit(m: dict[str, Any], c: int | None, b: int | None) -> list[Any]:
    c = m["max_context"] if c == -1 else c
    return [c, b, c is not None and c >= m["context"]]


def mib(m: dict[str, Any]) -> dict[str, Any]:
    """Series byte figures rounded to MiB, as the page stores them."""
    k = 1 << 20
    series = [{**s, "weights": round(s["weights"] / k) * k, "totals": [round(t / k) * k for t in s["totals"]],
               "at": [round(a / k) * k for a in s["at"]]} for s in m["series"]]  # fmt: skip
    return {**m, "series": series}


def test_compact_page_expands_to_the_chart_data(corpus):
    results = list(corpus.values())
    full = page_data(results, sample_audit(results))
    page = json.loads(json.dumps(compact_page(full)))
    for e, c in zip(full["repos"], page["repos"], strict=True):
        if "memory" in e:
            assert expand(page, c)["memory"] == mib(json.loads(json.dumps(e["memory"]))), e["name"]
        assert "name" not in c and "title" not in c and "status" not in c and c["id"] == e["id"]
    assert len(page["gpus"]) == 6  # one GPU set, stored once
    trend = page["repos"][0]["trend"]
    assert [page["runs"][i] for i in trend["run"]] == ["40", "41", "42"] and trend["commit"] == ["a", "b", "c"]
    assert len(json.dumps(page)) < 0.75 * len(json.dumps(full))


def test_batch_page_table(corpus):
    results = list(corpus.values())
    text = render(results, "html")
    check_html(text)
    assert text.count('<tr id="row-r') == len(results)
    assert '<th scope="col" data-key="params" data-type="num" aria-sort="none" title="' in text
    assert 'data-tags="error"' in text and "error: not_found</span>" in text
    assert f'<a href="#r0">{EXAMPLE}</a>' in text


def test_audit_page(corpus):
    results = list(corpus.values())
    audit = sample_audit(results)
    text = html_render(results, audit=audit)
    check_html(text)
    data = _blob(text)
    assert data["kind"] == "audit" and data["tiles"] == audit["tiles"] and data["diff"] == audit["diff"]
    assert "Changes since the last run" in text and "org/removed" in text
    assert text.count('class="badge changed"') >= 3 and "1 violation" in text
    assert 'data-tags="ok violation"' in text and 'data-tags="ok changed"' in text
    assert page_data(results, audit)["repos"][0]["trend"] == audit["trend"][results[0].repo_id]
    assert data["repos"][0]["trend"]["w"] == [
        round(p["weights_bytes"] / 2**20) for p in audit["trend"][results[0].repo_id]
    ]
    assert text.count("<td class=trend>") == len(results)


def test_hostile_text_stays_text(example):
    """Card text, repo ids and audit messages cannot close the JSON's script element or open markup."""
    hostile = dataclasses.replace(example, repo_id="</script><script>alert(1)</script>", notes=(EVIL,))
    audit = {"rows": [{"repo": hostile.repo_id, "violations": [{"rule": EVIL, "message": EVIL}]}],
             "diff": [{"repo": EVIL, "field": EVIL, "before": EVIL, "after": None}], "title": EVIL}  # fmt: skip
    text = html_render([hostile, example], audit=audit)
    check_html(text)
    assert "</script><script>alert" not in text and "<script>alert" not in text
    assert _blob(text)["repos"][0]["audit"]["violations"][0]["message"] == EVIL  # intact after the round trip


def test_lazy_sections_on_long_pages(example):
    data = page_data([example] * (EAGER_SECTIONS + 1))
    assert not data["eager"] and [e["id"] for e in data["repos"]][-1] == f"r{EAGER_SECTIONS}"
