"""One rate limiter per connection pool: every worker of a batch asks it before each Hub request, so the run stays
inside the Hub's fixed-window quotas instead of bursting into 429s.

The Hub counts requests per bucket in fixed 5-minute windows and tells the client where it stands on every answer
(https://huggingface.co/docs/hub/rate-limits):

    RateLimit: "api";r=489;t=189                        r = requests left in this window, t = seconds to its end
    RateLimit-Policy: "fixed window";"api";q=500;w=300  q = quota per window, w = window seconds

The limiter keeps, per bucket, how many requests are left in the current window (the smaller of its own count and
the server's `r`) and when the window ends. A request that does not fit is scheduled into the next window with room:
the caller sleeps until that window opens (plus a margin for `t`'s whole-second rounding), so a fixed window is used
to the last request and never overrun. A 429 empties the bucket until the reset it names (`RateLimit` t, else
`Retry-After`), which pauses every worker, not only the one that got it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cardscan.errors import ErrorCode, ScanError

# Quotas per 5-minute window by account type (https://huggingface.co/docs/hub/rate-limits). `cdn` (the LFS/Xet
# storage behind the Hub's 302s) is not rate limited by the Hub; it is counted only.
HUB_WINDOW_S = 300
HUB_QUOTAS: dict[str, dict[str, int]] = {
    "anonymous": {"api": 500, "resolvers": 3000, "pages": 100},
    "free": {"api": 1000, "resolvers": 5000, "pages": 200},
    "pro": {"api": 2500, "resolvers": 12000},
}
BUCKETS = ("api", "resolvers", "pages", "cdn")
RESET_MARGIN_S = 1.0  # `t` is whole seconds: wait this much past the announced reset (huggingface_hub waits t + 1)

_RATELIMIT = re.compile(r'^\s*"?([\w-]+)"?\s*;\s*r=(\d+)\s*;\s*t=(\d+)')
_POLICY = re.compile(r'"([\w-]+)"\s*;\s*q=(\d+)\s*;\s*w=(\d+)')


def bucket_of(path: str, same_origin: bool) -> str:
    """The Hub bucket a request counts in: `/resolve/` URLs are resolvers, `/api/` the API, other origins cdn."""
    if not same_origin:
        return "cdn"
    if "/resolve/" in path or path.startswith("/api/resolve-cache/"):
        return "resolvers"  # the resolve-cache target of a resolve hop is counted with it, as the emulator does
    return "api" if path.startswith("/api/") else "pages"


def parse_ratelimit(headers: Mapping[str, str]) -> tuple[str, int, int] | None:
    """(bucket, remaining, seconds to reset) from a `RateLimit` header, or None."""
    m = _RATELIMIT.match(headers.get("RateLimit", ""))
    return (m.group(1), int(m.group(2)), int(m.group(3))) if m else None


def parse_policy(headers: Mapping[str, str]) -> tuple[str, int, int] | None:
    """(bucket, quota, window seconds) from a `RateLimit-Policy` header, or None."""
    m = _POLICY.search(headers.get("RateLimit-Policy", ""))
    return (m.group(1), int(m.group(2)), int(m.group(3))) if m else None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Integer `Retry-After` seconds (HTTP dates are ignored, as huggingface_hub does)."""
    value = headers.get("Retry-After", "").strip()
    return float(value) if value.isdigit() else None


@dataclass
class _Bucket:
    """What the limiter knows of one bucket's current window."""

    quota: int | None = None
    window: float | None = None
    remaining: int | None = None  # None: unknown (no answer seen yet, or a window of unknown quota began)
    reset_at: float = 0.0  # monotonic time the current window ends
    ahead: int = 0  # requests already scheduled into later windows
    inflight: int = 0
    pause_until: float = 0.0
    waited: float = 0.0  # wall seconds during which requests were held back (union of the pauses)
    requests: int = 0
    limited: int = 0  # 429s received


@dataclass(frozen=True)
class RateReport:
    """What the limiter did over a run."""

    waited_s: dict[str, float]
    """Wall seconds requests were held back, per bucket (overlapping pauses counted once)."""
    requests: dict[str, int]
    """Requests let through, per bucket."""
    limited: dict[str, int]
    """429 answers received, per bucket."""
    bound: str | None
    """The bucket that held the run back longest, or None when nothing waited."""

    @property
    def total_waited_s(self) -> float:
        """Wall seconds the run was paused on its most binding bucket."""
        return max(self.waited_s.values(), default=0.0)


