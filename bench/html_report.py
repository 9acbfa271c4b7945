"""HTML audit report for 1,000 repos: file size and load time in headless Chromium.

The 1,000 results are real scans of the emulator's corpus (tests/fixtures/hub, plus the offline example) replicated
under distinct names, with an audit dict in the shape render/html.py documents (violations on every 10th repo,
changes on every 20th, a 7-run trend for every repo). Goals (issue 12): file < 3 MB, load event < 2 s.

    python bench/html_report.py [--repos 1000] [--runs 5]   → bench/results/html_report.md / .json

Needs Chromium (/usr/bin/chromium, or $CARDSCAN_CHROMIUM) and the playwright package; never `playwright install`.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine, machine_line, md_table, write_result

from cardscan.render.html import render
from cardscan.result import ScanResult
from cardscan.scanner import ScanOptions, scan
from cardscan.testing.hub import HubEmulator

CORPUS = ROOT / "tests" / "fixtures" / "hub"
CHROMIUM = os.environ.get("CARDSCAN_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
TREND_RUNS = 7


def corpus_results() -> list[ScanResult]:
    """Every corpus repo through the emulator (approved token for the gated ones) and the offline example."""
    repos = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.glob("*/*") if p.is_dir())
    with HubEmulator(CORPUS, cache_dir=Path(tempfile.mkdtemp())) as hub:
        options = ScanOptions(curves=True, endpoint=hub.url, token="hf_approved", context=8192)
        results = [scan(r, options) for r in repos]
    return [scan(str(ROOT / "examples" / "llama-2-7b"), ScanOptions(curves=True, context=8192)), *results]


def replicate(results: list[ScanResult], n: int) -> list[ScanResult]:
    out = []
    for i in range(n):
        r = results[i % len(results)]
        out.append(dataclasses.replace(r, repo_id=f"{r.repo_id or r.input}-{i // len(results)}"))
    return out


def audit_for(results: list[ScanResult]) -> dict[str, Any]:
    rows, diff, trend = [], [], {}
    for i, r in enumerate(results):
        name = r.repo_id or r.input
        row: dict[str, Any] = {"repo": name, "status": "ok"}
        if i % 10 == 3:
            row["violations"] = [{"rule": "fits-rtx4090", "severity": "error", "message": "needs more than 23.6 GiB"}]
        if i % 20 == 7:
            row["changes"] = [{"field": "commit", "before": "a" * 7, "after": "b" * 7}]
            diff.append({"repo": name, "field": "commit", "before": "a" * 7, "after": "b" * 7})
        rows.append(row)
        w = r.weights.bytes if r.weights and r.weights.bytes else None
        trend[name] = [{"run": f"2026-11-{20 + k:02d}", "weights_bytes": w, "commit": "a" * 7 if k < 5 else "b" * 7}
                       for k in range(TREND_RUNS)]  # fmt: skip
    tiles = [
        {"label": "repos", "value": len(results), "kind": "info"},
        {"label": "violations", "value": sum("violations" in r for r in rows), "kind": "error"},
        {"label": "errors", "value": sum(not r.ok for r in results), "kind": "error"},
        {"label": "changed since last run", "value": len(diff), "kind": "changed"},
    ]
    return {"title": f"audit of {len(results):,} repos", "run": {"run": "bench"}, "tiles": tiles, "rows": rows,
            "diff": diff, "trend": trend}  # fmt: skip


def browser_times(path: Path, runs: int) -> dict[str, Any]:
    """Navigation timing over `runs` fresh pages: load event, DOMContentLoaded, a section opened from the table, a sort."""
    from playwright.sync_api import sync_playwright

    loads, dcl, drawn, sorts, errors = [], [], [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(path.as_uri(), wait_until="load")
            nav = page.evaluate("JSON.parse(JSON.stringify(performance.getEntriesByType('navigation')[0]))")
            loads.append(nav["loadEventEnd"] / 1000)
            dcl.append(nav["domContentLoadedEventEnd"] / 1000)
            start = time.perf_counter()
            page.locator('#row-r500 a[href="#r500"]').click()
            page.wait_for_selector("#r500[data-drawn]", state="attached")
            drawn.append(time.perf_counter() - start)
            start = time.perf_counter()
            page.locator('#repos th[data-key="memory"] button').click()
            page.evaluate("new Promise(r => requestAnimationFrame(() => r()))")
            sorts.append(time.perf_counter() - start)
            page.close()
        browser.close()
    return {"load_s": loads, "dcl_s": dcl, "first_section_s": drawn, "sort_s": sorts, "console_errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    info = machine()
    base = corpus_results()
    results = replicate(base, args.repos)
    audit = audit_for(results)
    start = time.perf_counter()
    text = render(results, audit=audit)
    render_s = time.perf_counter() - start
    out = Path(tempfile.mkdtemp()) / "audit.html"
    out.write_text(text, encoding="utf-8")
    size = len(text.encode("utf-8"))
    gz = len(gzip.compress(text.encode("utf-8")))
    times = browser_times(out, args.runs)
    med = {k: statistics.median(v) for k, v in times.items() if k != "console_errors"}
    rows = [
        ("repos on the page", f"{args.repos:,} ({len(base)} real results replicated)", ""),
        ("file size", f"{size / 1e6:.2f} MB ({size:,} B; gzip {gz / 1e6:.2f} MB)", "< 3 MB"),
        ("render (Python, page from results)", f"{render_s * 1000:.0f} ms", ""),
        (f"load event (median of {args.runs})", f"{med['load_s'] * 1000:.0f} ms "
         f"(min {min(times['load_s']) * 1000:.0f}, max {max(times['load_s']) * 1000:.0f})", "< 2 s"),
        ("DOMContentLoaded (median)", f"{med['dcl_s'] * 1000:.0f} ms", ""),
        ("open a section from its table row (median)", f"{med['first_section_s'] * 1000:.0f} ms", ""),
        ("sort 1,000 rows by memory (median)", f"{med['sort_s'] * 1000:.0f} ms", ""),
        ("console errors", str(len(times["console_errors"])), "0"),
    ]  # fmt: skip
    markdown = "\n\n".join([
        f"# HTML audit report, {args.repos:,} repos",
        machine_line(info),
        md_table(("figure", "result", "goal"), rows),
        f"Chromium: `{CHROMIUM}` headless; page at `{out}`.",
    ])  # fmt: skip
    data = {"machine": info, "repos": args.repos, "bytes": size, "gzip_bytes": gz, "render_s": render_s, **times}
    write_result("html_report", markdown, data)


if __name__ == "__main__":
    main()
