"""HTTP transport for the Hub source: redirects followed by hand, bounded body reads, and bounded retries."""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import parse_header_links

from cardscan.errors import ErrorCode, ScanError
from cardscan.sources.base import IOStats

# Statuses worth another try (hub-protocol.md §8; the Hub's 5xx are transient gateway/overload errors).
RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES: frozenset[int] = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
BACKOFF_FIRST = 0.5  # seconds; doubles per try (brief: 0.5 s doubling, cap 8 s)
BACKOFF_CAP = 8.0
JITTER = 0.1  # fraction of the computed backoff added at random, so parallel readers do not retry in step
READ_CHUNK = 16 << 10  # small, so a Range-ignoring 200 is cut off after little more than what was asked
ERROR_BODY_LIMIT = 4 << 10  # error replies are read only this far (their text is never shown)
DEFAULT_PORTS: dict[str, int] = {"http": 80, "https": 443}
# `RateLimit: "resolvers";r=0;t=172` (hub-protocol.md §8): remaining r, seconds to reset t.
_RATELIMIT = re.compile(r";\s*r=(\d+)\s*;\s*t=(\d+)")


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


def make_session(pool_maxsize: int = 32) -> requests.Session:
    """A session whose connection pool lets concurrent header reads to one host reuse connections."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=8, pool_maxsize=pool_maxsize, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


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
    """Seconds the server asks us to wait: `RateLimit` r=0 → t+1, else integer `Retry-After`."""
    m = _RATELIMIT.search(headers.get("RateLimit", ""))
    if m and int(m.group(1)) == 0:
        return int(m.group(2)) + 1.0
    retry_after = headers.get("Retry-After", "").strip()
    return float(retry_after) if retry_after.isdigit() else None  # HTTP-dates ignored, as huggingface_hub does


def backoff(attempt: int) -> float:
    """Exponential delay before try `attempt + 2`, with a little jitter."""
    base = min(BACKOFF_FIRST * 2**attempt, BACKOFF_CAP)
    return base + random.uniform(0, JITTER * base)


@dataclass
class Transport:
    """Sends GETs on a shared session: follows redirects itself, reads bodies up to a limit, retries."""

    session: requests.Session
    stats: HubStats
    timeout: float = 10.0
    max_retries: int = 4
    max_total_wait: float = 60.0
    user_agent: str = "cardscan"
    sleep: Callable[[float], None] = time.sleep
    _located: dict[str, str] = field(default_factory=dict, repr=False)
    """Hub URL → the other-origin URL it redirects to (learnt by `locate` or a first read), reused by later reads."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def locate(self, url: str, headers: Mapping[str, str], *, token: str | None) -> None:
        """Learn where `url` redirects (the Hub's 302 to its CDN) without reading the target, so the later GET
        goes straight there: the hop then overlaps other reads instead of adding a round trip. Best effort."""
        try:
            resp = self._send(url, headers, token)
        except (requests.ConnectionError, requests.Timeout):
            return
        location = resp.headers.get("Location")
        self._discard(resp)
        if resp.status_code in REDIRECT_STATUSES and location:
            target = urljoin(url, location)
            if origin(target) != origin(url):  # same-origin hops keep their auth: let _follow handle them
                with self._lock:
                    self._located[url] = target

    def get(self, url: str, headers: Mapping[str, str], *, token: str | None, limit: int) -> Reply:
        """GET with retries; returns any non-retryable reply, raises ScanError when tries run out."""
        waited = 0.0
        tries = 0
        while True:
            tries += 1
            reply, failure = self._try(url, headers, token, limit)
            if failure is None and reply is not None and reply.status not in RETRY_STATUSES:
                return reply
            wait = server_wait(reply.headers) if reply is not None else None
            delay = wait if wait is not None else backoff(tries - 1)
            if tries > self.max_retries or waited + delay > self.max_total_wait:
                raise self._gave_up(url, reply, failure, tries, wait)
            self.stats.add(retries=1)
            self.sleep(delay)
            waited += delay

    def _try(
        self, url: str, headers: Mapping[str, str], token: str | None, limit: int
    ) -> tuple[Reply | None, str | None]:
        """One try (redirect hops included): the reply, or why the connection failed."""
        try:
            return self._follow(url, headers, token, limit), None
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            return None, f"{type(exc).__name__}"
        except _Truncated as exc:
            return None, str(exc)

    def _follow(self, url: str, headers: Mapping[str, str], token: str | None, limit: int) -> Reply:
        """Send the request and follow up to MAX_REDIRECTS hops, keeping `Authorization` only on one origin."""
        with self._lock:
            located = self._located.get(url)
        if located is not None:
            resp = self._send(located, headers, None)  # another origin: never with the token
            if resp.status_code < 400 and resp.status_code not in REDIRECT_STATUSES:
                return self._read(resp, limit)
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
            target = urljoin(url, location)
            # A token must never reach a CDN or any other origin (hub-protocol.md §4).
            keep_auth = keep_auth and origin(target) == origin(url)
            if origin(target) != origin(first):
                with self._lock:
                    self._located[first] = target  # the next read of this file skips the Hub hop
            if target in seen:
                raise ScanError(ErrorCode.NETWORK, f"redirect loop at {_short(target)}")
            seen.add(target)
            url = target
        raise ScanError(ErrorCode.NETWORK, f"more than {MAX_REDIRECTS} redirects from {_short(url)}")

    def _send(self, url: str, headers: Mapping[str, str], token: str | None) -> requests.Response:
        """One HTTP hop, counted in the stats whatever its outcome."""
        sent = {"User-Agent": self.user_agent, **headers}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        self.stats.add(requests=1)
        return self.session.get(
            url, headers=sent, stream=True, allow_redirects=False, timeout=(self.timeout, self.timeout)
        )

    def _discard(self, resp: requests.Response) -> None:
        """Drain a short redirect body so its connection goes back to the pool; close a long one."""
        length = resp.headers.get("Content-Length", "")
        try:
            if length.isdigit() and int(length) <= ERROR_BODY_LIMIT:
                self.stats.add(bytes_read=sum(len(piece) for piece in resp.iter_content(chunk_size=READ_CHUNK)))
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
            pass  # the hop's body is never used; the next hop decides the outcome
        finally:
            resp.close()

    def _read(self, resp: requests.Response, limit: int) -> Reply:
        """Read at most `limit` body bytes (less for errors), then close so nothing more is downloaded."""
        cap = limit if resp.status_code < 400 else min(limit, ERROR_BODY_LIMIT)
        parts: list[bytes] = []
        got = 0
        complete = True
        try:
            for piece in resp.iter_content(chunk_size=max(1, min(READ_CHUNK, cap + 1))):
                parts.append(piece)
                got += len(piece)
                self.stats.add(bytes_read=len(piece))
                if got > cap:
                    complete = False
                    break
        finally:
            resp.close()
        body = b"".join(parts)
        if complete:
            _check_length(resp, len(body))
        return Reply(resp.status_code, CaseInsensitiveDict(resp.headers), body[:cap], resp.url or "", complete)

    def _gave_up(self, url: str, reply: Reply | None, failure: str | None, tries: int, wait: float | None) -> ScanError:
        """The error for a request whose tries ran out."""
        where = _short(url)
        if reply is not None and reply.status == 429:
            after = f"; the Hub asks to wait {wait:.0f} s" if wait is not None else ""
            return ScanError(
                ErrorCode.RATE_LIMITED,
                f"Hub rate limit hit (HTTP 429) for {where} after {tries} tries{after}; "
                "retry later, or set HF_TOKEN for a higher limit",
            )
        last = f"HTTP {reply.status}" if reply is not None else failure
        return ScanError(ErrorCode.NETWORK, f"GET {where} failed after {tries} tries (last: {last})")


def _check_length(resp: requests.Response, got: int) -> None:
    """Raise _Truncated when an unencoded body is shorter than its Content-Length."""
    declared = resp.headers.get("Content-Length", "")
    encoded = resp.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
    if declared.isdigit() and not encoded and got < int(declared):
        raise _Truncated(f"body truncated ({got} of {declared} bytes)")


def _short(url: str) -> str:
    """URL without its query string, for messages."""
    return url.split("?", 1)[0]