@dataclass
class RateLimiter:
    """Shared by every worker using one connection pool; thread-safe."""

    max_pause: float = 330.0
    """Longest single wait for a quota reset, seconds; a longer one fails the request as `rate_limited`."""
    margin: float = RESET_MARGIN_S
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reserve(self, bucket: str) -> float:
        """Book one request in `bucket`: seconds the caller must sleep before sending it (0 = now)."""
        with self._lock:
            now = self.clock()
            b = self._buckets.setdefault(bucket, _Bucket())
            self._roll(b, now)
            b.inflight += 1
            b.requests += 1
            if b.remaining is None:
                return 0.0
            if b.remaining > 0:
                b.remaining -= 1
                return 0.0
            wait = self._next_slot(b) - now
            if wait > self.max_pause:
                b.inflight -= 1
                b.requests -= 1
                raise ScanError(
                    ErrorCode.RATE_LIMITED,
                    f"the Hub's {bucket!r} quota resets in {wait:.0f} s, longer than the {self.max_pause:.0f} s "
                    "a run waits; retry later, or set HF_TOKEN for a higher limit",
                )
            b.ahead += 1
            if wait > 0:
                b.waited += max(0.0, now + wait - max(now, b.pause_until))
                b.pause_until = max(b.pause_until, now + wait)
            return max(wait, 0.0)

    def done(self, bucket: str, status: int | None, headers: Mapping[str, str]) -> None:
        """Learn from an answer (None status: the request failed without one)."""
        with self._lock:
            now = self.clock()
            b = self._buckets.setdefault(bucket, _Bucket())
            b.inflight = max(0, b.inflight - 1)
            policy = parse_policy(headers)
            if policy is not None:
                b.quota, b.window = policy[1], float(policy[2])
            state = parse_ratelimit(headers)
            if status == 429:
                b.limited += 1
                self._empty(b, now, state, headers)
            elif state is not None:
                self._update(b, now, state[1], now + state[2])

    def report(self) -> RateReport:
        """Waits, requests and 429s per bucket so far."""
        with self._lock:
            waited = {k: round(b.waited, 3) for k, b in self._buckets.items()}
            bound = max(waited, key=waited.__getitem__) if any(waited.values()) else None
            return RateReport(
                waited, {k: b.requests for k, b in self._buckets.items()},
                {k: b.limited for k, b in self._buckets.items()}, bound,
            )  # fmt: skip

    # -- internals (lock held) ------------------------------------------------------------------------------------

    def _update(self, b: _Bucket, now: float, remaining: int, reset_at: float) -> None:
        """An ordinary answer: adopt a new window, or lower our count to the server's within the same window."""
        tolerance = max(1.5, (b.window or 0) / 2)
        first = b.reset_at == 0.0
        if b.remaining is None or reset_at > b.reset_at + tolerance:
            # A window we had not seen. The server's r counts what it has processed; requests of ours still in
            # flight may land in this window too. With the quota known, count every one of ours that can be in it
            # (all so far on first contact; this answer's and those in flight after a reset) and take the smaller
            # of that and r (r is smaller when another client spends the same quota). Without it, subtract the
            # requests in flight from r.
            if b.quota:
                ours = b.requests if first else b.inflight + 1
                b.remaining = max(0, min(remaining, b.quota - ours))
            else:
                b.remaining = max(0, remaining - b.inflight)
            b.reset_at, b.ahead = reset_at, 0
        else:
            b.remaining = min(b.remaining, remaining)

    def _empty(self, b: _Bucket, now: float, state: tuple[str, int, int] | None, headers: Mapping[str, str]) -> None:
        """A 429: nothing left until the reset it names (`RateLimit` t, else `Retry-After`, else a short pause)."""
        after = retry_after(headers)
        if state is not None and state[1] == 0:
            reset_at = now + state[2]
        elif after is not None:
            reset_at = now + after - self.margin  # Retry-After is exact: no rounding margin on top
        else:
            reset_at = now + 1.0
        b.remaining = 0
        b.reset_at = reset_at

    def _next_slot(self, b: _Bucket) -> float:
        """When the next request that does not fit the current window may go."""
        if not b.quota or not b.window:
            return b.reset_at + self.margin
        return b.reset_at + self.margin + (b.ahead // b.quota) * b.window

    def _roll(self, b: _Bucket, now: float) -> None:
        """Move to the next window once its start (plus margin) has passed."""
        while b.remaining is not None and b.remaining <= 0 and now >= b.reset_at + self.margin:
            if not b.quota or not b.window:
                b.remaining, b.ahead = None, 0
                return
            # Requests still in flight from the old window may land in the new one: count them there too.
            stragglers = max(0, b.inflight - b.ahead)
            used = min(b.ahead, b.quota)
            b.remaining, b.ahead = max(0, b.quota - used - stragglers), b.ahead - used
            b.reset_at += b.window
