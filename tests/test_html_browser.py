"""The HTML report in a real headless Chromium (Debian's `chromium`, driven by Playwright's Python package).

Skipped when Chromium or Playwright is missing, unless CARDSCAN_REQUIRE_BROWSER=1 (CI), where that is a failure.
Screenshots go under the test's temp dir (and into $CARDSCAN_ARTIFACTS when set); their paths are printed.
Playwright drives the installed binary: `playwright install` (a browser download) is never needed.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cardscan.render.html import EAGER_SECTIONS, chart_data
from cardscan.render.html import render as html_render
from cardscan.result import ScanResult
from cardscan.testing.hub import HubEmulator
from tests.test_html_report import corpus_results, sample_audit

CHROMIUM = os.environ.get("CARDSCAN_CHROMIUM", "/usr/bin/chromium")
REQUIRE = os.environ.get("CARDSCAN_REQUIRE_BROWSER") == "1"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip


def _missing(what: str) -> None:
    message = f"{what} missing (apt-get install chromium; pip install playwright)"
    if REQUIRE:
        pytest.fail(f"CARDSCAN_REQUIRE_BROWSER=1 but {message}")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package")
    if not Path(CHROMIUM).exists():
        _missing(f"Chromium ({CHROMIUM})")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def results(hub_server: HubEmulator) -> list[ScanResult]:
    hub_server.reset()
    return corpus_results(hub_server, context=8192)


class Page:
    """One loaded page with what it logged and requested."""

    def __init__(self, browser: Any, path: Path, width: int = 1200, **context: Any) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": 900}, **context)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.context.route("**/*", self._route)
        self.page.goto(path.as_uri(), wait_until="load")
        self.url = path.as_uri()

    def _route(self, route: Any) -> None:
        # Only the page itself may load; anything else is recorded (by the request listener) and refused.
        if route.request.url == self.page.url or route.request.url.startswith("file:"):
            route.continue_()
        else:
            route.abort()

    def count(self, selector: str) -> int:
        return int(self.page.locator(selector).count())

    def attr(self, selector: str, name: str) -> list[str]:
        return list(self.page.eval_on_selector_all(selector, f"els => els.map(e => e.getAttribute('{name}'))"))

    def close(self) -> None:
        self.context.close()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def keep(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Print a screenshot's path (CI keeps it as an artifact) and copy it to $CARDSCAN_ARTIFACTS when set."""
    target = os.environ.get("CARDSCAN_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        path = Path(shutil.copy(path, Path(target) / path.name))
    with capsys.disabled():
        print(f"\nscreenshot: {path}")


def assert_clean(p: Page) -> None:
    assert p.errors == []
    assert p.requests == [p.url]  # nothing but the file itself


def test_single_repo_page(browser, results, tmp_path, capsys):
    r = results[0]
    data = chart_data(r)
    m = data["memory"]
    p = Page(browser, write(tmp_path, "single.html", html_render([r])))
    try:
        assert_clean(p)
        assert p.count("#r0 figure.memchart svg.chart g.series") == len(m["series"]) == 3
        assert p.attr("#r0 figure.memchart svg.chart g.series", "data-points") == [str(len(m["contexts"]))] * 3
        assert p.count("#r0 figure.memchart svg.chart g.series circle") == 3 * len(m["contexts"])
        assert p.count("#r0 figure.memchart g.gpu") == sum(g["budget"] <= 30 * 2**30 for g in m["gpus"])
        assert p.count("#r0 figure.stack rect") == 4 * len(m["series"])
        assert p.count("#r0 table.matrix tbody td") == len(m["series"]) * len(m["gpus"])
        assert p.count("#r0 table.matrix td.no") == 1  # the 12 GB card at fp16
        assert p.count("#r0 .pbar") == len(data["params"]["bars"])
        assert p.count("#r0 table.claims tbody tr") == len(data["claims"]) == 1
        # Every chart has a text alternative.
        for svg in p.page.locator("#r0 svg.chart").all():
            assert svg.get_attribute("role") == "img" and svg.get_attribute("aria-label")
            assert svg.locator("title").first.text_content() and svg.locator("desc").count() == 1
        tip = p.page.locator("#r0 figure.memchart svg.chart g.series circle title").first.text_content()
        assert tip.startswith("stored (fp16) at 128 tokens: ") and "GiB" in tip
        shot = tmp_path / "single-repo.png"
        p.page.screenshot(path=str(shot), full_page=True)
        keep(shot, capsys)
    finally:
        p.close()


def test_long_context_marks_where_each_gpu_runs_out(browser, results, tmp_path):
    r = next(x for x in results if x.repo_id == "meta-llama/Llama-3.1-8B")
    p = Page(browser, write(tmp_path, "llama31.html", html_render([r])))
    try:
        assert_clean(p)
        titles = p.page.locator("#r0 .markers path title").all_text_contents()
        m = chart_data(r)["memory"]
        i = [g["name"] for g in m["gpus"]].index("RTX 4090 24GB")
        limit = m["series"][0]["limits"][i][0]
        assert f"stored (bf16) on RTX 4090 24GB: largest context that fits {limit:,} tokens at batch 1" in titles
        assert int(p.attr("#r0 .markers", "data-count")[0]) == len(titles)
        assert p.count("#r0 table.matrix td.yes") >= 1 and p.count("#r0 table.matrix td.no") >= 1
    finally:
        p.close()


def test_gguf_quants_are_points(browser, results, tmp_path):
    r = next(x for x in results if x.repo_id == "TheBloke/Llama-2-7B-GGUF")
    p = Page(browser, write(tmp_path, "gguf.html", html_render([r])))
    try:
        assert_clean(p)
        assert p.attr("#r0 g.quants", "data-points") == ["3"]
        assert p.count("#r0 g.quants circle") == 3 and p.count("#r0 g.quant.chosen") == 1
        assert p.count("#r0 table.quants tbody tr") == 3
    finally:
        p.close()


def _column(p: Page, index: int) -> list[str]:
    js = f"() => [...document.querySelectorAll('#repos tbody tr')].filter(r => !r.hidden).map(r => r.cells[{index}].dataset.v ?? r.cells[{index}].textContent)"
    return list(p.page.evaluate(js))


def test_batch_table_sorts_and_filters(browser, results, tmp_path):
    p = Page(browser, write(tmp_path, "batch.html", html_render(results)))
    try:
        assert_clean(p)
        assert p.count("#repos tbody tr") == len(results)
        assert p.count("section.repo svg.chart") > 0  # short page: every section drawn at load
        header = p.page.locator('#repos th[data-key="params"] button')
        header.click()
        values = _column(p, 1)
        numbers = [float(v) for v in values if v]
        assert numbers == sorted(numbers) and values[-1] == ""  # unknown last
        assert p.attr('#repos th[data-key="params"]', "aria-sort") == ["ascending"]
        header.click()
        numbers = [float(v) for v in _column(p, 1) if v]
        assert numbers == sorted(numbers, reverse=True)
        p.page.locator('#repos th[data-key="name"] button').click()
        names = _column(p, 0)
        assert names == sorted(names, key=str.lower)
        p.page.fill("#filter", "llama")
        expected = [r for r in results if "llama" in f"{r.repo_id} {r.card.license if r.card else ''}".lower()]
        assert len(_column(p, 0)) == len(expected) == 5
        assert p.page.text_content("#shown") == f"5 of {len(results)} shown"
        p.page.fill("#filter", "")
        p.page.select_option("#status-filter", "error")
        assert _column(p, 0) == ["org/private"]
    finally:
        p.close()


def test_audit_page_lazy_sections_trend_and_diff(browser, results, tmp_path, capsys):
    many = [dataclasses.replace(r, repo_id=f"{r.repo_id}-{i}" if i else r.repo_id)
            for i in range(5) for r in results]  # fmt: skip
    assert len(many) > EAGER_SECTIONS
    audit = sample_audit(results)
    p = Page(browser, write(tmp_path, "audit.html", html_render(many, audit=audit)))
    try:
        assert_clean(p)
        assert p.count(".tiles li") == 4 and p.count("table.diff tbody tr") == 3
        assert p.count("#repos td.trend svg.spark") == len(audit["trend"])
        assert p.attr("#repos td.trend svg.spark", "data-points")[:1] == ["3"]
        assert p.count('#repos tr[data-tags~="violation"]') == 2
        last = f"r{len(many) - 1}"
        assert p.page.locator(f"#{last} .body").inner_html() == ""  # far below: not drawn yet
        p.page.select_option("#status-filter", "changed")
        assert len(_column(p, 0)) == 2
        p.page.select_option("#status-filter", "")
        p.page.locator(f'#row-{last} a[href="#{last}"]').click()
        p.page.wait_for_selector(f"#{last}[data-drawn] .body p.error", state="attached")
        shot = tmp_path / "audit.png"
        p.page.evaluate("window.scrollTo(0, 0)")
        p.page.screenshot(path=str(shot), clip={"x": 0, "y": 0, "width": 1200, "height": 1400})
        keep(shot, capsys)
        p.page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
        assert p.count("section.repo .body:empty") == 0  # printing draws every section
    finally:
        p.close()


def test_dark_scheme_and_phone_width(browser, results, tmp_path):
    # A deep local path is one unbroken word: where the checkout lies must not widen the page (CI's did).
    deep = "/" + "/".join(["checkouts"] * 8) + "/examples/llama-2-7b"  # breaks only at the hyphens
    first = dataclasses.replace(results[0], input=deep, repo_id=deep)
    path = write(tmp_path, "dark.html", html_render([first]))
    p = Page(browser, path, color_scheme="dark")
    try:
        assert_clean(p)
        background = p.page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(18, 21, 25)"
    finally:
        p.close()
    phone = Page(browser, path, width=390)
    try:
        assert_clean(phone)
        # Nothing wider than the phone: wide charts and tables scroll inside their own boxes.
        assert phone.page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        phone.close()


def test_the_harness_sees_a_fetch(browser, tmp_path):
    """Guards the checks above: a page that does load something is caught by the request log."""
    p = Page(browser, write(tmp_path, "leak.html", '<!DOCTYPE html><img src="http://127.0.0.1:9/x.png" alt="">'))
    try:
        assert p.requests[0] == p.url and p.requests[1:] == ["http://127.0.0.1:9/x.png"]
    finally:
        p.close()
