"""HTTP transport for the Hub source: one pooled session per batch (with its rate limiter), redirects followed by
hand, bounded body reads, bounded retries, a per-repo deadline, and URLs redacted before they reach a message."""

from __future__ import annotations

import random
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers, parse_header_links

from cardscan.errors import ErrorCode, ScanError
from cardscan.sources.base import IOStats
from cardscan.sources.ratelimit import RateLimiter, bucket_of, parse_ratelimit, retry_after

# Statuses worth another try (docs/hub-source.md: 429 is the Hub's rate limit, its 5xx are transient gateway/overload errors).
RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES: frozenset[int] = frozenset({301, 302, 303, 307, 308})
SCHEMES = ("http", "https")  # a redirect anywhere else (file:, ftp:, data:) is refused
MAX_REDIRECTS = 5
BACKOFF_FIRST = 0.5  # seconds; doubles per try (brief: 0.5 s doubling, cap 8 s)
BACKOFF_CAP = 8.0
JITTER = 0.1  # fraction of the computed backoff added at random, so parallel readers do not retry in step
READ_CHUNK = 16 << 10  # small, so a Range-ignoring 200 is cut off after little more than what was asked
ERROR_BODY_LIMIT = 4 << 10  # error replies are read only this far (their text is never shown)
DEFAULT_PORTS: dict[str, int] = {"http": 80, "https": 443}
ORIGIN_POOLS = 8  # distinct origins kept pooled: the Hub, its CDN(s), a mirror
FILE_CACHE_BYTES = 8 << 20
"""Small files a batch keeps for a second read (HubSession.remember)."""
FILE_CACHE_ITEM = 256 << 10
"""Larger files are never kept (configs and cards are a few KB)."""
_COMMIT_PINNED = re.compile(r"/resolve/[0-9a-f]{40}/")
"""A resolve URL at a full commit sha names content that never changes."""
# Connection failures worth another try; anything else requests raises (bad URL, bad scheme) is final.
TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.ReadTimeoutError,
    urllib3.exceptions.DecodeError,
    TimeoutError,
    ConnectionError,
)


@dataclass
class HubStats(IOStats):
    """IOStats plus how many Range requests the server answered with a whole-file 200."""

    ranges_ignored: int = 0

    def note_range_ignored(self) -> None:
        """Count one Range request that came back as a plain 200."""
        with self._lock:
            self.ranges_ignored += 1


@dataclass(frozen=True)
class Reply:
    """The final answer to one request, after redirects, with its body read up to a limit."""

    status: int
    """HTTP status of the last hop."""
    headers: Mapping[str, str] = field(repr=False)
    """Response headers of the last hop (case-insensitive)."""
    body: bytes = field(repr=False)
    """Body bytes read (at most the limit asked for)."""
    url: str
    """URL of the last hop."""
    complete: bool
    """True when the whole body was read; False when reading stopped at the limit."""


class _Truncated(Exception):
    """The body ended before its Content-Length: retried like a dropped connection."""


