"""HubSource against mocked Hub replies (responses): listing, Range reads, redirects, errors, retries."""

from __future__ import annotations

import io
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import responses

from cardscan.errors import ErrorCode, ScanError
from cardscan.sources.base import RepoFile
from cardscan.sources.http import make_session, parse_content_range, server_wait
from cardscan.sources.hub import HubConfig, HubSource

EP = "https://huggingface.co"
CDN = "https://cdn-lfs.hf.co"
REPO = "org/model"
SHA = "c0ffee0000000000000000000000000000000001"
TOKEN = "hf_SeCrEtToKeN1234567890"
FIXTURES = Path(__file__).parent / "fixtures" / "hub_api"


def fixture(name: str) -> dict | list:
    return json.loads((FIXTURES / name).read_text())


def make(repo: str = REPO, rev: str = "main", token: str | None = None, **cfg) -> tuple[HubSource, list[float]]:
    sleeps: list[float] = []
    source = HubSource(repo, rev, config=HubConfig(endpoint=EP, token=token, **cfg), sleep=sleeps.append)
    return source, sleeps


def info_url(repo: str = REPO, rev: str = "main") -> str:
    return f"{EP}/api/models/{repo}/revision/{rev}?blobs=true"


def resolve(path: str, rev: str = "main", repo: str = REPO) -> str:
    return f"{EP}/{repo}/resolve/{rev}/{path}"


def pattern(start: int, end: int) -> bytes:
    return bytes(i % 251 for i in range(start, end))


class CountingRaw(io.RawIOBase):
    """A large body produced on demand, counting how many bytes the client actually took."""

    def __init__(self, size: int) -> None:
        self.size, self.taken = size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        n = min(len(buf), self.size - self.taken)
        buf[:n] = pattern(self.taken, self.taken + n)
        self.taken += n
        return n


def sent(i: int) -> requests.PreparedRequest:
    return responses.calls[i].request


# -- listing ---------------------------------------------------------------------------------------------------


@responses.activate
def test_listing_single_file_repo() -> None:
    responses.get(info_url("bigscience/bloomz-560m"), json=fixture("model_info_single.json"))
    source, _ = make("bigscience/bloomz-560m")
    listing = source.listing()
    assert listing.repo_id == "bigscience/bloomz-560m"
    assert listing.commit == "a2845d7e13dd12efae154a9f1c63fcc2e0cc4b05"
    assert listing.file("model.safetensors") == RepoFile("model.safetensors", 1118459450)
    assert len(listing.files) == 4
    assert listing.gated is False and listing.private is False
    assert listing.card_data == {"license": "bigscience-bloom-rail-1.0", "pipeline_tag": "text-generation"}
    assert source.listing() is listing  # cached: still one request
    assert len(responses.calls) == 1 and source.stats.requests == 1
    assert sent(0).headers["User-Agent"].startswith("cardscan/")
    assert "Authorization" not in sent(0).headers


@responses.activate
def test_listing_sharded_gated_repo_pins_reads_to_commit() -> None:
    info = fixture("model_info_sharded.json")
    responses.get(info_url("HuggingFaceH4/zephyr-7b-beta"), json=info)
    responses.get(resolve("config.json", info["sha"], "HuggingFaceH4/zephyr-7b-beta"), body=b"{}")
    source, _ = make("HuggingFaceH4/zephyr-7b-beta", token=TOKEN)
    listing = source.listing()
    assert listing.gated == "manual"
    assert [f.path for f in listing.files if f.path.endswith(".safetensors")] == [
        "model-00001-of-00008.safetensors",
        "model-00002-of-00008.safetensors",
    ]
    assert source.read_file("config.json") == b"{}"
    assert sent(1).headers["Authorization"] == f"Bearer {TOKEN}"


