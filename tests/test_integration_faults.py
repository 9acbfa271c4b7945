"""Integration under faults: the real client's retries against the Hub emulator's knobs (docs/emulator.md).

Retries here really wait (no sleep is injected below `scan()`): the backoff starts at 0.5 s and a cdn 429 asks
for Retry-After 1 s. The persistent-5xx test sets `ScanOptions.retries=2` to keep its budget to 0.5 + 1 s.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cardscan.scanner import scan, scan_many
from cardscan.sources.http import READ_CHUNK
from cardscan.testing.hub import HubEmulator
from tests.test_integration import APPROVED, CORPUS, LLAMA2, cdn_reads, options

pytestmark = pytest.mark.integration

GPT2 = "openai-community/gpt2"
GPT2_TOTAL = CORPUS[GPT2].total
HUB_ROOT = Path(__file__).parent / "fixtures" / "hub"


def statuses(hub: HubEmulator, origin: str) -> list[int]:
    return [e.status for e in hub.log if e.origin == origin]


def test_cdn_429_with_retry_after_then_success(hub):
    hub.set_fault(GPT2, fail_429=1, retry_after=1, origin="cdn")
    r = scan(GPT2, options(hub))
    assert r.ok and r.parameters.total == GPT2_TOTAL
    assert r.io.retries == 1
    assert statuses(hub, "cdn")[0] == 429 and statuses(hub, "cdn")[1:] == [206, 206]
    # The cdn location learnt from the first 302 serves the retry and the second read (it is dropped, and the hub
    # asked again, only when the cdn answers an error to a request that used it).
    assert [e.status for e in hub.log if "model.safetensors" in e.path and e.origin == "hub"] == [302]


def test_busy_cdn_at_a_located_url_is_retried_there(hub):
    """A sharded repo learns each shard's cdn location while its index is read: a 503 from the cdn there is a busy
    server, not a stale location, so the retry goes to the same location (one retry, no second resolver request)."""
    repo = "meta-llama/Llama-2-7b-hf"
    hub.set_fault(None, latency=0.05)  # the index is still in flight when the shard reads start: they locate first
    hub.set_fault(repo, fail_5xx=1, status_5xx=503, origin="cdn")
    r = scan(repo, options(hub, APPROVED))
    assert r.ok and r.parameters.total == LLAMA2 and r.io.retries == 1
    assert sorted(statuses(hub, "cdn")) == [206, 206, 503]
    assert [e.status for e in hub.log if ".safetensors" in e.path and e.origin == "hub" and "index" not in e.path] == [
        302,
        302,
    ]


def test_hub_429_pauses_every_worker_until_the_reset(hub):
    """A hub 429 carries `RateLimit: r=0;t=<window reset>`: the shared limiter holds every worker until the reset
    (here a 2 s window), then the batch goes on; nobody fails and only the one 429 is seen."""
    hub.set_fault(None, rate_window=2)
    hub.set_fault(GPT2, fail_429=1, origin="hub", only="/api/models/")
    results = scan_many([GPT2, "org/variants", "org/no-readme"], options(hub, ""), workers=3)
    assert [r.ok or r.error.code for r in results] == [True, True, True]
    assert sum(r.io.rate_limited for r in results) == 1 == statuses(hub, "hub").count(429)
    assert results[0].io.rate_wait_s > 0


def test_hub_429_longer_than_the_pause_cap_fails_fast(hub):
    """A reset further away than the limiter's `max_pause` fails the request at once as `rate_limited`."""
    from cardscan.sources.http import HubSession
    from cardscan.sources.ratelimit import RateLimiter

    hub.set_fault(None, rate_window=300)
    hub.set_fault(GPT2, fail_429=1, origin="hub")
    session = HubSession(4, RateLimiter(max_pause=5))
    start = time.monotonic()
    r = scan(GPT2, options(hub), session=session)
    assert r.error.code == "rate_limited" and "quota resets in" in r.error.message
    assert time.monotonic() - start < 5 and len(hub.log) == 1