class HubAdapter(HTTPAdapter):
    """requests' transport adapter (pooling, TLS, proxies; what `responses` mocks) minus two per-request costs the
    Hub never needs: finding the connection pool again for every request (a URL parse, an `os.path.isdir` on the CA
    bundle and a pool-key build: about 10% of a GET's CPU) and reading cookies out of every reply (the Hub API sets
    none that cardscan uses)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pools: dict[tuple[object, ...], Any] = {}

    def get_connection_with_tls_context(
        self, request: PreparedRequest, verify: Any, proxies: Any = None, cert: Any = None
    ) -> Any:
        """The pool for this request's origin and TLS/proxy settings, looked up once (a pool the manager has since
        closed, when more origins than it keeps were used, is looked up again)."""
        key = (*origin(request.url or ""), verify, cert, tuple(sorted((proxies or {}).items())))
        pool = self._pools.get(key)
        if pool is None or pool.pool is None:
            pool = super().get_connection_with_tls_context(request, verify, proxies=proxies, cert=cert)
            self._pools[key] = pool
        return pool

    def build_response(self, req: PreparedRequest, resp: Any) -> requests.Response:
        """requests' own build_response without the cookie extraction (an email-style header parse per reply)."""
        response = requests.Response()
        response.status_code = resp.status
        response.headers = CaseInsensitiveDict(resp.headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = resp
        response.reason = resp.reason
        response.url = req.url.decode("utf-8") if isinstance(req.url, bytes) else req.url or ""
        response.request = req
        response.connection = self
        return response


class HubSession(requests.Session):
    """A session shared by every worker of a batch: one keep-alive pool per origin, and one rate limiter."""

    def __init__(self, concurrency: int = 32, limiter: RateLimiter | None = None) -> None:
        super().__init__()
        self.limiter = limiter or RateLimiter()
        # pool_maxsize: connections kept per origin; below the number of concurrent requests, the extra
        # connections are closed after one use and every later one pays a new handshake.
        adapter = HubAdapter(pool_connections=ORIGIN_POOLS, pool_maxsize=max(1, concurrency), max_retries=0)
        self.mount("https://", adapter)
        self.mount("http://", adapter)
        self._env: dict[tuple[object, ...], dict[str, Any]] = {}
        self._listed: dict[tuple[str, str], Mapping[str, Any]] = {}
        self._files: OrderedDict[str, bytes] = OrderedDict()
        self._files_bytes = 0
        self._files_lock = threading.Lock()
        self._warmed: set[tuple[str, str, int | None]] = set()

    def warm(self, url: str, connections: int) -> None:
        """Open up to `connections` keep-alive connections to `url`'s origin in the background, once per origin, so
        the first requests find them ready: the TCP and TLS handshakes (about 100 ms each on a real network) then
        overlap the caller's own start-up (imports, the first API call) instead of adding to every parallel first
        read. Best effort: a connection that fails is simply not there, and the request that needs it says why.
        Pools are urllib3's own; `_get_conn`/`_put_conn` are how its pool hands out and takes back a connection."""
        key = origin(url)
        with self._files_lock:
            if key in self._warmed or connections < 1:
                return
            self._warmed.add(key)
        try:
            settings = self.merge_environment_settings(url, {}, True, None, None)  # type: ignore[no-untyped-call]
            prep = PreparedRequest()
            prep.prepare(method="GET", url=url)
            adapter: Any = self.get_adapter(url)  # requests' HTTPAdapter (mounted in __init__)
            pool = adapter.get_connection_with_tls_context(
                prep, settings["verify"], settings["proxies"], settings["cert"]
            )
        except Exception:  # a bad URL or proxy setting: the real request reports it
            return
        # Every connection is taken out first, then each connects in its own thread: a pool is LIFO, so one taken
        # out, connected and handed back at a time would be the same connection every time.
        try:
            taken = [pool._get_conn() for _ in range(min(connections, pool.pool.maxsize if pool.pool else 0))]
        except Exception:  # the pool was closed meanwhile
            return
        for conn in taken:
            threading.Thread(target=_open_into, args=(pool, conn), daemon=True, name="cardscan-warm").start()

    def recall(self, url: str) -> bytes | None:
        """A small file this batch already read at this commit-pinned URL (see `remember`), else None."""
        with self._files_lock:
            body = self._files.get(url)
            if body is not None:
                self._files.move_to_end(url)
            return body

    def remember(self, url: str, body: bytes) -> None:
        """Keep a small file read at a URL pinned to a full commit sha (immutable), so a second read in the same run
        (an audit's config.json re-read after the scan, an adapter's base scanned twice) costs no request. At most
        FILE_CACHE_BYTES in all, least recently used first out, so memory stays flat however long the batch."""
        if not _COMMIT_PINNED.search(url) or len(body) > FILE_CACHE_ITEM:
            return
        with self._files_lock:
            if url in self._files:
                return
            self._files[url] = body
            self._files_bytes += len(body)
            while self._files_bytes > FILE_CACHE_BYTES:
                _, old = self._files.popitem(last=False)
                self._files_bytes -= len(old)

    def offer_listed(self, repo_id: str, revision: str, item: Mapping[str, Any]) -> None:
        """Hand a Hub listing's item for this repo (sha, siblings, cardData, safetensors, gating) to its next scan,
        which then skips its own model-info call (an audit over `--author` costs one API request per listing page,
        not one per repo). The caller withdraws it after the scan (`take_listed`), so memory stays bounded."""
        self._listed[(repo_id.lower(), revision)] = item

    def take_listed(self, repo_id: str, revision: str) -> Mapping[str, Any] | None:
        """The offered item for this repo revision, removed (each is used at most once)."""
        return self._listed.pop((repo_id.lower(), revision), None)

    def resolve_redirects(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        """Redirects are followed by Transport._follow (token and origin rules); requests would still prepare the
        next hop of every 3xx for `Response.next`, re-reading the proxy environment each time: skip it."""
        return iter(())

    def merge_environment_settings(self, url, proxies, stream, verify, cert):  # type: ignore[no-untyped-def]
        """requests re-reads the proxy variables (every `os.environ` key) and CA bundle for each request: about
        0.5 ms of CPU a request. They are the same for every URL of one origin, so look them up once per origin."""
        key = (*origin(url), stream, verify, cert, tuple(sorted((proxies or {}).items())))
        settings = self._env.get(key)
        if settings is None:
            settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
            self._env[key] = settings
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in settings.items()}

    def fast_get(self, url: str, headers: Mapping[str, str], timeout: tuple[float, float]) -> requests.Response:
        """A streamed GET straight to requests' transport adapter (pooling, TLS, proxies: requests' own, so
        `responses` still mocks it). Session.request would also look up ~/.netrc (two stat() calls), merge cookie
        jars and hooks and re-prepare the URL on every request, about 0.3 ms of CPU each: the Hub needs no cookies,
        the token is sent explicitly, and Transport follows redirects itself, so none of that is used."""
        prep = PreparedRequest()
        sent = {**self.headers, **headers}
        if url.isascii() and url.isprintable() and " " not in url:  # our own URLs, already quoted
            prep.method, prep.url, prep.headers = "GET", url, CaseInsensitiveDict(sent)
        else:  # an odd redirect target: let requests quote it (or refuse it) as Session.get would
            prep.prepare(method="GET", url=url, headers=sent)
        target = prep.url or url
        settings = self.merge_environment_settings(target, {}, True, None, None)  # type: ignore[no-untyped-call]
        return self.get_adapter(target).send(prep, timeout=timeout, **settings)


def _open_into(pool: Any, conn: Any) -> None:
    """Connect one connection taken out of a urllib3 pool and hand it back to the pool, idle (best effort)."""
    try:
        if not conn.is_connected:  # an idle one taken out again is handed back as it is
            conn.connect()
    except Exception:  # unreachable or refused: the request that needs it will say why
        conn.close()
    try:
        pool._put_conn(conn)
    except Exception:  # the pool was closed meanwhile
        conn.close()


def make_session(pool_maxsize: int = 64) -> HubSession:
    """A session whose pool keeps `pool_maxsize` connections per origin alive (size it to the batch's concurrent
    requests: workers × reads in flight per scan)."""
    return HubSession(pool_maxsize)


def limiter_of(session: requests.Session) -> RateLimiter | None:
    """The shared limiter of a HubSession (None for a plain session: each source then gets its own)."""
    return getattr(session, "limiter", None)


def redact(text: str, token: str | None = None) -> str:
    """`text` (a URL, or a message holding URLs) safe to print: every URL loses its query string and userinfo,
    and anything equal to the token is masked, wherever it appears."""
    if token:
        text = text.replace(token, "***")
    return _URL.sub(lambda m: _redact_url(m.group(0)), text)


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]*")