@responses.activate
def test_listing_without_sizes_walks_every_tree_page() -> None:
    # The repo was renamed: later URLs use the canonical id and the resolved commit.
    responses.get(info_url("old/name"), json=fixture("model_info_no_sizes.json"))
    tree = f"{EP}/api/models/org/renamed-model/tree/{SHA}"
    page2 = f"{tree}?recursive=true&cursor=abc"
    responses.get(f"{tree}?recursive=true", json=fixture("tree_page1.json"), headers={"Link": f'<{page2}>; rel="next"'})
    # A relative next link is resolved against the page URL.
    rel3 = f'</api/models/org/renamed-model/tree/{SHA}?recursive=true&cursor=def>; rel="next"'
    responses.get(page2, json=fixture("tree_page2.json"), headers={"Link": rel3})
    responses.get(f"{tree}?recursive=true&cursor=def", json=fixture("tree_page3.json"))
    source, _ = make("old/name")
    listing = source.listing()
    assert listing.repo_id == "org/renamed-model" and listing.commit == SHA and listing.private is True
    assert listing.files == (
        RepoFile("config.json", 855),
        RepoFile("model.safetensors", 4976698672),  # the LFS blob size, not the pointer's
        RepoFile("original/params.json", 199),
    )
    assert source.stats.requests == 4
    responses.get(resolve("config.json", SHA, "org/renamed-model"), body=b"x")
    assert source.read_file("config.json") == b"x"


@responses.activate
def test_tree_page_loop_is_an_error() -> None:
    responses.get(info_url(), json={"id": REPO, "sha": SHA, "siblings": [{"rfilename": "a"}]})
    tree = f"{EP}/api/models/{REPO}/tree/{SHA}?recursive=true"
    responses.get(tree, json=[], headers={"Link": f'<{tree}>; rel="next"'})
    source, _ = make()
    with pytest.raises(ScanError) as err:
        source.listing()
    assert err.value.code is ErrorCode.NETWORK


@responses.activate
def test_pr_revision_is_encoded_in_info_and_resolve_urls() -> None:
    responses.get(f"{EP}/api/models/{REPO}/revision/refs%2Fpr%2F3?blobs=true", json=fixture("model_info_single.json"))
    responses.get(f"{EP}/{REPO}/resolve/refs%2Fpr%2F3/config.json", body=b"{}")
    source, _ = make(rev="refs/pr/3")
    assert source.read_file("config.json") == b"{}"  # before listing: the revision itself, encoded
    assert source.listing().revision == "refs/pr/3"
    assert sent(1).url == f"{EP}/api/models/{REPO}/revision/refs%2Fpr%2F3?blobs=true"


def test_bad_repo_id_is_rejected() -> None:
    for bad in ("", "a/b/c", "../x", "org/"):
        with pytest.raises(ScanError) as err:
            make(bad)
        assert err.value.code is ErrorCode.BAD_INPUT


# -- Range reads -------------------------------------------------------------------------------------------------


@responses.activate
def test_range_206() -> None:
    responses.get(
        resolve("model.safetensors"),
        status=206,
        body=pattern(100, 200),
        headers={"Content-Range": "bytes 100-199/5000"},
    )
    source, _ = make()
    chunk = source.read_range("model.safetensors", 100, 200)
    assert chunk.data == pattern(100, 200) and chunk.total == 5000
    assert sent(0).headers["Range"] == "bytes=100-199"
    assert sent(0).headers["Accept-Encoding"] == "identity"
    assert source.stats.bytes_read == 100 and source.stats.ranges_ignored == 0


@responses.activate
def test_range_206_short_at_end_of_file() -> None:
    responses.get(resolve("f"), status=206, body=b"abc", headers={"Content-Range": "bytes 7-9/10"})
    source, _ = make()
    chunk = source.read_range("f", 7, 100)
    assert chunk.data == b"abc" and chunk.total == 10


@responses.activate
def test_range_206_from_wrong_offset_is_refused() -> None:
    responses.get(resolve("f"), status=206, body=b"abc", headers={"Content-Range": "bytes 0-2/10"})
    source, _ = make()
    with pytest.raises(ScanError) as err:
        source.read_range("f", 5, 8)
    assert err.value.code is ErrorCode.RANGE_UNSUPPORTED


@responses.activate
def test_range_ignored_200_stops_early() -> None:
    size = 50 << 20
    raw = CountingRaw(size)
    responses.get(
        resolve("big.safetensors"), status=200, body=io.BufferedReader(raw), headers={"Content-Length": str(size)}
    )
    source, _ = make()
    chunk = source.read_range("big.safetensors", 0, 1000)
    assert chunk.data == pattern(0, 1000) and chunk.total == size
    assert raw.taken < 128 << 10  # a few small chunks, not the 50 MiB body
    assert source.stats.ranges_ignored == 1 and source.stats.bytes_read < 64 << 10