def test_5xx_retried_within_bounds(hub):
    hub.set_fault(GPT2, fail_5xx=2, status_5xx=502, only="/api/models/")
    r = scan(GPT2, options(hub))
    assert r.ok and r.parameters.total == GPT2_TOTAL
    assert r.io.retries == 2 and statuses(hub, "hub")[:3] == [502, 502, 200]


def test_cdn_503_retried(hub):
    hub.set_fault(GPT2, fail_5xx=1, status_5xx=503, origin="cdn")
    r = scan(GPT2, options(hub))
    assert r.ok and r.io.retries == 1 and statuses(hub, "cdn")[0] == 503


def test_connection_reset_mid_body_retried_and_token_stays_off_the_cdn(hub):
    repo = "meta-llama/Llama-2-7b-hf"
    hub.set_fault(repo, reset_mid_body=1, origin="cdn")
    r = scan(repo, options(hub, APPROVED))
    assert r.ok and r.parameters.total == LLAMA2
    assert r.io.retries == 1
    cut = [e for e in hub.log if e.origin == "cdn" and e.status == 206 and e.bytes_sent < _span(e.range)]
    assert len(cut) == 1
    assert not any(e.authorization_present for e in hub.log if e.origin == "cdn")


def test_truncated_weight_body_retried(hub):
    hub.set_fault(GPT2, truncate_body=1, origin="cdn")
    r = scan(GPT2, options(hub))
    assert r.ok and r.parameters.total == GPT2_TOTAL and r.io.retries == 1


def test_truncated_small_file_retried(hub):
    """A config.json cut short is retried, not parsed as broken JSON."""
    hub.set_fault(GPT2, truncate_body=1, only="config.json")
    r = scan(GPT2, options(hub))
    assert r.ok and r.io.retries == 1 and r.warnings == ()
    assert r.model.architecture == "GPT2LMHeadModel"
    assert [e.path.endswith("config.json") for e in hub.log].count(True) == 2


def test_persistent_5xx_is_an_error_result_and_the_batch_goes_on(hub):
    broken = "org/no-readme"
    hub.set_fault(broken, fail_5xx=100, status_5xx=500, only="/api/models/")
    targets = [GPT2, broken, "org/does-not-exist", "meta-llama/Llama-2-7b-hf", "org/config-only"]
    results = scan_many(targets, options(hub, "", retries=2), workers=5)
    assert [r.input for r in results] == targets
    assert [r.error.code if r.error else "ok" for r in results] == ["ok", "network", "not_found", "gated", "ok"]
    failed = results[1]
    assert "500" in failed.error.message and failed.io.retries == 2  # ScanOptions.retries
    assert sum(1 for e in hub.log if f"/api/models/{broken}/" in e.path) == 3  # 1 try + 2 retries, then stop
    assert results[0].parameters.total == GPT2_TOTAL


def test_server_ignoring_range_costs_a_header_and_one_read_buffer(hub):
    """The cdn answers 200 with the whole 548 MB file; the client stops after what it asked for. The body is paced
    (8 KiB pieces, 50 ms apart) so what the emulator logs as sent is what the client let through."""
    hub.set_fault(GPT2, ignore_range=True, bandwidth=160 << 10, origin="cdn")
    r = scan(GPT2, options(hub))
    assert r.ok and r.parameters.total == GPT2_TOTAL
    (f,) = r.weights.files
    # An entry is logged with the full planned length and corrected once the server's write fails: wait for that.
    deadline = time.monotonic() + 10
    while any(e.bytes_sent == f.bytes for e in cdn_reads(hub)[f.path]) and time.monotonic() < deadline:
        time.sleep(0.02)
    reads = cdn_reads(hub)[f.path]
    assert [e.status for e in reads] == [200, 200]
    for e in reads:
        assert e.bytes_sent <= f.header_bytes + READ_CHUNK, e
    assert sum(e.bytes_sent for e in reads) < 4 * (f.header_bytes + READ_CHUNK)  # not the 548 MB file