def _redact_url(url: str) -> str:
    """One URL without userinfo and query (fragments too): scheme://host[:port]/path[?…]."""
    scheme, rest = url.split("://", 1)
    authority, sep, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rsplit("@", 1)[1]
    path = sep + path
    for mark in ("?", "#"):
        if mark in path:
            path = path.split(mark, 1)[0] + mark + "…"
    if "?" in authority or "#" in authority:
        authority = re.split(r"[?#]", authority, maxsplit=1)[0] + "?…"
    return f"{scheme}://{authority}{path}"


@dataclass
class Deadline:
    """Wall-clock budget of one repo: every read, retry, backoff and page together. Time spent paused by the
    shared rate limiter is not the repo's doing and is added back."""

    seconds: float | None
    """Budget in seconds; None for no deadline."""
    clock: Callable[[], float] = time.monotonic
    _start: float | None = None
    _paused: float = 0.0
    _pause_end: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def left(self) -> float:
        """Seconds left (the clock starts at the first call); inf without a deadline."""
        if self.seconds is None:
            return float("inf")
        with self._lock:
            now = self.clock()
            if self._start is None:
                self._start = now
            return self._start + self.seconds + self._paused - now

    def pause(self, seconds: float) -> None:
        """Extend the budget by a rate-limit pause starting now (overlapping pauses of parallel reads count once)."""
        if seconds <= 0:
            return
        with self._lock:
            now = self.clock()
            end = now + seconds
            self._paused += max(0.0, end - max(now, self._pause_end))
            self._pause_end = max(self._pause_end, end)

    def check(self, what: str) -> None:
        """Raise NETWORK when the budget is spent."""
        if self.left() <= 0:
            raise ScanError(
                ErrorCode.NETWORK, f"gave up on {what}: the {self.seconds:g} s deadline for this repo passed"
            )


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the default port filled in, for same-origin checks."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or DEFAULT_PORTS.get(scheme)