@responses.activate
def test_range_ignored_200_with_small_offset_skips_prefix() -> None:
    raw = CountingRaw(10 << 20)
    responses.get(resolve("f"), status=200, body=io.BufferedReader(raw))
    source, _ = make()
    assert source.read_range("f", 5000, 6000).data == pattern(5000, 6000)
    assert raw.taken < 128 << 10


@responses.activate
def test_range_ignored_200_far_offset_is_refused_without_downloading() -> None:
    raw = CountingRaw(40 << 20)
    responses.get(resolve("f"), status=200, body=io.BufferedReader(raw))
    source, _ = make()
    with pytest.raises(ScanError) as err:
        source.read_range("f", 30 << 20, (30 << 20) + 100)
    assert err.value.code is ErrorCode.RANGE_UNSUPPORTED
    assert raw.taken < 128 << 10


@responses.activate
def test_range_416_is_empty_chunk_with_total() -> None:
    responses.get(resolve("f"), status=416, headers={"Content-Range": "bytes */10"})
    source, _ = make()
    chunk = source.read_range("f", 10, 20)
    assert chunk.data == b"" and chunk.total == 10


# -- redirects ----------------------------------------------------------------------------------------------------


@responses.activate
def test_redirect_to_cdn_drops_token_and_keeps_range() -> None:
    blob = f"{CDN}/repos/ab/cd/blob?X-Amz-Signature=s"
    responses.get(resolve("model.safetensors"), status=302, headers={"Location": blob, "X-Linked-Size": "10"})
    responses.get(blob, status=206, body=b"0123", headers={"Content-Range": "bytes 0-3/10"})
    source, _ = make(token=TOKEN)
    assert source.read_range("model.safetensors", 0, 4).data == b"0123"
    assert sent(0).headers["Authorization"] == f"Bearer {TOKEN}"
    assert "Authorization" not in sent(1).headers
    assert sent(1).headers["Range"] == "bytes=0-3"
    assert source.stats.requests == 2


@responses.activate
def test_port_only_change_drops_token() -> None:
    other = "https://huggingface.co:8443/blob"
    responses.get(resolve("f"), status=302, headers={"Location": other})
    responses.get(other, status=206, body=b"ab", headers={"Content-Range": "bytes 0-1/2"})
    source, _ = make(token=TOKEN)
    source.read_range("f", 0, 2)
    assert "Authorization" not in sent(1).headers


@responses.activate
def test_same_host_relative_307_keeps_token_and_range() -> None:
    cache = f"/api/resolve-cache/models/{REPO}/{SHA}/config.json?etag=%22abc%22"
    responses.get(resolve("config.json"), status=307, headers={"Location": cache})
    responses.get(EP + cache, status=206, body=b"{}", headers={"Content-Range": "bytes 0-1/2"})
    source, _ = make(token=TOKEN)
    assert source.read_range("config.json", 0, 2).data == b"{}"
    assert sent(1).headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent(1).headers["Range"] == "bytes=0-1"


@responses.activate
def test_redirect_loop_is_an_error() -> None:
    a, b = resolve("f"), f"{EP}/elsewhere/f"
    responses.get(a, status=307, headers={"Location": b})
    responses.get(b, status=307, headers={"Location": a})
    source, sleeps = make()
    with pytest.raises(ScanError) as err:
        source.read_range("f", 0, 10)
    assert err.value.code is ErrorCode.NETWORK and "redirect" in err.value.message
    assert sleeps == []  # not retried


@responses.activate
def test_too_many_redirects() -> None:
    for i in range(10):
        responses.get(f"{EP}/hop/{i}", status=302, headers={"Location": f"/hop/{i + 1}"})
    responses.get(resolve("f"), status=302, headers={"Location": "/hop/0"})
    source, _ = make()
    with pytest.raises(ScanError) as err:
        source.read_file("f")
    assert err.value.code is ErrorCode.NETWORK and source.stats.requests == 6


# -- errors -------------------------------------------------------------------------------------------------------


def error_reply(status: int, code: str | None = None, msg: str = "") -> dict:
    headers = {"X-Error-Code": code, "X-Error-Message": msg} if code else {}
    return {"status": status, "headers": headers, "json": {"error": msg}}


@responses.activate
def test_gated_without_token() -> None:
    responses.get(resolve("config.json"), **error_reply(401, "GatedRepo", "Access to model org/model is restricted."))
    source, _ = make()
    with pytest.raises(ScanError) as err:
        source.read_file("config.json")
    assert err.value.code is ErrorCode.GATED
    assert f"{EP}/{REPO}" in err.value.message and "HF_TOKEN" in err.value.message