def _span(rng: str | None) -> int:
    """Bytes a `bytes=a-b` Range asks for."""
    start, end = rng.removeprefix("bytes=").split("-")
    return int(end) - int(start) + 1


# -- a 500-repo batch with 10 % of the repos given a fault ---------------------------------------------------------

BATCH = 500
# (kind, knobs, transient?) — each given to BATCH // 100 repos; stalls outlast the 1 s timeout on every try.
FAULTS: list[tuple[str, dict, bool]] = [
    ("429 + Retry-After", {"fail_429": 1, "retry_after": 1, "origin": "cdn"}, True),
    ("429, no Retry-After", {"fail_429": 1, "retry_after": None, "origin": "cdn"}, True),
    ("hub 429 (RateLimit t)", {"fail_429": 1, "origin": "hub", "only": "/api/models/"}, True),
    ("5xx burst", {"fail_5xx": 2, "status_5xx": 503, "only": "/api/models/"}, True),
    ("reset mid-body", {"reset_mid_body": 1, "origin": "cdn"}, True),
    ("truncated body", {"truncate_body": 1, "only": "config.json"}, True),
    ("Range ignored", {"ignore_range": True, "origin": "cdn"}, True),
    ("redirect to another host", {"redirect_to": "{cdn}/elsewhere?token={token}", "only": "README.md"}, False),
    ("redirect loop", {"redirect_to": "{path}", "only": "config.json"}, False),
    ("stall", {"first_byte_delay": 3.0, "only": "config.json"}, False),
]
PERMANENT_CODES = {"redirect to another host": "not_found", "redirect loop": "network", "stall": "network"}


@pytest.fixture(scope="module")
def batch_hub(tmp_path_factory: pytest.TempPathFactory):
    from cardscan.testing.hub import replicate

    root = tmp_path_factory.mktemp("batch-corpus")
    ids = replicate(HUB_ROOT, [GPT2], root, BATCH)
    with HubEmulator(root, cache_dir=root / ".cache") as emu:
        yield emu, ids


def test_500_repo_batch_with_10_percent_faults(batch_hub):
    hub, ids = batch_hub
    hub.reset()
    hub.set_fault(None, rate_window=2, rate_quotas={"api": 10**6, "resolvers": 10**6, "pages": 10**6})
    per_kind = BATCH // 10 // len(FAULTS)
    kind_of: dict[str, str] = {}
    for k, (kind, knobs, _) in enumerate(FAULTS):
        for repo in ids[k * 50 : k * 50 + per_kind]:  # spread over the batch
            hub.set_fault(repo, **knobs)
            kind_of[repo] = kind
    assert len(kind_of) == BATCH // 10
    start = time.monotonic()
    results = scan_many(ids, options(hub, "hf_canary_token", retries=2, timeout=1.0), workers=32)
    assert time.monotonic() - start < 60  # nothing hangs (about 20 s here on 2 busy cores)
    transient = {kind for kind, _, ok in FAULTS if ok}
    for r in results:
        kind = kind_of.get(r.input)
        if kind is None or kind in transient:
            assert r.ok, (kind, r.error)
            assert r.parameters.total == GPT2_TOTAL
        else:
            assert r.error.code == PERMANENT_CODES[kind], (kind, r.error)
            assert "hf_canary_token" not in r.error.message
    faulted = [r for r in results if kind_of.get(r.input) in transient - {"Range ignored"}]
    assert all(r.io.retries >= 1 for r in faulted)
    # The client's own counts match what the emulator saw.
    assert sum(r.io.requests for r in results) == len(hub.log)
    assert sum(r.io.rate_limited for r in results) == sum(e.status == 429 for e in hub.log)
    assert sum(r.io.cdn_requests for r in results) == sum(e.origin == "cdn" for e in hub.log)
    assert sum(r.io.api_requests for r in results) == sum(e.path.startswith("/api/models/") for e in hub.log)
    assert not any(e.authorization_present for e in hub.log if e.origin == "cdn")