def parse_content_range(value: str | None) -> tuple[int | None, int | None]:
    """(start, total) from `bytes a-b/total` or `bytes */total`; None where absent or `*`."""
    m = re.fullmatch(r"\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*", value or "")
    if not m:
        return None, None
    start, total = m.groups()
    return (int(start) if start else None), (int(total) if total and total != "*" else None)


def next_link(headers: Mapping[str, str], base: str) -> str | None:
    """The absolute `rel="next"` URL of a paginated reply, or None on the last page."""
    for link in parse_header_links(headers.get("Link", "")):
        if "next" in link.get("rel", "").split() and link.get("url"):
            return urljoin(base, link["url"])
    return None


def server_wait(headers: Mapping[str, str]) -> float | None:
    """Seconds a non-429 answer (a 503) asks us to wait: integer `Retry-After`. A 429's wait is the limiter's."""
    return retry_after(headers)


def backoff(attempt: int) -> float:
    """Exponential delay before try `attempt + 2`, with a little jitter."""
    base = min(BACKOFF_FIRST * 2.0**attempt, BACKOFF_CAP)
    return base + random.uniform(0, JITTER * base)


@dataclass
class Transport:
    """Sends GETs on a shared session: follows redirects itself, reads bodies up to a limit, retries, waits for
    the shared rate limiter, and never sends the token anywhere but the configured endpoint's origin."""

    session: requests.Session
    stats: HubStats
    home: str = ""
    """The configured endpoint: the only origin that ever sees the token."""
    timeout: float = 10.0
    max_retries: int = 4
    max_total_wait: float = 60.0
    user_agent: str = "cardscan"
    sleep: Callable[[float], None] = time.sleep
    deadline: Deadline = field(default_factory=lambda: Deadline(None))
    token: str | None = field(default=None, repr=False)
    """Masked in every message this transport builds."""
    limiter: RateLimiter | None = None
    _located: dict[str, str] = field(default_factory=dict, repr=False)
    """Hub URL → the other-origin URL it redirects to (learnt by `locate` or a first read), reused by later reads."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _home: tuple[str, str, int | None] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.limiter is None:
            self.limiter = limiter_of(self.session) or RateLimiter()
        self._home = origin(self.home) if self.home else None

    def locate(self, url: str, headers: Mapping[str, str], *, token: str | None) -> None:
        """Learn where `url` redirects (the Hub's 302 to its CDN) without reading the target, so the later GET
        goes straight there: the hop then overlaps other reads instead of adding a round trip. Best effort."""
        try:
            resp = self._send(url, headers, token)
        except (*TRANSIENT, ScanError, ValueError, requests.RequestException):
            return
        location = resp.headers.get("Location")
        self._discard(resp)
        if resp.status_code in REDIRECT_STATUSES and location:
            try:
                target = self._target(url, location)
            except ScanError:
                return
            if origin(target) != origin(url):  # same-origin hops keep their auth: let _follow handle them
                with self._lock:
                    self._located[url] = target

    def get(self, url: str, headers: Mapping[str, str], *, token: str | None, limit: int) -> Reply:
        """GET with retries; returns any non-retryable reply, raises ScanError when tries run out."""
        waited = 0.0
        tries = 0
        while True:
            tries += 1
            self.deadline.check(self._redact(_short(url)))
            reply, failure = self._try(url, headers, token, limit)
            if failure is None and reply is not None and reply.status not in RETRY_STATUSES:
                return reply
            # A 429 has already emptied its bucket in the shared limiter: the next try's reserve() sleeps until
            # the reset, for every worker. Other failures back off on their own.
            if reply is not None and reply.status == 429:
                delay = 0.0
            else:
                wait = server_wait(reply.headers) if reply is not None else None
                delay = wait if wait is not None else backoff(tries - 1)
            if tries > self.max_retries or waited + delay > self.max_total_wait or delay >= self.deadline.left():
                raise self._gave_up(url, reply, failure, tries)
            self.stats.add(retries=1)
            if delay:
                self.sleep(delay)
            waited += delay

    def _try(
        self, url: str, headers: Mapping[str, str], token: str | None, limit: int
    ) -> tuple[Reply | None, str | None]:
        """One try (redirect hops included): the reply, or why the connection failed."""
        try:
            return self._follow(url, headers, token, limit), None
        except TRANSIENT as exc:
            return None, f"{type(exc).__name__}"
        except _Truncated as exc:
            return None, str(exc)
        except (requests.RequestException, ValueError) as exc:  # a URL requests cannot send (bad scheme, host…)
            name = type(exc).__name__
            raise ScanError(ErrorCode.NETWORK, f"cannot request {self._redact(_short(url))}: {name}") from None

    def _follow(self, url: str, headers: Mapping[str, str], token: str | None, limit: int) -> Reply:
        """Send the request and follow up to MAX_REDIRECTS hops, keeping `Authorization` only on one origin."""
        with self._lock:
            located = self._located.get(url)
        if located is not None:
            resp = self._send(located, headers, None)  # another origin: never with the token
            if resp.status_code < 400 and resp.status_code not in REDIRECT_STATUSES:
                return self._read(resp, limit)
            if resp.status_code in RETRY_STATUSES:  # a busy CDN, not a stale location: `get` retries it as it is,
                return self._read(resp, limit)  # without another resolver request (the bucket the Hub charges)
            self._discard(resp)  # an expired or odd location: resolve again from the Hub
            with self._lock:
                self._located.pop(url, None)
        first = url
        keep_auth = token is not None
        seen = {url}
        for _ in range(MAX_REDIRECTS + 1):
            resp = self._send(url, headers, token if keep_auth else None)
            location = resp.headers.get("Location")
            if resp.status_code not in REDIRECT_STATUSES or not location:
                return self._read(resp, limit)
            self._discard(resp)
            target = self._target(url, location)
            # A token must never reach a CDN or any other origin (as requests' rebuild_auth and huggingface_hub do; docs/hub-source.md), nor come back after one.
            keep_auth = keep_auth and origin(target) == origin(url)
            if origin(target) != origin(first):
                with self._lock:
                    self._located[first] = target  # the next read of this file skips the Hub hop
            if target in seen:
                raise ScanError(ErrorCode.NETWORK, f"redirect loop at {self._redact(_short(target))}")
            seen.add(target)
            url = target
        raise ScanError(ErrorCode.NETWORK, f"more than {MAX_REDIRECTS} redirects from {self._redact(_short(first))}")

    def _target(self, url: str, location: str) -> str:
        """The absolute URL a `Location` names; a malformed one or a scheme other than http(s) is refused."""
        try:
            target = urljoin(url, location.strip())
            parts = urlsplit(target)
            parts.port  # noqa: B018 -- raises ValueError for a malformed port
        except ValueError:
            raise ScanError(ErrorCode.NETWORK, f"malformed redirect from {self._redact(_short(url))}") from None
        if parts.scheme.lower() not in SCHEMES or not parts.hostname:
            scheme = re.sub(r"[^a-z0-9+.-]", "", parts.scheme.lower())[:16] or "?"
            raise ScanError(
                ErrorCode.NETWORK, f"refused a redirect to a {scheme}: URL from {self._redact(_short(url))}"
            )
        return target

    def _send(self, url: str, headers: Mapping[str, str], token: str | None) -> requests.Response:
        """One HTTP hop, counted in the stats and its rate-limit bucket whatever its outcome."""
        home = self._home is not None and origin(url) == self._home
        bucket = bucket_of(urlsplit(url).path, home)
        assert self.limiter is not None
        wait = self.limiter.reserve(bucket)
        if wait:
            self.deadline.pause(wait)
            self.sleep(wait)
        self.stats.count(bucket, waited=wait)
        sent = {"User-Agent": self.user_agent, **headers}
        if token and (home or self._home is None):
            sent["Authorization"] = f"Bearer {token}"
        self.stats.add(requests=1)
        left = self.deadline.left()
        timeout = max(0.001, min(self.timeout, left))
        try:
            if isinstance(self.session, HubSession):
                resp = self.session.fast_get(url, sent, (timeout, timeout))
            else:  # a plain requests.Session a caller passed in
                resp = self.session.get(
                    url, headers=sent, stream=True, allow_redirects=False, timeout=(timeout, timeout)
                )
        except BaseException:
            self.limiter.done(bucket, None, {})
            raise
        self.limiter.done(bucket, resp.status_code, resp.headers)
        if resp.status_code == 429:
            self.stats.note_rate_limited()
        return resp

    def _discard(self, resp: requests.Response) -> None:
        """Drain a short redirect body so its connection goes back to the pool; close a long one."""
        length = resp.headers.get("Content-Length", "")
        drained = False
        try:
            if length.isdigit() and int(length) <= ERROR_BODY_LIMIT:
                self.stats.add(bytes_read=sum(len(piece) for piece in _pieces(resp, ERROR_BODY_LIMIT + 1)))
                drained = True
        except TRANSIENT:
            pass  # the hop's body is never used; the next hop decides the outcome
        finally:
            _finish(resp, drained)

    def _read(self, resp: requests.Response, limit: int) -> Reply:
        """Read at most `limit` body bytes (less for errors), then close so nothing more is downloaded. Between
        pieces the repo's deadline is checked, so a server trickling one byte at a time cannot hold the scan."""
        cap = limit if resp.status_code < 400 else min(limit, ERROR_BODY_LIMIT)
        parts: list[bytes] = []
        got = 0
        complete = True
        try:
            for piece in _pieces(resp, cap + 1):
                parts.append(piece)
                got += len(piece)
                self.stats.add(bytes_read=len(piece))
                if got > cap:
                    complete = False
                    break
                self.deadline.check(self._redact(_short(resp.url or "")))
        except BaseException:
            complete = False
            raise
        finally:
            _finish(resp, complete)
        body = b"".join(parts)
        if complete:
            _check_length(resp, len(body))
        return Reply(resp.status_code, CaseInsensitiveDict(resp.headers), body[:cap], resp.url or "", complete)

    def _redact(self, text: str) -> str:
        return redact(text, self.token)

    def _gave_up(self, url: str, reply: Reply | None, failure: str | None, tries: int) -> ScanError:
        """The error for a request whose tries ran out."""
        where = self._redact(_short(url))
        if reply is not None and reply.status == 429:
            state = parse_ratelimit(reply.headers)
            wait = state[2] + 1 if state and state[1] == 0 else retry_after(reply.headers)
            after = f"; the Hub asks to wait {wait:.0f} s" if wait is not None else ""
            return ScanError(
                ErrorCode.RATE_LIMITED,
                f"Hub rate limit hit (HTTP 429) for {where} after {tries} tries{after}; "
                "retry later, or set HF_TOKEN for a higher limit",
            )
        if self.deadline.left() <= 0:
            return ScanError(ErrorCode.NETWORK, f"gave up on {where}: the {self.deadline.seconds:g} s deadline passed")
        last = f"HTTP {reply.status}" if reply is not None else failure
        return ScanError(ErrorCode.NETWORK, f"GET {where} failed after {tries} tries (last: {last})")


def _finish(resp: requests.Response, drained: bool) -> None:
    """Give a fully read connection back to the pool (keep-alive); close one whose body was left unread."""
    if drained:
        resp.raw.release_conn()
    else:
        resp.close()


def _pieces(resp: requests.Response, most: int) -> Iterator[bytes]:
    """Body pieces as they arrive (one socket read each, at most READ_CHUNK), until `most` bytes or the end."""
    raw = resp.raw
    got = 0
    while got < most:
        try:
            piece = raw.read1(min(READ_CHUNK, most - got))
        except AttributeError:  # a raw stream without read1 (some mocks)
            piece = raw.read(min(READ_CHUNK, most - got))
        if not piece:
            return
        got += len(piece)
        yield piece


def _check_length(resp: requests.Response, got: int) -> None:
    """Raise _Truncated when an unencoded body is shorter than its Content-Length."""
    declared = resp.headers.get("Content-Length", "")
    encoded = resp.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
    if declared.isdigit() and not encoded and got < int(declared):
        raise _Truncated(f"body truncated ({got} of {declared} bytes)")


def _short(url: str) -> str:
    """URL without its query string, for messages (redact() then masks userinfo and the token)."""
    return url.split("?", 1)[0]