@responses.activate
def test_gated_with_unapproved_token() -> None:
    responses.get(resolve("config.json"), **error_reply(403, "GatedRepo", f"not in the authorized list {TOKEN}"))
    source, _ = make(token=TOKEN)
    with pytest.raises(ScanError) as err:
        source.read_range("config.json", 0, 8)
    assert err.value.code is ErrorCode.GATED and "accept the licence" in err.value.message
    assert TOKEN not in err.value.message


@responses.activate
def test_repo_not_found_401_without_token_hints_private() -> None:
    responses.get(info_url(), **error_reply(401, "RepoNotFound"))
    source, _ = make()
    with pytest.raises(ScanError) as err:
        source.listing()
    assert err.value.code is ErrorCode.NOT_FOUND
    assert "if it is private, set HF_TOKEN" in err.value.message


@responses.activate
def test_repo_not_found_404_with_token_has_no_private_hint() -> None:
    responses.get(info_url(), **error_reply(404, "RepoNotFound"))
    source, _ = make(token=TOKEN)
    with pytest.raises(ScanError) as err:
        source.listing()
    assert err.value.code is ErrorCode.NOT_FOUND and "private" not in err.value.message


@responses.activate
def test_revision_not_found() -> None:
    responses.get(info_url(rev="nope"), **error_reply(404, "RevisionNotFound", "Invalid rev id: nope"))
    source, _ = make(rev="nope")
    with pytest.raises(ScanError) as err:
        source.listing()
    assert err.value.code is ErrorCode.REVISION_NOT_FOUND and "'nope'" in err.value.message


@responses.activate
def test_entry_not_found_is_none_for_read_file_and_error_for_read_range() -> None:
    reply = error_reply(404, "EntryNotFound")
    reply["headers"]["X-Repo-Commit"] = SHA
    responses.get(resolve("model.safetensors.index.json"), **reply)
    source, sleeps = make()
    assert source.read_file("model.safetensors.index.json") is None
    with pytest.raises(ScanError) as err:
        source.read_range("model.safetensors.index.json", 0, 8)
    assert err.value.code is ErrorCode.NOT_FOUND and "model.safetensors.index.json" in err.value.message
    assert sleeps == []


@pytest.mark.parametrize(
    ("status", "code"), [(401, ErrorCode.UNAUTHORIZED), (403, ErrorCode.UNAUTHORIZED), (404, ErrorCode.NOT_FOUND)]
)
@responses.activate
def test_status_without_error_code(status: int, code: ErrorCode) -> None:
    responses.get(resolve("config.json"), **error_reply(status))
    source, _ = make(token=TOKEN)
    with pytest.raises(ScanError) as err:
        source.read_file("config.json")
    assert err.value.code is code


@responses.activate
def test_read_file_over_limit_is_malformed_and_stops() -> None:
    raw = CountingRaw(20 << 20)
    responses.get(resolve("README.md"), body=io.BufferedReader(raw))
    source, _ = make()
    with pytest.raises(ScanError) as err:
        source.read_file("README.md", max_bytes=1000)
    assert err.value.code is ErrorCode.MALFORMED
    assert raw.taken < 128 << 10


@responses.activate
def test_malformed_info_json() -> None:
    responses.get(info_url(), body=b"<html>")
    source, _ = make()
    with pytest.raises(ScanError) as err:
        source.listing()
    assert err.value.code is ErrorCode.MALFORMED


# -- retries ------------------------------------------------------------------------------------------------------


@responses.activate
def test_429_retry_after_then_success() -> None:
    responses.get(resolve("f"), status=429, headers={"Retry-After": "3"})
    responses.get(resolve("f"), status=206, body=b"ok", headers={"Content-Range": "bytes 0-1/2"})
    source, sleeps = make()
    assert source.read_range("f", 0, 2).data == b"ok"
    assert sleeps == [pytest.approx(3.0, abs=0.05)]  # the limiter waits until the reset the 429 named
    assert source.stats.requests == 2 and source.stats.retries == 1


@responses.activate
def test_429_ratelimit_header_sleeps_reset_plus_one() -> None:
    limited = {"RateLimit": '"resolvers";r=0;t=5', "RateLimit-Policy": '"fixed window";"resolvers";q=3000;w=300'}
    responses.get(resolve("f"), status=429, headers=limited)
    responses.get(resolve("f"), body=b"x")
    source, sleeps = make()
    assert source.read_file("f") == b"x"
    assert sleeps == [pytest.approx(6.0, abs=0.05)]


