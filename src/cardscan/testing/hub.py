"""A local Hugging Face Hub emulator: two real HTTP origins (hub + cdn) over a fixture corpus, with fault knobs.

Behaviour follows the real Hub as documented in docs/hub-source.md and docs/emulator.md (statuses, redirects, headers;
https://huggingface.co/docs/hub/api and huggingface_hub `file_download.py` / `utils/_http.py`).
Weight files are header-only on disk: bytes past the stored prefix are zeros generated on the fly.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import math
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import yaml

from cardscan.sources.ratelimit import HUB_QUOTAS, HUB_WINDOW_S
from cardscan.testing import corpus

# Rate-limit buckets of the real Hub (https://huggingface.co/docs/hub/rate-limits): anonymous quotas per window.
RATE_LIMITS: dict[str, int] = HUB_QUOTAS["anonymous"]
RATE_WINDOW_S = HUB_WINDOW_S
# `expand` values the Hub accepts (huggingface_hub hf_api.py ExpandModelProperty_T); anything else is a 400.
EXPAND_KEYS = frozenset(
    [
        "author",
        "baseModels",
        "cardData",
        "childrenModelCount",
        "config",
        "createdAt",
        "disabled",
        "downloads",
        "downloadsAllTime",
        "evalResults",
        "gated",
        "gguf",
        "inference",
        "inferenceProviderMapping",
        "lastModified",
        "library_name",
        "likes",
        "mask_token",
        "model-index",
        "pipeline_tag",
        "private",
        "resourceGroup",
        "safetensors",
        "sha",
        "siblings",
        "spaces",
        "tags",
        "transformersInfo",
        "trendingScore",
        "usedStorage",
        "widgetData",
    ]
)
CHUNK = 256 * 1024


# Paths the Hub stores in LFS (the default `.gitattributes` of a new model repo, abridged).
LFS_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pth", ".pt", ".ckpt", ".h5", ".msgpack", ".onnx", ".model")
LFS_POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n"


@dataclass(frozen=True)
class FileEntry:
    """One file of one repo revision: stored prefix on disk (maybe empty) + declared size."""

    path: str
    """Repo-relative path."""
    size: int
    """Declared size in bytes."""
    stored: Path | None
    """File holding the first bytes (the whole file for regular files); None: size only, all zeros."""
    stored_len: int
    """Bytes available in `stored`."""
    lfs: bool
    """Whether the Hub keeps it in LFS (served by a 302 to the cdn)."""
    oid: str
    """Git blob sha1 (of the content, or of the LFS pointer)."""
    sha256: str
    """LFS object id ('' for regular files); a stable stand-in, not the hash of the zero-filled bytes."""

    def read(self, start: int, n: int) -> bytes:
        """`n` bytes from `start`: stored bytes, then zeros."""
        data = b""
        if self.stored is not None and start < self.stored_len:
            with self.stored.open("rb") as fh:
                fh.seek(start)
                data = fh.read(min(n, self.stored_len - start))
        return data + bytes(n - len(data))

    def content(self) -> bytes:
        """The whole file (only for small regular files)."""
        return self.read(0, self.size)

    @property
    def pointer_size(self) -> int:
        """Size of the LFS pointer file git stores."""
        return len(LFS_POINTER.format(oid=self.sha256, size=self.size))


def make_entry(repo_id: str, path: str, stored: Path | None, size: int | None) -> FileEntry:
    """Entry for a stored file (`size` None: its real size) or a declared-size one."""
    stored_len = stored.stat().st_size if stored is not None and stored.exists() else 0
    stored = stored if stored_len else None
    size = stored_len if size is None else size
    lfs = path.endswith(LFS_SUFFIXES) or size > stored_len
    if not lfs:
        data = stored.read_bytes() if stored else b""
        return FileEntry(path, size, stored, stored_len, False, _git_sha1(data), "")
    head = stored.read_bytes()[:4096] if stored else b""
    sha256 = hashlib.sha256(f"{repo_id}/{path}:{size}:".encode() + head).hexdigest()
    oid = _git_sha1(LFS_POINTER.format(oid=sha256, size=size).encode())
    return FileEntry(path, size, stored, stored_len, True, oid, sha256)


def _git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def scan_tree(repo_id: str, folder: Path, sizes: dict[str, int]) -> dict[str, FileEntry]:
    """Entries for every file under `folder`, plus size-only files named in `sizes`."""
    found = (
        {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}
        if folder.exists()
        else {}
    )
    paths = sorted(set(found) | set(sizes))
    return {p: make_entry(repo_id, p, found.get(p), sizes.get(p)) for p in paths}


class Repo:
    """A fixture repo: repo.json facts plus one file tree per revision (generated lazily from a recipe if asked)."""

    def __init__(self, repo_id: str, folder: Path, cache_dir: Path) -> None:
        self.id, self.folder, self.cache_dir = repo_id, folder, cache_dir
        self.meta: dict[str, Any] = json.loads((folder / "repo.json").read_text())
        self.revisions: dict[str, str] = {"main": self.meta["sha"], **self.meta.get("revisions", {})}
        self._trees: dict[str, dict[str, FileEntry]] | None = None
        self._lock = threading.Lock()

    gated = property(lambda self: self.meta.get("gated", False))
    private = property(lambda self: bool(self.meta.get("private", False)))
    allowed_tokens = property(lambda self: tuple(self.meta.get("allowed_tokens", ())))
    renamed_to = property(lambda self: self.meta.get("renamed_to"))

    def commit(self, rev: str) -> str | None:
        """Commit sha of a branch / tag / `refs/pr/N` name, or of a full sha the repo has."""
        if rev in self.revisions:
            return self.revisions[rev]
        return rev if rev in self.revisions.values() else None

    def tree(self, sha: str) -> dict[str, FileEntry]:
        """Files at commit `sha` (main's files overlaid by `revisions/{sha}/files/`)."""
        return self.trees()[sha]

    def trees(self) -> dict[str, dict[str, FileEntry]]:
        with self._lock:
            if self._trees is None:
                self._trees = self._load()
            return self._trees

    def _load(self) -> dict[str, dict[str, FileEntry]]:
        main = scan_tree(self.id, self.folder / "files", self.meta.get("sizes", {}))
        if "generate" in self.meta:
            main.update(self._generated(main))
        trees = {}
        for sha in set(self.revisions.values()):
            overlay = scan_tree(self.id, self.folder / "revisions" / sha / "files", {})
            trees[sha] = {**main, **overlay} if sha != self.meta["sha"] else main
        return trees

    def _generated(self, main: dict[str, FileEntry]) -> dict[str, FileEntry]:
        """Expand `generate` (a corpus recipe over the repo's config.json) into the cache dir, once."""
        recipe = self.meta["generate"]
        cfg = json.loads(main["config.json"].content())
        key = hashlib.sha1(json.dumps([recipe, cfg, corpus.CORPUS_VERSION], sort_keys=True).encode()).hexdigest()[:16]
        out = self.cache_dir / self.id.replace("/", "--") / key
        sizes_file = out / "sizes.json"
        if not sizes_file.exists():
            tmp = out.with_name(out.name + f".tmp{threading.get_ident()}")
            sizes = corpus.write_files(tmp / "files", corpus.recipe_files(recipe, cfg))
            (tmp / "sizes.json").write_text(json.dumps(sizes))
            if not out.exists():
                tmp.rename(out)
        return scan_tree(self.id, out / "files", json.loads(sizes_file.read_text()))

    def all_entries(self) -> list[FileEntry]:
        return [e for tree in self.trees().values() for e in tree.values()]


def load_repos(root: Path, cache_dir: Path) -> dict[str, Repo]:
    """Every `{org}/{name}/repo.json` (or canonical `{name}/repo.json`) under `root`."""
    repos = {}
    for meta in sorted([*root.glob("*/*/repo.json"), *root.glob("*/repo.json")]):
        repo_id = meta.parent.relative_to(root).as_posix()
        repos[repo_id] = Repo(repo_id, meta.parent, cache_dir)
    return repos


@dataclass(frozen=True)
class LogEntry:
    """One request as the emulator saw and answered it."""

    origin: str
    """`hub` or `cdn`."""
    method: str
    """HTTP method."""
    path: str
    """Request target (path and query) as sent."""
    status: int
    """Status answered."""
    range: str | None
    """The `Range` header, if any."""
    bytes_sent: int
    """Body bytes actually written (zero-filled bytes included)."""
    authorization_present: bool
    """Whether an `Authorization` header came with the request."""
    user_agent: str | None
    """The `User-Agent` header."""


@dataclass
class Knobs:
    """Fault and behaviour switches; set globally or per repo with `HubEmulator.set_fault`."""

    latency: float = 0.0
    """Seconds to wait before answering each request."""
    first_byte_delay: float = 0.0
    """Seconds to wait between the headers and the first body byte."""
    bandwidth: int | None = None
    """Body bytes per second cap."""
    fail_429: int = 0
    """The next N requests answer 429 (with `RateLimit` r=0 and `Retry-After`)."""
    retry_after: int | None = 1
    """`Retry-After` seconds on those 429s (None: header left out)."""
    fail_5xx: int = 0
    """The next N requests answer `status_5xx`."""
    status_5xx: int = 503
    """Which 5xx: 500, 502 or 503."""
    reset_mid_body: int = 0
    """The next N bodies are cut by a TCP reset halfway."""
    truncate_body: int = 0
    """The next N bodies stop halfway (Content-Length larger than what is sent, then close)."""
    ignore_range: bool = False
    """Answer 200 with the full body whatever `Range` says."""
    tree_page_size: int = 50
    """Entries per tree page."""
    redirect_regular: bool = False
    """Regular files: 307 to `/api/resolve-cache/…` (as the real Hub does for public repos) instead of 200."""
    gated: str | bool | None = None
    """Override the repo's gating (`"auto"`, `"manual"`, False)."""
    private: bool | None = None
    """Override the repo's privacy."""
    allowed_tokens: tuple[str, ...] | None = None
    """Override the tokens approved for gated/private repos."""
    rate_quotas: dict[str, int] | str | None = None
    """Quota per bucket per window, or a plan name of `cardscan.sources.ratelimit.HUB_QUOTAS` (`"free"`); None:
    anonymous. Enforced: a request past its bucket's quota gets 429 (`RateLimit` r=0, `Retry-After`). Global only."""
    rate_window: float = RATE_WINDOW_S
    """Fixed-window length in seconds (scale it down to test a batch across windows in seconds). Global only."""
    connect_delay: float = 0.0
    """Seconds each new connection waits before its first answer (a TLS handshake's cost). Global only."""
    redirect_to: str | None = None
    """Answer with a 302 to this `Location` (placeholders `{token}`, `{path}`, `{hub}`, `{cdn}`): hostile redirects."""
    trickle: float = 0.0
    """Send bodies one byte at a time, this many seconds apart (a stalling server)."""
    endless_tree: bool = False
    """Tree pages always carry a `next` link to a new cursor (a listing that never ends)."""
    info_bytes: int = 0
    """Pad the model-info body with spaces to this many bytes (a huge reply, generated lazily)."""
    only: str | None = None
    """Faults (429, 5xx, latency, body faults, ignore_range) apply only to request paths containing this."""
    origin: str | None = None
    """Faults apply only at this origin (`hub` or `cdn`)."""


_COUNTERS = ("fail_429", "fail_5xx", "reset_mid_body", "truncate_body")
_FAULTS = frozenset(
    {"latency", "first_byte_delay", "bandwidth", "ignore_range", "redirect_to", "trickle", "endless_tree",
     "info_bytes", *_COUNTERS}
)  # fmt: skip
_KNOB_NAMES = frozenset(f.name for f in fields(Knobs))


@dataclass
class Response:
    """What a route answers: status, headers and a body (bytes, or a lazily generated file range)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: tuple[FileEntry, int, int] | None = None
    """(file, start, length) to generate instead of `body`."""

    @property
    def length(self) -> int:
        return self.stream[2] if self.stream else len(self.body)


def error(status: int, code: str, message: str, **headers: str) -> Response:
    """A Hub error: JSON body plus the `X-Error-Code`/`X-Error-Message` every client keys on."""
    body = json.dumps({"error": message}).encode()
    hdrs = {"Content-Type": "application/json", "X-Error-Code": code, "X-Error-Message": message, **headers}
    return Response(status, hdrs, body)


def json_response(obj: Any, **headers: str) -> Response:
    """200 with a JSON body."""
    return Response(200, {"Content-Type": "application/json", **headers}, json.dumps(obj).encode())


class HubEmulator:
    """Serve a corpus folder as the Hub (`.url`) plus its LFS CDN (`.cdn_url`); a context manager."""

    def __init__(
        self, root: Path | str, *, port: int = 0, cdn_port: int = 0, cache_dir: Path | None = None, **knobs: Any
    ) -> None:
        self.root = Path(root)
        self.repos: dict[str, Repo] = load_repos(
            self.root, cache_dir or Path(tempfile.gettempdir()) / "cardscan-emulator"
        )
        self._blobs: dict[str, tuple[Repo, FileEntry]] = {}
        self.log: list[LogEntry] = []
        self._base = dict(knobs)
        self._faults: dict[str | None, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._counts: dict[str, int] = dict.fromkeys(RATE_LIMITS, 0)
        self._started = time.monotonic()
        self._window = 0
        self.connections: dict[str, int] = {"hub": 0, "cdn": 0}
        """New connections accepted per origin since the last reset()."""
        self._ports = (port, cdn_port)
        self._servers: list[ThreadingHTTPServer] = []
        self.reset()

    # --- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> HubEmulator:
        """Bind both origins on 127.0.0.1 and serve them from daemon threads."""
        for origin, port in zip(("hub", "cdn"), self._ports, strict=True):
            handler = type(f"{origin.title()}Handler", (_Handler,), {"emulator": self, "origin": origin})
            server = _Server(("127.0.0.1", port), handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, name=f"emulator-{origin}", daemon=True).start()
            self._servers.append(server)
        return self

    def stop(self) -> None:
        """Stop serving and free the ports."""
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> HubEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL of the hub origin (use as `HF_ENDPOINT`)."""
        return f"http://127.0.0.1:{self._servers[0].server_address[1]}"

    @property
    def cdn_url(self) -> str:
        """Base URL of the cdn origin (LFS redirects point here)."""
        return f"http://127.0.0.1:{self._servers[1].server_address[1]}"

    # --- knobs ----------------------------------------------------------------------------------------
    def set_fault(self, repo: str | None = None, **knobs: Any) -> None:
        """Set knobs for one repo id (or globally with None); counters count down as requests consume them."""
        unknown = set(knobs) - _KNOB_NAMES
        if unknown:
            raise TypeError(f"unknown knobs: {sorted(unknown)}")
        if "allowed_tokens" in knobs and knobs["allowed_tokens"] is not None:
            knobs["allowed_tokens"] = tuple(knobs["allowed_tokens"])
        with self._lock:
            self._faults.setdefault(repo, {}).update(knobs)

    def reset(self) -> None:
        """Clear the log, the rate counters and every knob except those given to the constructor."""
        with self._lock:
            self._faults = {None: dict(self._base)}
            self._counts = dict.fromkeys(RATE_LIMITS, 0)
            self._started, self._window = time.monotonic(), 0
            self.connections = {"hub": 0, "cdn": 0}
            self.log.clear()

    def knob(self, repo: str | None, name: str) -> Any:
        """Effective value: the repo's setting, else the global one, else the default."""
        for scope in (repo, None):
            if name in self._faults.get(scope, {}):
                return self._faults[scope][name]
        return getattr(Knobs, name)

    def _fault_scope(self, repo: str | None, name: str, origin: str, path: str) -> dict[str, Any] | None:
        """The knob set whose `name` applies to this request (honouring its `only` / `origin` filters)."""
        for scope in (repo, None):
            knobs = self._faults.get(scope, {})
            if name not in knobs:
                continue
            if knobs.get("only") and knobs["only"] not in path:
                return None
            if knobs.get("origin") and knobs["origin"] != origin:
                return None
            return knobs
        return None

    def fault(self, repo: str | None, name: str, origin: str, path: str) -> Any:
        """A fault value for this request; counters are consumed (True once per remaining count)."""
        with self._lock:
            knobs = self._fault_scope(repo, name, origin, path)
            if knobs is None:
                return False if name in _COUNTERS else getattr(Knobs, name)
            if name not in _COUNTERS:
                return knobs[name]
            if knobs[name] > 0:
                knobs[name] -= 1
                return True
            return False

    # --- rate limits ----------------------------------------------------------------------------------
    def quotas(self) -> dict[str, int]:
        """Effective quota per bucket (the `rate_quotas` knob, a plan name or a dict; anonymous by default)."""
        value = self.knob(None, "rate_quotas")
        if value is None:
            return RATE_LIMITS
        return HUB_QUOTAS[value] if isinstance(value, str) else value

    def rate_headers(self, bucket: str, limited: bool = False) -> dict[str, str]:
        """Count a request in its bucket's fixed window; `RateLimit` / `RateLimit-Policy` as the Hub sends them
        (r = remaining, t = whole seconds to the reset, rounded up). `limited`: a 429 forced by a fault knob."""
        return self.rate_take(bucket, limited)[1]

    def rate_take(self, bucket: str, limited: bool = False) -> tuple[bool, dict[str, str]]:
        """(over quota, headers): the request is counted unless its bucket is already empty in this window."""
        window = float(self.knob(None, "rate_window"))
        quota = self.quotas().get(bucket)
        with self._lock:
            elapsed = time.monotonic() - self._started
            index = int(elapsed // window)
            if index != self._window:
                self._window, self._counts = index, dict.fromkeys(self._counts, 0)
            over = quota is not None and self._counts.get(bucket, 0) >= quota
            if not over and not limited:
                self._counts[bucket] = self._counts.get(bucket, 0) + 1
            used = self._counts.get(bucket, 0)
        reset_in = max(1, math.ceil((index + 1) * window - elapsed))
        if quota is None:
            return False, {}
        remaining = 0 if over or limited else max(quota - used, 0)
        return over, {
            "RateLimit": f'"{bucket}";r={remaining};t={reset_in}',
            "RateLimit-Policy": f'"fixed window";"{bucket}";q={quota};w={window:g}',
        }

    def note_connection(self, origin: str) -> None:
        """Count a new connection; wait `connect_delay` (its handshake) before it is served."""
        with self._lock:
            self.connections[origin] = self.connections.get(origin, 0) + 1
        delay = self.knob(None, "connect_delay")
        if delay:
            time.sleep(delay)

    def blob(self, sha256: str) -> tuple[Repo, FileEntry] | None:
        """The LFS file with this object id (loads, and if need be generates, repos until found)."""
        for loaded_only in (True, False):
            if sha256 in self._blobs:
                break
            for repo in self.repos.values():
                if not loaded_only or repo._trees is not None:
                    self._blobs.update((e.sha256, (repo, e)) for e in repo.all_entries() if e.lfs)
        return self._blobs.get(sha256)

    def record(self, entry: LogEntry) -> int:
        """Append to the log; returns the entry's index."""
        with self._lock:
            self.log.append(entry)
            return len(self.log) - 1

    def amend(self, index: int, old: LogEntry, new: LogEntry) -> None:
        """Replace a log entry (bytes actually sent when a body was cut short), unless the log was reset since."""
        with self._lock:
            if index < len(self.log) and self.log[index] is old:
                self.log[index] = new

    # --- access ---------------------------------------------------------------------------------------
    def gate(self, repo: Repo) -> str | bool:
        """Effective gating of `repo`."""
        override: str | bool | None = self.knob(repo.id, "gated")  # typed as Knobs.gated
        stored: str | bool = repo.gated  # repo.json `gated`: false, "auto" or "manual"
        return stored if override is None else override

    def is_private(self, repo: Repo) -> bool:
        override: bool | None = self.knob(repo.id, "private")  # typed as Knobs.private
        stored: bool = repo.private
        return stored if override is None else override

    def allowed(self, repo: Repo, token: str | None) -> bool:
        override = self.knob(repo.id, "allowed_tokens")
        tokens = repo.allowed_tokens if override is None else override
        return token is not None and token in tokens


class _Server(ThreadingHTTPServer):
    """A listen backlog for batches: the default 5 drops SYNs when dozens of workers connect at once."""

    request_queue_size = 512


class _Handler(BaseHTTPRequestHandler):
    """Request handler bound to one origin of one emulator (subclassed per origin in `start`)."""

    protocol_version = "HTTP/1.1"
    emulator: HubEmulator
    origin: str

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle + delayed ACK stall every
        # request after the first on a kept-alive connection by ~40 ms, which no real Hub does.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.emulator.note_connection(self.origin)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the emulator keeps its own log
        pass

    def _serve(self, method: str) -> None:
        emu, path = self.emulator, self.path
        token = _bearer(self.headers.get("Authorization"))
        repo_id, resp = route(emu, self.origin, method, path, token, self.headers.get("Range"))
        resp = hostile(emu, self.origin, repo_id, path, token, resp)
        resp = self._apply_status_faults(repo_id, resp)
        # Logged before the body goes out (a client that has its bytes sees its entry), corrected if cut short.
        planned = 0 if method == "HEAD" else resp.length
        entry = LogEntry(
            self.origin,
            method,
            path,
            resp.status,
            self.headers.get("Range"),
            planned,
            "Authorization" in self.headers,
            self.headers.get("User-Agent"),
        )
        index = emu.record(entry)
        sent = self._send(method, repo_id, resp)
        if sent != planned:
            emu.amend(index, entry, dataclasses.replace(entry, bytes_sent=sent))

    def _apply_status_faults(self, repo_id: str | None, resp: Response) -> Response:
        emu, origin, path = self.emulator, self.origin, self.path
        delay = emu.fault(repo_id, "latency", origin, path)
        if delay:
            time.sleep(delay)
        if emu.fault(repo_id, "fail_429", origin, path):
            retry = emu.knob(repo_id, "retry_after")
            resp = error(429, "RateLimited", "You have been rate-limited; retry later.")
            if retry is not None:
                resp.headers["Retry-After"] = str(retry)
            if origin == "hub":
                resp.headers.update(emu.rate_headers(_bucket(path), limited=True))
        elif emu.fault(repo_id, "fail_5xx", origin, path):
            status = emu.knob(repo_id, "status_5xx")
            resp = error(
                status, "InternalError", "Internal Error - We're working hard to fix this as soon as possible!"
            )
        if origin == "cdn":  # the CDN never sends the Hub's X-* headers
            resp.headers = {k: v for k, v in resp.headers.items() if not k.startswith("X-")}
        elif "RateLimit" not in resp.headers:
            resp = quota_answer(emu, path, resp)
        return resp

    def _send(self, method: str, repo_id: str | None, resp: Response) -> int:
        """Write status, headers and (for GET) the body with the body faults; returns body bytes written."""
        emu, origin, path = self.emulator, self.origin, self.path
        self.send_response(resp.status)
        for key, value in resp.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(resp.length))
        self.end_headers()
        if method == "HEAD" or resp.length == 0:
            return 0
        limit, cut = resp.length, None
        if emu.fault(repo_id, "reset_mid_body", origin, path):
            limit, cut = resp.length // 2, "reset"
        elif emu.fault(repo_id, "truncate_body", origin, path):
            limit, cut = resp.length // 2, "truncate"
        delay = emu.fault(repo_id, "first_byte_delay", origin, path)
        if delay:
            time.sleep(delay)
        trickle = emu.fault(repo_id, "trickle", origin, path)
        sent = self._write_body(resp, limit, emu.fault(repo_id, "bandwidth", origin, path), trickle)
        if cut:
            self._cut(cut)
        return sent

    def _write_body(self, resp: Response, limit: int, bandwidth: int | None, trickle: float = 0.0) -> int:
        chunk = 1 if trickle else max(1, bandwidth // 20) if bandwidth else CHUNK
        sent = 0
        try:
            for piece in _pieces(resp, limit, chunk):
                self.wfile.write(piece)
                sent += len(piece)
                if bandwidth:
                    time.sleep(len(piece) / bandwidth)
                if trickle:
                    self.wfile.flush()
                    time.sleep(trickle)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True  # the client hung up (e.g. it stopped reading an ignored-Range 200)
        return sent

    def _cut(self, how: str) -> None:
        """End the connection early: a TCP reset (linger 0) or a plain close with the body short."""
        self.close_connection = True
        if how == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()


def _pieces(resp: Response, limit: int, chunk: int) -> Iterator[bytes]:
    """The first `limit` body bytes in chunks; file ranges are read from the stored prefix, then zeros."""
    if resp.stream is None:
        for i in range(0, limit, chunk):
            yield resp.body[i : min(i + chunk, limit)]
        return
    entry, start, _ = resp.stream
    pos, end = start, start + limit
    while pos < end:
        n = min(chunk, end - pos)
        yield entry.read(pos, n)
        pos += n


# --- quotas and hostile behaviours (knobs rate_quotas, redirect_to, info_bytes) ------------------------------
def quota_answer(emu: HubEmulator, path: str, resp: Response) -> Response:
    """Count a hub request in its bucket; past the bucket's quota the answer becomes the Hub's 429."""
    over, headers = emu.rate_take(_bucket(path))
    if over:
        resp = error(429, "RateLimited", "You have been rate-limited; retry after the window resets.")
        resp.headers["Retry-After"] = headers["RateLimit"].rsplit("t=", 1)[1]
    resp.headers.update(headers)
    return resp


def hostile(
    emu: HubEmulator, origin: str, repo_id: str | None, path: str, token: str | None, resp: Response
) -> Response:
    """The `redirect_to` and `info_bytes` knobs: a redirect the test chose (it may echo the token), or a model-info
    body padded to a huge size."""
    location = emu.fault(repo_id, "redirect_to", origin, path)
    if location:
        for key, value in (("{token}", token or ""), ("{path}", path), ("{hub}", emu.url), ("{cdn}", emu.cdn_url)):
            location = location.replace(key, value)
        return Response(302, {"Location": location, "Content-Type": "text/plain"}, b"Found.")
    size = emu.fault(repo_id, "info_bytes", origin, path)
    if size and resp.status == 200 and path.startswith("/api/models/") and "/tree/" not in path:
        return Response(200, resp.headers, stream=(_Padded(resp.body), 0, max(size, len(resp.body))))  # type: ignore[arg-type]
    return resp


def replicate(src_root: Path, repo_ids: list[str], dest: Path, n: int, namespace: str = "batch") -> list[str]:
    """Make `n` repos `{namespace}/r{i:05d}` under `dest`, cycling over `repo_ids` of `src_root`: repo.json copied,
    `files/` symlinked (a large corpus for batch tests and benchmarks at no disk cost). Returns the new ids."""
    ids = []
    for i in range(n):
        src = src_root / repo_ids[i % len(repo_ids)]
        repo_id = f"{namespace}/r{i:05d}"
        folder = dest / repo_id
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "repo.json").write_bytes((src / "repo.json").read_bytes())
        if (src / "files").exists() and not (folder / "files").exists():
            (folder / "files").symlink_to((src / "files").resolve(), target_is_directory=True)
        ids.append(repo_id)
    return ids


class _Padded:
    """A JSON body followed by spaces, read like a FileEntry (only the bytes asked for are made)."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def read(self, start: int, n: int) -> bytes:
        data = self.body[start : start + n]
        return data + b" " * (n - len(data))


def _bearer(value: str | None) -> str | None:
    if not value:
        return None
    return value.split(" ", 1)[1].strip() if value.lower().startswith("bearer ") else value.strip()


def _bucket(path: str) -> str:
    if "/resolve/" in path or path.startswith("/api/resolve-cache/"):
        return "resolvers"
    return "api" if path.startswith("/api/") else "pages"


def next_link(base: str, path: str, query: dict[str, list[str]], offset: int) -> str:
    """`Link` header value for the next tree page (absolute URL carrying every query parameter + cursor)."""
    q = {k: v for k, v in query.items() if k != "cursor"}
    q["cursor"] = [base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()]
    return f'<{base}{path}?{urlencode(q, doseq=True)}>; rel="next"'


def cursor_offset(query: dict[str, list[str]]) -> int:
    """Offset encoded in the `cursor` query parameter (0 without one)."""
    if "cursor" not in query:
        return 0
    return int(json.loads(base64.urlsafe_b64decode(query["cursor"][0]))["offset"])


def split_url(target: str) -> tuple[list[str], dict[str, list[str]]]:
    """Path segments (kept percent-encoded, so `refs%2Fpr%2F1` stays one segment) and the parsed query."""
    parts = urlsplit(target)
    return [s for s in parts.path.split("/") if s], parse_qs(parts.query, keep_blank_values=True)


# --- routes --------------------------------------------------------------------------------------------
Routed = tuple[str | None, Response]
"""(repo id the request concerns, for per-repo knobs; the answer)."""


def route(emu: HubEmulator, origin: str, method: str, target: str, token: str | None, rng: str | None) -> Routed:
    """Dispatch one request to the hub or cdn routes."""
    segs, query = split_url(target)
    if origin == "cdn":
        return cdn_blob(emu, segs, rng)
    if segs[:2] == ["api", "agent-harnesses"]:
        return None, json_response({})
    if segs == ["api", "models"]:
        return None, list_models(emu, query, token, target)
    if segs[:2] == ["api", "models"]:
        return api_models(emu, segs[2:], query, token, target)
    if segs[:3] == ["api", "resolve-cache", "models"]:
        return resolve_cache(emu, segs[3:], token, rng)
    if "resolve" in segs[1:3] and len(segs) > segs.index("resolve") + 2:
        return resolve(emu, segs, token, rng, target)
    return None, error(404, "EntryNotFound", "Not Found")


def find_repo(emu: HubEmulator, segs: list[str]) -> tuple[str, Repo | None, list[str]]:
    """Split `{ns}/{name}/rest…` (or a canonical `{name}/rest…`) into the repo and the rest."""
    if len(segs) >= 2 and f"{segs[0]}/{segs[1]}" in emu.repos:
        return f"{segs[0]}/{segs[1]}", emu.repos[f"{segs[0]}/{segs[1]}"], segs[2:]
    if segs and segs[0] in emu.repos:
        return segs[0], emu.repos[segs[0]], segs[1:]
    return "/".join(segs[:2]), None, segs[2:]


def repo_not_found(token: str | None) -> Response:
    """Missing or hidden repo: 401 anonymous, 404 with a token (as huggingface_hub's `hf_raise_for_status` expects)."""
    msg = "Repository Not Found. Please make sure you specified the correct `repo_id` and that you are authenticated."
    return error(401 if token is None else 404, "RepoNotFound", msg)


def gated_denied(repo: Repo, token: str | None) -> Response:
    """Gated file without approval: 401 anonymous, 403 for an unapproved token."""
    if token is None:
        msg = f"Access to model {repo.id} is restricted. You must have access to it and be authenticated to access it."
        return error(401, "GatedRepo", msg)
    msg = f"Access to model {repo.id} is restricted and you are not in the authorized list. "
    return error(403, "GatedRepo", msg + f"Visit https://huggingface.co/{repo.id} to ask for access.")


def revision_not_found(rev: str) -> Response:
    return error(404, "RevisionNotFound", f"Invalid rev id: {rev}")


def renamed(target: str, old: str, new: str) -> Response:
    """307 with a relative Location naming the new repo id."""
    return Response(307, {"Location": target.replace(f"/{old}/", f"/{new}/", 1).replace(f"/{old}?", f"/{new}?", 1)})


def visible(emu: HubEmulator, repo: Repo, token: str | None) -> bool:
    """Private repos exist only for allowed tokens."""
    return not emu.is_private(repo) or emu.allowed(repo, token)


def api_models(
    emu: HubEmulator, segs: list[str], query: dict[str, list[str]], token: str | None, target: str
) -> Routed:
    """`/api/models/{id}`, `/revision/{rev}`, `/tree/{rev}[/{dir}]`."""
    repo_id, repo, rest = find_repo(emu, segs)
    if repo is None or not visible(emu, repo, token):
        return repo_id, repo_not_found(token)
    if repo.renamed_to:
        return repo_id, Response(
            307, {"Location": target.replace(f"/api/models/{repo_id}", f"/api/models/{repo.renamed_to}", 1)}
        )
    if not rest:
        return repo_id, model_info(emu, repo, "main", query)
    if rest[0] == "revision" and len(rest) == 2:
        return repo_id, model_info(emu, repo, unquote(rest[1]), query)
    if rest[0] == "tree" and len(rest) >= 2:
        return repo_id, tree(emu, repo, unquote(rest[1]), "/".join(unquote(s) for s in rest[2:]), query, target)
    return repo_id, revision_not_found(unquote("/".join(rest[1:])))


def model_info(emu: HubEmulator, repo: Repo, rev: str, query: dict[str, list[str]]) -> Response:
    """Model info at a revision, optionally restricted by `expand` / `expand[]`, with blobs on `blobs=true`."""
    expand = query.get("expand", []) + query.get("expand[]", [])
    bad = [k for k in expand if k not in EXPAND_KEYS]
    if bad:
        return error(400, "BadRequest", f'"expand" must be one of {sorted(EXPAND_KEYS)}; got {bad}')
    sha = repo.commit(rev)
    if sha is None:
        return revision_not_found(rev)
    info = full_info(emu, repo, sha, query.get("blobs", ["false"])[0] == "true")
    if expand:
        info = {k: v for k, v in info.items() if k in ("_id", "id", *expand)}
    return json_response(info)


def full_info(emu: HubEmulator, repo: Repo, sha: str, blobs: bool) -> dict[str, Any]:
    """Every model-info field the emulator models; absent facts are left out, as the Hub does."""
    files = repo.tree(sha)
    card = card_data(repo, files)
    config = config_summary(files)
    info: dict[str, Any] = {
        "_id": hashlib.sha1(repo.id.encode()).hexdigest()[:24],
        "id": repo.id,
        "author": repo.id.split("/")[0] if "/" in repo.id else None,
        "sha": sha,
        "lastModified": repo.meta.get("lastModified", "2024-04-17T00:00:00.000Z"),
        "createdAt": repo.meta.get("createdAt", "2023-07-01T00:00:00.000Z"),
        "private": emu.is_private(repo),
        "gated": emu.gate(repo),
        "disabled": False,
        "downloads": 0,
        "likes": 0,
        "library_name": (card or {}).get("library_name") or library_of(files),
        "pipeline_tag": (card or {}).get("pipeline_tag") or ("text-generation" if config else None),
        "tags": repo.meta.get("tags") or derive_tags(card, config, files),
        "config": config,
        "cardData": card,
        "siblings": [sibling(e, blobs) for e in files.values()],
        "spaces": [],
        "safetensors": safetensors_counts(files),
        "usedStorage": sum(e.size for e in files.values()),
    }
    return {k: v for k, v in info.items() if v is not None}


def sibling(entry: FileEntry, blobs: bool) -> dict[str, Any]:
    """`{rfilename}`, plus `size`, `blobId`, `lfs` with blobs=true."""
    out: dict[str, Any] = {"rfilename": entry.path}
    if blobs:
        out.update(blobId=entry.oid, size=entry.size)
        if entry.lfs:
            out["lfs"] = {"sha256": entry.sha256, "size": entry.size, "pointerSize": entry.pointer_size}
    return out


def read_json(files: dict[str, FileEntry], path: str) -> dict[str, Any] | None:
    """A small JSON file of the tree, or None when absent or invalid."""
    entry = files.get(path)
    if entry is None or entry.lfs:
        return None
    try:
        doc = json.loads(entry.content())
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def card_data(repo: Repo, files: dict[str, FileEntry]) -> dict[str, Any] | None:
    """`cardData`: repo.json override, else the README front matter (None when missing or broken)."""
    if "card_data" in repo.meta:
        override: dict[str, Any] | None = repo.meta["card_data"]  # a JSON object (or null) in repo.json
        return override
    entry = files.get("README.md")
    if entry is None:
        return None
    text = entry.content().decode("utf-8-sig", errors="replace").replace("\r\n", "\n")
    if not text.startswith("---\n") or "\n---" not in text[3:]:
        return None
    try:
        data = yaml.safe_load(text[4 : text.index("\n---", 3)])
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


# Keys of the Hub's `config` summary (huggingface.js packages/tasks/src/model-data.ts).
SUMMARY_KEYS = ("architectures", "model_type", "auto_map")
QUANT_SUMMARY_KEYS = ("bits", "load_in_4bit", "load_in_8bit", "quant_method")
TOKENIZER_KEYS = ("bos_token", "eos_token", "pad_token", "unk_token", "chat_template")


def config_summary(files: dict[str, FileEntry]) -> dict[str, Any] | None:
    """The Hub's `config` field: a summary of config.json, tokenizer_config.json and adapter_config.json."""
    cfg, tok, peft = (read_json(files, p) for p in ("config.json", "tokenizer_config.json", "adapter_config.json"))
    if cfg is None and peft is None:
        return None
    out: dict[str, Any] = {k: cfg[k] for k in SUMMARY_KEYS if cfg and k in cfg}
    qc = (cfg or {}).get("quantization_config")
    if isinstance(qc, dict):
        out["quantization_config"] = {k: qc[k] for k in QUANT_SUMMARY_KEYS if k in qc}
    if tok:
        out["tokenizer_config"] = {k: tok[k] for k in TOKENIZER_KEYS if k in tok}
    if peft:
        out["peft"] = {k: peft.get(k) for k in ("base_model_name_or_path", "task_type")}
    return out


def library_of(files: dict[str, FileEntry]) -> str | None:
    if "adapter_config.json" in files:
        return "peft"
    if "config.json" in files:
        return "transformers"
    return "gguf" if any(p.endswith(".gguf") for p in files) else None


def derive_tags(
    card: Mapping[str, Any] | None, config: Mapping[str, Any] | None, files: dict[str, FileEntry]
) -> list[str]:
    """Tags as the Hub derives them: library, formats, model type, card tags, license, base model."""
    tags = [t for t in (library_of(files),) if t]
    tags += [fmt for fmt in ("safetensors", "gguf") if any(p.endswith("." + fmt) for p in files)]
    if config and config.get("model_type"):
        tags.append(config["model_type"])
    card = card or {}
    tags += [t for t in card.get("tags") or [] if isinstance(t, str)]
    if card.get("license"):
        tags.append(f"license:{card['license']}")
    return list(dict.fromkeys(tags))


def safetensors_counts(files: dict[str, FileEntry]) -> dict[str, Any] | None:
    """`safetensors{parameters,total}` counted like the Hub: stored elements per dtype, MXFP4 `_blocks` ×2."""
    index = read_json(files, "model.safetensors.index.json")
    if index is not None:
        names = sorted(set(index.get("weight_map", {}).values()))
    else:
        names = ["model.safetensors"] if "model.safetensors" in files else []
    counts: dict[str, int] = {}
    for name in names:
        entry = files.get(name)
        if entry is None:
            continue
        for key, t in corpus.read_header(entry.read(0, min(entry.size, entry.stored_len or 8))).items():
            if key != "__metadata__":
                n = math.prod(t["shape"]) * (2 if key.endswith("_blocks") else 1)
                counts[t["dtype"]] = counts.get(t["dtype"], 0) + n
    return {"parameters": counts, "total": sum(counts.values())} if counts else None


def tree(emu: HubEmulator, repo: Repo, rev: str, folder: str, query: dict[str, list[str]], target: str) -> Response:
    """Paginated tree listing with a GitHub-style `Link: <…>; rel="next"`."""
    sha = repo.commit(rev)
    if sha is None:
        return revision_not_found(rev)
    entries = tree_entries(repo.tree(sha), folder, query.get("recursive", ["false"])[0] in ("true", "1"))
    if entries is None:
        return error(404, "EntryNotFound", f"{folder} does not exist on {rev}", **{"X-Repo-Commit": sha})
    size, start = emu.knob(repo.id, "tree_page_size"), cursor_offset(query)
    headers = {}
    if start + size < len(entries) or emu.fault(repo.id, "endless_tree", "hub", target):
        headers["Link"] = next_link(emu.url, urlsplit(target).path, query, start + size)
    return json_response(entries[start : start + size], **headers)


def tree_entries(files: dict[str, FileEntry], folder: str, recursive: bool) -> list[dict[str, Any]] | None:
    """File and directory entries under `folder` (None when the folder does not exist)."""
    prefix = folder.strip("/") + "/" if folder.strip("/") else ""
    under = [e for p, e in files.items() if p.startswith(prefix)]
    if prefix and not under:
        return None
    dirs: set[str] = set()
    out: list[dict[str, Any]] = []
    for e in under:
        parts = e.path[len(prefix) :].split("/")
        for depth in range(1, len(parts) if recursive else min(len(parts), 2)):
            dirs.add(prefix + "/".join(parts[:depth]))
        if recursive or len(parts) == 1:
            out.append(file_entry_json(e))
    out += [{"type": "directory", "oid": hashlib.sha1(d.encode()).hexdigest(), "size": 0, "path": d} for d in dirs]
    return sorted(out, key=lambda x: x["path"])


def file_entry_json(e: FileEntry) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "file", "oid": e.oid, "size": e.size, "path": e.path}
    if e.lfs:
        out["lfs"] = {"oid": e.sha256, "size": e.size, "pointerSize": e.pointer_size}
    return out


def resolve(emu: HubEmulator, segs: list[str], token: str | None, rng: str | None, target: str) -> Routed:
    """`/{id}/resolve/{rev}/{path}`: gating, revision, entry; LFS → 302 to the cdn; regular → 200/206 or 307."""
    i = segs.index("resolve")
    repo_id, repo, _ = find_repo(emu, segs[:i])
    if repo is None or not visible(emu, repo, token):
        return repo_id, repo_not_found(token)
    if repo.renamed_to:
        return repo_id, renamed(target, repo_id, repo.renamed_to)
    if emu.gate(repo) and not emu.allowed(repo, token):
        return repo_id, gated_denied(repo, token)
    rev, path = unquote(segs[i + 1]), "/".join(unquote(s) for s in segs[i + 2 :])
    sha = repo.commit(rev)
    if sha is None:
        return repo_id, revision_not_found(rev)
    entry = repo.tree(sha).get(path)
    if entry is None:
        return repo_id, error(404, "EntryNotFound", f"{path} does not exist on {rev}", **{"X-Repo-Commit": sha})
    common = {"X-Repo-Commit": sha, "Accept-Ranges": "bytes"}
    if entry.lfs:
        location = f"{emu.cdn_url}/blobs/{entry.sha256}?{urlencode({'repo': repo.id, 'file': path})}"
        headers = {
            **common,
            "Location": location,
            "X-Linked-Size": str(entry.size),
            "X-Linked-Etag": f'"{entry.sha256}"',
        }
        return repo_id, Response(302, {**headers, "ETag": f'"{entry.sha256}"', "Content-Type": "text/plain"}, b"Found.")
    if emu.knob(repo.id, "redirect_regular"):
        cache = f"/api/resolve-cache/models/{repo.id}/{sha}/{quote(path)}?etag=%22{entry.oid}%22"
        return repo_id, Response(307, {**common, "Location": cache})
    return repo_id, serve_file(emu, repo.id, entry, rng, {**common, "ETag": f'"{entry.oid}"'}, "hub", target)


def resolve_cache(emu: HubEmulator, segs: list[str], token: str | None, rng: str | None) -> Routed:
    """`/api/resolve-cache/models/{id}/{commit}/{path}`: regular files served directly."""
    repo_id, repo, rest = find_repo(emu, segs)
    if repo is None or not visible(emu, repo, token) or len(rest) < 2:
        return repo_id, repo_not_found(token)
    sha, path = rest[0], "/".join(unquote(s) for s in rest[1:])
    if sha not in repo.revisions.values():
        return repo_id, revision_not_found(sha)
    entry = repo.tree(sha).get(path)
    if entry is None:
        return repo_id, error(404, "EntryNotFound", f"{path} does not exist", **{"X-Repo-Commit": sha})
    headers = {"X-Repo-Commit": sha, "Accept-Ranges": "bytes", "ETag": f'"{entry.oid}"'}
    return repo_id, serve_file(emu, repo.id, entry, rng, headers, "hub", "/".join(segs))


def cdn_blob(emu: HubEmulator, segs: list[str], rng: str | None) -> Routed:
    """cdn `/blobs/{sha256}`: Range-aware bytes, no Hub headers."""
    found = emu.blob(segs[1]) if len(segs) == 2 and segs[0] == "blobs" else None
    if found is None:
        return None, Response(404, {"Content-Type": "text/plain"}, b"NoSuchKey")
    repo, entry = found
    return repo.id, serve_file(
        emu, repo.id, entry, rng, {"Accept-Ranges": "bytes", "ETag": f'"{entry.sha256}"'}, "cdn", "/blobs/"
    )


def serve_file(
    emu: HubEmulator, repo_id: str, entry: FileEntry, rng: str | None, headers: dict[str, str], origin: str, path: str
) -> Response:
    """200 (whole file), 206 (`Content-Range`), or 416 (start at/after the end); the ignore-Range fault gives 200."""
    headers = {**headers, "Content-Type": "application/octet-stream"}
    span = parse_range(rng, entry.size) if rng else None
    if span is None or emu.fault(repo_id, "ignore_range", origin, path):
        return Response(200, headers, stream=(entry, 0, entry.size))
    start, end = span
    if start >= entry.size:
        return Response(416, {**headers, "Content-Range": f"bytes */{entry.size}"})
    return Response(
        206, {**headers, "Content-Range": f"bytes {start}-{end}/{entry.size}"}, stream=(entry, start, end - start + 1)
    )


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """First span of `bytes=a-b` / `bytes=a-` / `bytes=-n`, end clamped to the file (inclusive); None if unparsable."""
    if not value.startswith("bytes="):
        return None
    first, _, last = value[6:].split(",")[0].strip().partition("-")
    try:
        if not first:
            return max(size - int(last), 0), size - 1
        start = int(first)
        return start, min(int(last) if last else size - 1, size - 1)
    except ValueError:
        return None


# --- model listing: GET /api/models (huggingface_hub HfApi.list_models; https://huggingface.co/docs/hub/api) -------
# Keys a listing item carries without `expand` (what the Hub's /api/models answers by default; no `sha`).
LIST_DEFAULT_KEYS = ("_id", "id", "likes", "trendingScore", "private", "downloads", "tags", "pipeline_tag",
                     "library_name", "createdAt", "modelId")  # fmt: skip
LIST_SORT_KEYS = frozenset({"downloads", "likes", "lastModified", "createdAt", "trendingScore", "id"})
LIST_MAX_PAGE = 1000  # the Hub caps `limit` (the page size) at 1000
_CHEAP_KEYS = frozenset({"_id", "id", "author", "sha", "lastModified", "createdAt", "private", "gated", "disabled",
                         "downloads", "likes", "trendingScore", "modelId"})  # fmt: skip


def list_models(emu: HubEmulator, query: dict[str, list[str]], token: str | None, target: str) -> Response:
    """`/api/models?author=&search=&filter=&sort=&direction=&limit=&expand[]=&full=`, pages linked by `Link`."""
    expand = query.get("expand", []) + query.get("expand[]", [])
    bad = [k for k in expand if k not in EXPAND_KEYS]
    sort = (query.get("sort") or [""])[0]
    if bad:
        return error(400, "BadRequest", f'"expand" must be one of {sorted(EXPAND_KEYS)}; got {bad}')
    if sort and sort not in LIST_SORT_KEYS:
        return error(400, "BadRequest", f'"sort" must be one of {sorted(LIST_SORT_KEYS)}; got {sort!r}')
    limit = (query.get("limit") or [""])[0]
    size = min(int(limit) if limit.isdigit() and int(limit) > 0 else LIST_MAX_PAGE, listing_page_size(emu))
    full = (query.get("full") or ["false"])[0] in ("true", "1", "True")
    keys = ("_id", "id", *expand) if expand else None
    rows = [(repo, listing_item(emu, repo, keys, full)) for repo in _listed_repos(emu, query, token)]
    if sort:
        descending = (query.get("direction") or ["-1"])[0] != "1"
        rows.sort(key=lambda r: (_sort_value(emu, r[0], sort), r[0].id), reverse=descending)
    start = cursor_offset(query)
    headers = {}
    if start + size < len(rows):
        headers["Link"] = next_link(emu.url, urlsplit(target).path, query, start + size)
    return json_response([item for _, item in rows[start : start + size]], **headers)


def listing_page_size(emu: HubEmulator) -> int:
    """The most items per listing page (the Hub's cap, 1000; tests shrink it to exercise pagination)."""
    return int(getattr(emu, "listing_page_size", LIST_MAX_PAGE))


def _listed_repos(emu: HubEmulator, query: dict[str, list[str]], token: str | None) -> Iterator[Repo]:
    """Repos matching author / search / every filter, visible to the token, renamed aliases left out."""
    authors = {a.lower() for a in query.get("author", []) if a}
    search = (query.get("search") or [""])[0].lower()
    filters = [f for f in query.get("filter", []) + query.get("filter[]", []) if f]
    for repo in list(emu.repos.values()):
        if repo.renamed_to or not visible(emu, repo, token):
            continue
        if authors and repo.id.split("/")[0].lower() not in authors:
            continue
        if search and search not in repo.id.lower():
            continue
        if filters and not _matches_filters(emu, repo, filters):
            continue
        yield repo


def _matches_filters(emu: HubEmulator, repo: Repo, filters: list[str]) -> bool:
    info = full_info(emu, repo, repo.revisions["main"], False)
    known = {*info.get("tags", []), info.get("library_name"), info.get("pipeline_tag")}
    return all(f in known for f in filters)


def _sort_value(emu: HubEmulator, repo: Repo, key: str) -> Any:
    if key in ("downloads", "likes", "trendingScore"):
        return repo.meta.get(key, 0)
    if key == "id":
        return repo.id
    return repo.meta.get(key, "2024-04-17T00:00:00.000Z" if key == "lastModified" else "2023-07-01T00:00:00.000Z")


def listing_item(emu: HubEmulator, repo: Repo, keys: tuple[str, ...] | None, full: bool) -> dict[str, Any]:
    """One listing entry: the default keys, only `keys` (expand), or model info (`full=true`)."""
    wanted = set(keys) if keys else set(LIST_DEFAULT_KEYS)
    sha = repo.revisions["main"]
    if full or not wanted <= _CHEAP_KEYS:
        info = full_info(emu, repo, sha, False)  # headers are read only when an expensive key is asked for
    else:
        info = {"_id": hashlib.sha1(repo.id.encode()).hexdigest()[:24], "id": repo.id, "sha": sha,
                "author": repo.id.split("/")[0] if "/" in repo.id else None, "private": emu.is_private(repo),
                "gated": emu.gate(repo), "disabled": False,
                "lastModified": repo.meta.get("lastModified", "2024-04-17T00:00:00.000Z"),
                "createdAt": repo.meta.get("createdAt", "2023-07-01T00:00:00.000Z")}  # fmt: skip
    info.update(modelId=repo.id, downloads=repo.meta.get("downloads", 0), likes=repo.meta.get("likes", 0),
                trendingScore=repo.meta.get("trendingScore", 0))  # fmt: skip
    if full:
        return {k: v for k, v in info.items() if v is not None}
    return {k: info[k] for k in info if k in wanted and info[k] is not None}


# --- mutations between audit runs: what changes on the real Hub between two nightly audits --------------------
# They change the emulator's in-memory repos and survive `reset()`: use a private emulator for tests that call them.


def commit_files(emu: HubEmulator, repo_id: str, files: dict[str, bytes | None] | None = None) -> str:
    """A new commit on main: `files` written (None deletes a path) over the current tree; returns its sha."""
    repo = emu.repos[repo_id]
    old = repo.revisions["main"]
    tree = dict(repo.tree(old))
    new = hashlib.sha1(f"{repo_id}:{old}:{sorted((files or {}).items())!r}:{time.time_ns()}".encode()).hexdigest()
    for path, data in (files or {}).items():
        if data is None:
            tree.pop(path, None)
            continue
        stored = repo.cache_dir / "mutations" / repo_id.replace("/", "--") / new / path
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.write_bytes(data)
        tree[path] = make_entry(repo_id, path, stored, None)
    trees = repo.trees()
    with repo._lock:
        trees[new] = tree
        repo.revisions["main"] = new
        repo.meta["sha"] = new
        repo.meta["lastModified"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    return new


def set_license(emu: HubEmulator, repo_id: str, license: str) -> str:
    """Commit a README whose front matter says `license: {license}`; returns the new sha."""
    repo = emu.repos[repo_id]
    entry = repo.tree(repo.revisions["main"]).get("README.md")
    text = entry.content().decode("utf-8", errors="replace") if entry else ""
    front: dict[str, Any] = {}
    body = text
    if text.startswith("---\n") and "\n---" in text[3:]:
        end = text.index("\n---", 3)
        front = yaml.safe_load(text[4:end]) or {}
        body = text[end + 4 :].lstrip("-\n")
    front["license"] = license
    if isinstance(repo.meta.get("card_data"), dict):
        repo.meta["card_data"] = {**repo.meta["card_data"], "license": license}
    readme = "---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n" + body
    return commit_files(emu, repo_id, {"README.md": readme.encode()})


def set_gated(emu: HubEmulator, repo_id: str, gated: str | bool, approve: tuple[str, ...] = ()) -> None:
    """Change the repo's gating setting (not a commit, as on the Hub), approving the tokens in `approve`."""
    meta = emu.repos[repo_id].meta
    meta["gated"] = gated
    meta["allowed_tokens"] = [*meta.get("allowed_tokens", ()), *approve]


def set_stats(emu: HubEmulator, repo_id: str, **stats: int) -> None:
    """Set `downloads` / `likes` / `trendingScore` the listing reports and sorts by."""
    emu.repos[repo_id].meta.update(stats)


def delete_repo(emu: HubEmulator, repo_id: str) -> None:
    """Remove the repo: model info, resolve and the listing answer as for a repo that never existed."""
    with emu._lock:
        emu.repos.pop(repo_id, None)


def reload_repos(emu: HubEmulator, cache_dir: Path) -> None:
    """Undo every mutation: the repos as the corpus folder has them (tests sharing one emulator call it first)."""
    fresh = load_repos(emu.root, cache_dir)
    with emu._lock:
        emu.repos = fresh
        emu._blobs.clear()
