"""The contract every source keeps: list the files of one revision, read a byte range of one file."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class RepoFile:
    """One file of a repo revision."""

    path: str
    """Repo-relative path with `/` separators."""
    size: int | None
    """Size in bytes when the listing knows it."""


@dataclass(frozen=True)
class Listing:
    """What one metadata call learns about a repo revision."""

    repo_id: str
    """Canonical repo id (after renames), or the local path for local sources."""
    revision: str
    """The revision asked for (branch, tag, sha, `refs/pr/N`), or `local`."""
    commit: str | None
    """Resolved commit sha; None for plain folders."""
    files: tuple[RepoFile, ...]
    """Every file in the revision."""
    gated: str | bool = False
    """Hub gating (`False`, `"auto"`, `"manual"`)."""
    private: bool = False
    """Whether the Hub marks the repo private."""
    card_data: dict[str, Any] | None = None
    """The Hub's parsed card YAML (`cardData`) when it sent one."""
    hub_parameters: dict[str, int] | None = None
    """The Hub's own count (`safetensors.parameters`: stored elements per dtype; wrong for packed formats)."""

    def file(self, path: str) -> RepoFile | None:
        """The listed file at `path`, or None."""
        for f in self.files:
            if f.path == path:
                return f
        return None


@dataclass(frozen=True)
class Chunk:
    """Bytes read from one file at one offset."""

    data: bytes
    """The bytes, possibly fewer than asked for at end of file."""
    total: int | None
    """The file's full size when the reply said (Content-Range total, stat size)."""


@dataclass
class IOStats:
    """Running counters of one source's traffic (mutable, thread-safe): what the benchmarks report."""

    requests: int = 0
    bytes_read: int = 0
    retries: int = 0
    api: int = 0
    """Requests to the Hub's `api` bucket (model info, tree pages)."""
    resolvers: int = 0
    """Requests to the Hub's `resolvers` bucket (`/resolve/` URLs and their resolve-cache hops)."""
    cdn: int = 0
    """Requests to another origin (the LFS/Xet CDN the Hub redirects to): not rate limited."""
    rate_limited: int = 0
    """429 answers received."""
    rate_wait_s: float = 0.0
    """Seconds this source's requests slept waiting for a rate-limit window."""
    _waits: dict[str, float] = field(default_factory=dict, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, requests: int = 0, bytes_read: int = 0, retries: int = 0) -> None:
        """Count traffic from any thread."""
        with self._lock:
            self.requests += requests
            self.bytes_read += bytes_read
            self.retries += retries

    def count(self, bucket: str, *, waited: float = 0.0) -> None:
        """Count one request in its rate-limit bucket (`api`, `resolvers`, `cdn`; `pages` only in `requests`) and
        the seconds it waited for the rate limiter."""
        with self._lock:
            if bucket in ("api", "resolvers", "cdn"):
                setattr(self, bucket, getattr(self, bucket) + 1)
            if waited:
                self.rate_wait_s += waited
                self._waits[bucket] = self._waits.get(bucket, 0.0) + waited

    def note_rate_limited(self) -> None:
        """Count one 429 answer."""
        with self._lock:
            self.rate_limited += 1

    def buckets(self) -> dict[str, Any]:
        """The per-bucket counters as IOReport fields."""
        with self._lock:
            return {
                "api_requests": self.api, "resolver_requests": self.resolvers, "cdn_requests": self.cdn,
                "rate_limited": self.rate_limited, "rate_wait_s": round(self.rate_wait_s, 3),
                "rate_bucket": max(self._waits, key=self._waits.__getitem__) if self._waits else None,
            }  # fmt: skip


class Source(Protocol):
    """A repo revision that can be listed and read by byte range. Sources raise `ScanError` on failure."""

    stats: IOStats

    def listing(self) -> Listing:
        """List the revision's files (one metadata call for the Hub)."""
        ...

    def read_range(self, path: str, start: int, end: int) -> Chunk:
        """Read bytes `[start, end)` of `path` (end exclusive); a short read means end of file."""
        ...

    def read_file(self, path: str, max_bytes: int = 16 << 20) -> bytes | None:
        """Read a small whole file (config, card, index); None when it does not exist."""
        ...