@responses.activate
def test_429_exhausted_is_rate_limited() -> None:
    responses.get(resolve("f"), status=429, headers={"Retry-After": "1"})
    source, sleeps = make(max_retries=2)
    with pytest.raises(ScanError) as err:
        source.read_file("f")
    assert err.value.code is ErrorCode.RATE_LIMITED and "3 tries" in err.value.message
    assert sleeps == [pytest.approx(1.0, abs=0.05)] * 2


@responses.activate
def test_server_wait_beyond_budget_gives_up_at_once() -> None:
    responses.get(resolve("f"), status=429, headers={"Retry-After": "3600"})
    source, sleeps = make(max_total_wait=60)
    with pytest.raises(ScanError) as err:
        source.read_file("f")
    assert err.value.code is ErrorCode.RATE_LIMITED and sleeps == []


@responses.activate
def test_5xx_exhausted_is_network_with_exponential_backoff() -> None:
    responses.get(resolve("f"), status=503)
    source, sleeps = make()
    with pytest.raises(ScanError) as err:
        source.read_file("f")
    assert err.value.code is ErrorCode.NETWORK
    assert "5 tries" in err.value.message and "HTTP 503" in err.value.message
    assert len(sleeps) == 4 and source.stats.requests == 5 and source.stats.retries == 4
    for got, base in zip(sleeps, [0.5, 1.0, 2.0, 4.0], strict=True):
        assert base <= got <= base * 1.1


@responses.activate
def test_connection_error_is_retried() -> None:
    responses.get(resolve("f"), body=requests.ConnectionError("reset by peer"))
    responses.get(resolve("f"), body=b"x")
    source, sleeps = make()
    assert source.read_file("f") == b"x"
    assert len(sleeps) == 1


@responses.activate
def test_truncated_body_is_retried() -> None:
    responses.get(
        resolve("f"), status=206, body=b"0123", headers={"Content-Range": "bytes 0-9/10", "Content-Length": "10"}
    )
    responses.get(resolve("f"), status=206, body=pattern(0, 10), headers={"Content-Range": "bytes 0-9/10"})
    source, sleeps = make()
    assert source.read_range("f", 0, 10).data == pattern(0, 10)
    assert len(sleeps) == 1 and source.stats.retries == 1


@pytest.mark.parametrize(
    "reply",
    [
        error_reply(401, "GatedRepo", TOKEN),
        error_reply(403, None, TOKEN),
        error_reply(404, "RepoNotFound", TOKEN),
        error_reply(500, None, TOKEN),
        {"status": 429, "headers": {"X-Error-Message": TOKEN}},
    ],
)
@responses.activate
def test_token_never_in_messages(reply: dict) -> None:
    responses.get(info_url(), **reply)
    source, _ = make(token=TOKEN, max_retries=1)
    with pytest.raises(ScanError) as err:
        source.listing()
    assert TOKEN not in err.value.message and TOKEN not in str(err.value)
    assert TOKEN not in repr(source.config)


# -- concurrency, config, helpers -----------------------------------------------------------------------------------


@responses.activate
def test_concurrent_reads_share_one_source() -> None:
    def reply(request: requests.PreparedRequest) -> tuple[int, dict, bytes]:
        a, b = (int(x) for x in request.headers["Range"].removeprefix("bytes=").split("-"))
        return 206, {"Content-Range": f"bytes {a}-{b}/100000"}, pattern(a, b + 1)

    responses.add_callback(responses.GET, resolve("f"), callback=reply)
    source, _ = make()
    with ThreadPoolExecutor(8) as pool:
        chunks = list(pool.map(lambda i: source.read_range("f", i * 100, i * 100 + 100), range(64)))
    assert all(c.data == pattern(i * 100, i * 100 + 100) for i, c in enumerate(chunks))
    assert source.stats.requests == 64 and source.stats.bytes_read == 6400


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://mirror.local:8080/")
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    cfg = HubConfig.from_env()
    assert cfg.endpoint == "http://mirror.local:8080" and cfg.token == TOKEN
    cfg = HubConfig.from_env(token="other", endpoint="https://example.org")
    assert (cfg.endpoint, cfg.token) == ("https://example.org", "other")
    assert cfg.user_agent.startswith("cardscan/")


def test_session_pool_size_and_shared_limiter() -> None:
    session = make_session(48)
    assert session.get_adapter("https://huggingface.co")._pool_maxsize == 48
    a = HubSource(REPO, session=session, config=HubConfig(endpoint=EP, token=None))
    b = HubSource("org/other", session=session, config=HubConfig(endpoint=EP, token=None))
    assert a._http.limiter is b._http.limiter is session.limiter


def test_header_parsers() -> None:
    assert parse_content_range("bytes 0-99/5000") == (0, 5000)
    assert parse_content_range("bytes */10") == (None, 10)
    assert parse_content_range("bytes 0-99/*") == (0, None)
    assert parse_content_range(None) == (None, None)
    assert server_wait({"RateLimit": '"api";r=3;t=10', "Retry-After": "2"}) == 2.0
    assert server_wait({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None


def test_stats_lock_is_per_source() -> None:
    a, _ = make()
    b, _ = make()
    assert a.stats is not b.stats and isinstance(a.stats._lock, type(threading.Lock()))


@responses.activate
def test_503_honours_retry_after() -> None:
    responses.get(resolve("f"), status=503, headers={"Retry-After": "2"})
    responses.get(resolve("f"), body=b"x")
    source, sleeps = make()
    assert source.read_file("f") == b"x" and sleeps == [2.0]


@responses.activate
def test_backoff_never_sleeps_past_total_wait() -> None:
    responses.get(resolve("f"), status=502)
    source, sleeps = make(max_retries=10, max_total_wait=3.0)
    with pytest.raises(ScanError) as err:
        source.read_file("f")
    assert err.value.code is ErrorCode.NETWORK
    assert sum(sleeps) <= 3.0 and len(sleeps) == 2  # 0.5 + 1 (+ jitter); the 2 s step would pass the cap


# -- issue 14: faults, caps, deadline ------------------------------------------------------------------------------


@responses.activate
def test_503_twice_on_the_revision_call_is_retried() -> None:
    """Even when the 503s say the api bucket is empty (r=0), the call is retried, after the window reset."""
    empty = {"RateLimit": '"api";r=0;t=2', "RateLimit-Policy": '"fixed window";"api";q=500;w=300'}
    responses.get(info_url(), status=503, headers=empty)
    responses.get(info_url(), status=503)
    responses.get(info_url(), json=fixture("model_info_single.json"))
    source, _ = make()
    assert source.listing().commit
    assert source.stats.retries == 2 and source.stats.api == 3


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://mirror/x", "http://[::1/x", "http://:99999/"])
@responses.activate
def test_redirect_to_other_schemes_or_malformed_is_a_clean_network_error(location: str) -> None:
    responses.get(resolve("f"), status=302, headers={"Location": location})
    source, _ = make(token=TOKEN)
    with pytest.raises(ScanError) as err:
        source.read_file("f")
    assert err.value.code is ErrorCode.NETWORK and TOKEN not in err.value.message
    assert len(responses.calls) == 1


@responses.activate
def test_huge_model_info_is_too_large_without_reading_it_all() -> None:
    size = 64 << 20
    raw = CountingRaw(size)
    responses.get(info_url(), status=200, body=io.BufferedReader(raw), headers={"Content-Length": str(size)})
    source, _ = make()
    with pytest.raises(ScanError) as err:
        source.listing()
    assert err.value.code is ErrorCode.TOO_LARGE
    assert raw.taken < (16 << 20) + (1 << 20)


@responses.activate
def test_too_many_siblings_is_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    import cardscan.sources.hub as hub_module

    monkeypatch.setattr(hub_module, "MAX_FILES", 1000)
    info = {"id": REPO, "sha": SHA, "siblings": [{"rfilename": f"f{i}", "size": 1} for i in range(1001)]}
    responses.get(info_url(), json=info)
    source, _ = make()
    with pytest.raises(ScanError) as err:
        source.listing()
    assert err.value.code is ErrorCode.TOO_LARGE


@pytest.mark.integration
def test_trickling_server_stops_at_the_deadline(hub) -> None:
    hub.set_fault("openai-community/gpt2", trickle=0.5, only="config.json")
    config = HubConfig(endpoint=hub.url, token=None, deadline=2.0, timeout=1.0)
    source = HubSource("openai-community/gpt2", config=config)
    source.listing()
    start = time.monotonic()
    with pytest.raises(ScanError) as err:
        source.read_file("config.json")
    assert time.monotonic() - start < 3.5
    assert err.value.code is ErrorCode.NETWORK and "deadline" in err.value.message


@pytest.mark.integration
def test_endless_tree_listing_stops_at_the_deadline(hub) -> None:
    hub.set_fault(None, rate_quotas={"api": 10**6})  # not the anonymous 500: the limiter would pause for the window
    hub.set_fault("openai-community/gpt2", endless_tree=True, tree_page_size=1)
    config = HubConfig(endpoint=hub.url, token=None, deadline=1.5)
    source = HubSource("openai-community/gpt2", config=config)
    start = time.monotonic()
    with pytest.raises(ScanError) as err:
        source._tree("openai-community/gpt2", "main")
    assert time.monotonic() - start < 3 and "deadline" in err.value.message


@pytest.mark.integration
def test_huge_model_info_from_the_emulator_is_too_large(hub) -> None:
    hub.set_fault("openai-community/gpt2", info_bytes=256 << 20)
    source = HubSource("openai-community/gpt2", config=HubConfig(endpoint=hub.url, token=None))
    with pytest.raises(ScanError) as err:
        source.listing()
    assert err.value.code is ErrorCode.TOO_LARGE and source.stats.bytes_read <= (16 << 20) + (64 << 10)


@pytest.mark.integration
def test_batch_reuses_connections(hub) -> None:
    """Keep-alive across a batch: a second batch on the same session opens (almost) no new connection, and the
    first opens fewer connections than it makes requests."""
    from cardscan.scanner import ScanOptions, scan_many

    session = make_session(16)
    options = ScanOptions(endpoint=hub.url, token="")
    repos = ["openai-community/gpt2", "org/no-readme", "org/variants", "TheBloke/Llama-2-7B-GPTQ"]
    opened = []
    for _ in range(2):
        hub.reset()
        hub.set_fault(None, connect_delay=0.05)
        results = scan_many(repos, options, workers=4, session=session)
        assert all(r.ok for r in results), [r.error for r in results]
        assert sum(hub.connections.values()) < len(hub.log), (hub.connections, len(hub.log))
        opened.append(sum(hub.connections.values()))
    # Usually 0-2 new ones; a second batch may briefly have more requests in flight than the first left idle.
    assert opened[1] < opened[0], opened


def test_session_keeps_small_commit_pinned_files_within_a_byte_budget(monkeypatch) -> None:
    """A batch re-reads no small file at a commit-pinned URL; branch URLs are never kept; the cache stays bounded."""
    from cardscan.sources import http as http_mod

    monkeypatch.setattr(http_mod, "FILE_CACHE_BYTES", 10)
    session = make_session(2)
    pinned = "https://hub.example/org/m/resolve/" + "a" * 40 + "/config.json"
    session.remember("https://hub.example/org/m/resolve/main/config.json", b"{}")
    assert session.recall("https://hub.example/org/m/resolve/main/config.json") is None  # a branch moves
    session.remember(pinned, b"12345")
    session.remember(pinned.replace("config", "other"), b"678901")  # 11 bytes: the oldest goes
    assert session.recall(pinned) is None and session.recall(pinned.replace("config", "other")) == b"678901"
    session.remember(pinned.replace("config", "big"), b"x" * (http_mod.FILE_CACHE_ITEM + 1))
    assert session.recall(pinned.replace("config", "big")) is None


def _idle(session, url: str) -> int:  # type: ignore[no-untyped-def]
    """Connected connections waiting in the session's pool for `url`'s origin."""
    prep = requests.Request("GET", url).prepare()
    verify = session.merge_environment_settings(url, {}, True, None, None)["verify"]
    pool = session.get_adapter(url).get_connection_with_tls_context(prep, verify)  # the pool requests itself uses
    return sum(1 for conn in list(pool.pool.queue) if conn is not None and conn.is_connected)


def _until(check, seconds: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + seconds
    while not check():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture
def own_hub(tmp_path: Path):  # type: ignore[no-untyped-def]
    """An emulator of this test's own: counting connections, so no other test's lingering client may use it."""
    from cardscan.testing.hub import HubEmulator

    with HubEmulator(Path(__file__).parent / "fixtures" / "hub", cache_dir=tmp_path / "cache") as emulator:
        yield emulator


@pytest.mark.integration
def test_warm_connections_are_the_ones_the_first_requests_use(own_hub) -> None:
    """`warm` opens connections before any request (their handshakes overlap the caller's start-up); requests sent
    at once afterwards use them instead of opening their own; a second warm of the same origin opens nothing."""
    hub = own_hub
    session = make_session(8)
    session.warm(hub.url, 3)
    assert _until(lambda: _idle(session, hub.url) == 3), hub.connections
    assert _until(lambda: hub.connections["hub"] == 3), hub.connections  # the server counts once it serves one
    assert not hub.log
    session.warm(hub.url + "/other/path", 3)  # same origin: already warm
    with ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda _: session.get(f"{hub.url}/api/models/openai-community/gpt2"), range(3)))
    assert [r.status_code for r in replies] == [200] * 3
    assert hub.connections["hub"] == 3 and len(hub.log) == 3


def test_warm_to_an_unreachable_origin_is_silent() -> None:
    """Warming is best effort: nothing listens there, so nothing is kept, and the real request says what is wrong."""
    session = make_session(4)
    session.warm("http://127.0.0.1:9", 2)  # the discard port: refused
    assert _until(lambda: _idle(session, "http://127.0.0.1:9") == 0)
    with pytest.raises(requests.ConnectionError):
        session.get("http://127.0.0.1:9/x", timeout=2)


@pytest.mark.integration
def test_a_batch_warms_the_hub_only_for_hub_inputs(own_hub, tmp_path: Path) -> None:
    """A batch's shared session opens the Hub's first connections up front for Hub repos; a batch of local folders
    never even builds the HTTP session."""
    hub = own_hub
    from cardscan.scanner import ScanOptions
    from cardscan.sources.registry import WARM_PER_REPO, SharedSession

    local = SharedSession()
    local.warm([str(tmp_path)], ScanOptions(endpoint=hub.url))
    assert local.made() is None
    shared = SharedSession(pool_maxsize=16)
    shared.warm(["openai-community/gpt2", str(tmp_path)], ScanOptions(endpoint=hub.url))
    assert _until(lambda: hub.connections["hub"] == WARM_PER_REPO), hub.connections
    assert not hub.log


@responses.activate
def test_adapter_reuses_its_pool_lookup_and_ignores_cookies() -> None:
    """HubAdapter finds an origin's pool once (not per request) and keeps no cookies; `responses` still answers."""
    responses.get("https://hub.example/a", body=b"1", headers={"Set-Cookie": "session=x; Path=/"})
    responses.get("https://hub.example/b", body=b"2")
    session = make_session(4)
    replies = [session.fast_get(f"https://hub.example/{p}", {}, (5, 5)) for p in "ab"]
    assert [r.content for r in replies] == [b"1", b"2"] and replies[0].headers["Set-Cookie"]
    assert not replies[0].cookies and not session.cookies and len(responses.calls) == 2
    adapter = session.get_adapter("https://hub.example/")
    prep = [requests.Request("GET", f"https://hub.example/{p}").prepare() for p in "ab"]
    pools = [adapter.get_connection_with_tls_context(p, True) for p in prep]
    assert pools[0] is pools[1] and len(adapter._pools) == 1
    other = adapter.get_connection_with_tls_context(requests.Request("GET", "https://cdn.example/x").prepare(), True)
    assert other is not pools[0]


def test_warm_is_quiet_and_light() -> None:
    """Warming needs only the endpoint: it never imports huggingface_hub (the token lookup the scan does later, while
    the connections open), and a malformed endpoint is left to each scan to report."""
    import os
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from cardscan.options import ScanOptions\n"
        "from cardscan.sources.registry import SharedSession\n"
        "SharedSession().warm(['org/model'], ScanOptions(endpoint='http://127.0.0.1:9'))\n"
        "SharedSession().warm(['org/model'], ScanOptions(endpoint='http://[bad'))\n"
        "print('huggingface_hub' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "HF_TOKEN"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_a_session_is_warmed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI warms its session and then hands it to scan_many, which warms too: the second call does nothing."""
    from cardscan.scanner import ScanOptions
    from cardscan.sources import registry

    looked: list[str] = []
    monkeypatch.setattr(registry, "_kind_of", lambda target, options: looked.append(target))
    shared = registry.SharedSession()
    for _ in range(2):
        shared.warm(["org/a", "org/b"], ScanOptions(endpoint="http://127.0.0.1:9"))
    assert looked == ["org/a", "org/b"]
