"""The Hugging Face Hub as a source: one model-info call to list a revision, then ranged reads pinned to its commit."""

from __future__ import annotations

import json
import os
import posixpath
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from cardscan.errors import ErrorCode, ScanError
from cardscan.sources.base import Chunk, Listing, RepoFile
from cardscan.sources.http import (
    Deadline,
    HubSession,
    HubStats,
    Reply,
    Transport,
    make_session,
    next_link,
    parse_content_range,
    redact,
)

DEFAULT_ENDPOINT = "https://huggingface.co"
# A JSON API body (model info, one tree page) is read only this far: the largest real repos' model info with
# blobs is a few MB, and a hostile 256 MB reply must not become gigabytes of Python objects.
API_BODY_LIMIT = 16 << 20
MAX_FILES = 100_000  # files one listing may name (siblings, or all tree pages together)
MAX_TREE_PAGES = 10_000  # guards against a server whose `next` link never ends
DEFAULT_DEADLINE_S = 300.0  # a whole repo; rate-limit pauses are not counted
# A Range-ignoring 200 for a read that does not start at 0 is usable only if the prefix to skip is small.
MAX_SKIP_ON_IGNORED_RANGE = 1 << 20


def _version() -> str:
    """Installed cardscan version, for the User-Agent."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cardscan")
    except PackageNotFoundError:
        return "0"


@dataclass(frozen=True)
class HubConfig:
    """How to reach the Hub: endpoint, credentials, timeouts and the retry budget."""

    endpoint: str
    """Base URL without trailing slash: HF_ENDPOINT or https://huggingface.co."""
    token: str | None
    """Bearer token (--token, else huggingface_hub.get_token()); never printed."""
    timeout: float = 10.0
    """Connect and read timeout per request, seconds."""
    max_retries: int = 4
    """Retries after the first try for 429, 5xx, connection errors, timeouts and truncated bodies."""
    max_total_wait: float = 60.0
    """Cap on the sum of backoff sleeps for one request, seconds."""
    user_agent: str = f"cardscan/{_version()}"
    """User-Agent header sent with every request."""
    deadline: float | None = DEFAULT_DEADLINE_S
    """Wall-clock budget of one repo in seconds (all reads, retries and pages together; rate-limit pauses
    excluded); None for none."""

    def __repr__(self) -> str:
        # The token (and a password in the endpoint URL) must not leak through logs or tracebacks.
        return f"HubConfig(endpoint={redact(self.endpoint)!r}, token={'***' if self.token else None})"

    @classmethod
    def from_env(cls, token: str | None = None, endpoint: str | None = None) -> HubConfig:
        """Explicit values first, else HF_ENDPOINT and huggingface_hub's token lookup (HF_TOKEN, token file)."""
        if token is None and os.environ.get("HF_TOKEN") and not os.environ.get("HF_OIDC_RESOURCE"):
            token = os.environ["HF_TOKEN"]  # what get_token() would return, without its ~0.2 s import
        if token is None:
            from huggingface_hub import get_token  # deferred: keeps CLI start-up fast

            token = get_token()
        return cls(endpoint=endpoint_from_env(endpoint), token=token or None)


def endpoint_from_env(endpoint: str | None = None) -> str:
    """The Hub's base URL: the one given, else HF_ENDPOINT, else huggingface.co; no trailing slash."""
    return (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


# X-Error-Code → our code (huggingface_hub utils/_http.py `hf_raise_for_status` reads the same header); the code wins over the HTTP status.
HUB_ERROR_CODES: dict[str, ErrorCode] = {
    "RepoNotFound": ErrorCode.NOT_FOUND,
    "GatedRepo": ErrorCode.GATED,
    "RevisionNotFound": ErrorCode.REVISION_NOT_FOUND,
    "EntryNotFound": ErrorCode.NOT_FOUND,
}
# Status → code when the server sent no X-Error-Code.
STATUS_CODES: dict[int, ErrorCode] = {
    400: ErrorCode.BAD_INPUT,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.UNAUTHORIZED,
    404: ErrorCode.NOT_FOUND,
}


class HubSource:
    """One repo revision on the Hub, read over HTTP with Range requests; safe to share between threads."""

    def __init__(
        self,
        repo_id: str,
        revision: str = "main",
        *,
        session: requests.Session | None = None,
        config: HubConfig | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        _check_repo_id(repo_id)
        self.repo_id = repo_id
        self.revision = revision
        self.config = config or HubConfig.from_env()
        self.stats = HubStats()
        self._http = Transport(
            session=session or make_session(),
            stats=self.stats,
            home=self.config.endpoint,
            timeout=self.config.timeout,
            max_retries=self.config.max_retries,
            max_total_wait=self.config.max_total_wait,
            user_agent=self.config.user_agent,
            sleep=sleep,
            deadline=Deadline(self.config.deadline),
            token=self.config.token,
        )
        self._listing: Listing | None = None
        self._lock = threading.Lock()

    # -- Source protocol ------------------------------------------------------------------------------------

    def listing(self) -> Listing:
        """Model info at the revision (one call); the tree API only when sizes are missing. Cached."""
        with self._lock, self._redacting():
            if self._listing is None:
                self._listing = self._fetch_listing()
            return self._listing

    def read_range(self, path: str, start: int, end: int) -> Chunk:
        """Bytes [start, end) of `path` via one Range GET; a short chunk means end of file."""
        with self._redacting():
            return self._read_range(path, start, end)

    @contextmanager
    def _redacting(self) -> Iterator[None]:
        """Every error leaving this source has its URLs and the token masked, whoever built its message."""
        try:
            yield
        except ScanError as exc:
            message = redact(exc.message, self.config.token)
            if message == exc.message:
                raise
            raise ScanError(exc.code, message) from None

    def _read_range(self, path: str, start: int, end: int) -> Chunk:
        if start < 0 or end < start:
            raise ScanError(ErrorCode.BAD_INPUT, f"bad byte range [{start}, {end}) for {path}")
        if end == start:
            return Chunk(b"", None)
        headers = {"Range": f"bytes={start}-{end - 1}", "Accept-Encoding": "identity"}
        # If the server ignores Range, the body starts at byte 0: read up to `end` only when the prefix to
        # skip is small, so a Range-less mirror never makes us stream a large file.
        limit = end if start <= MAX_SKIP_ON_IGNORED_RANGE else end - start
        reply = self._get(self._resolve_url(path), headers, limit=limit, what=path, ok=416)
        if reply.status == 416:
            return Chunk(b"", parse_content_range(reply.headers.get("Content-Range"))[1])
        if reply.status == 206:
            return self._partial(reply, path, start, end)
        if reply.status == 200:
            return self._whole(reply, path, start, end)
        raise ScanError(ErrorCode.NETWORK, f"unexpected HTTP {reply.status} reading {path} of {self.repo_id}")

    def prepare(self, path: str) -> None:
        """Resolve `path`'s CDN location now (while other reads are in flight), so its read costs one hop."""
        if _safe_path(path) is None:
            return
        self._http.locate(self._resolve_url(path), {"Accept-Encoding": "identity"}, token=self.config.token)

    def read_file(self, path: str, max_bytes: int = 16 << 20) -> bytes | None:
        """A small whole file, or None when the Hub says the entry does not exist."""
        with self._redacting():
            return self._read_file(path, max_bytes)

    def _read_file(self, path: str, max_bytes: int) -> bytes | None:
        url = self._resolve_url(path)
        session = self._http.session
        kept = session.recall(url) if isinstance(session, HubSession) else None
        if kept is not None and len(kept) <= max_bytes:
            return kept
        try:
            reply = self._get(url, {"Accept-Encoding": "identity"}, limit=max_bytes, what=path, missing_ok=True)
        except _EntryMissing:
            return None
        if not reply.complete:
            raise ScanError(ErrorCode.MALFORMED, f"{path} in {self.repo_id} is larger than {max_bytes} bytes")
        if isinstance(session, HubSession):
            session.remember(url, reply.body)
        return reply.body

    # -- listing --------------------------------------------------------------------------------------------

    def _fetch_listing(self) -> Listing:
        """Parse model info (or the item a Hub listing handed over); fall back to the paginated tree when siblings
        lack sizes. A listed item's siblings never carry sizes: they stay unknown (the chosen weight files' sizes
        come from their reads' Content-Range), since a tree call per repo would cost what the listing saved."""
        session = self._http.session
        listed = session.take_listed(self.repo_id, self.revision) if isinstance(session, HubSession) else None
        if listed is not None and isinstance(listed.get("sha"), str):
            info: Mapping[str, Any] = listed
            files = _siblings(info.get("siblings"), sizes=False)
        else:
            info = self._json(model_info_url(self.config.endpoint, self.repo_id, self.revision), what="model info")
            files = _siblings(info.get("siblings"))
        given = info.get("id")
        repo_id: str = given if isinstance(given, str) else self.repo_id
        commit = info.get("sha") if isinstance(info.get("sha"), str) else None
        if files is None:
            files = self._tree(repo_id, commit or self.revision)
        card = info.get("cardData")
        return Listing(
            repo_id=repo_id,
            revision=self.revision,
            commit=commit,
            files=files,
            gated=info.get("gated", False) or False,
            private=bool(info.get("private", False)),
            card_data=card if isinstance(card, dict) else None,
            hub_parameters=_hub_parameters(info.get("safetensors")),
        )

    def _tree(self, repo_id: str, rev: str) -> tuple[RepoFile, ...]:
        """Every file of the revision from the tree API, following `Link: rel="next"` to the last page."""
        url: str | None = f"{self._api_repo(repo_id)}/tree/{quote(rev, safe='')}?recursive=true"
        files: list[RepoFile] = []
        seen: set[str] = set()
        while url is not None:
            if url in seen or len(seen) >= MAX_TREE_PAGES:
                raise ScanError(ErrorCode.NETWORK, f"tree listing of {repo_id} does not end (page loop)")
            seen.add(url)
            reply = self._get(url, {}, limit=API_BODY_LIMIT, what="file tree")
            files.extend(_tree_entries(_decode_json(reply, "file tree")))
            if len(files) > MAX_FILES:
                raise ScanError(ErrorCode.TOO_LARGE, f"the file tree of {repo_id} lists more than {MAX_FILES:,} files")
            url = next_link(reply.headers, url)
        return tuple(files)

    def _json(self, url: str, what: str) -> dict[str, Any]:
        """GET an API URL and decode a JSON object."""
        data = _decode_json(self._get(url, {}, limit=API_BODY_LIMIT, what=what), what)
        if not isinstance(data, dict):
            raise ScanError(ErrorCode.MALFORMED, f"{what} of {self.repo_id} is not a JSON object")
        return data

    # -- reads ----------------------------------------------------------------------------------------------

    def _partial(self, reply: Reply, path: str, start: int, end: int) -> Chunk:
        """A 206 must start where asked; its Content-Range also gives the file size."""
        got_start, total = parse_content_range(reply.headers.get("Content-Range"))
        if got_start != start:
            raise ScanError(
                ErrorCode.RANGE_UNSUPPORTED,
                f"server answered bytes from {got_start} instead of {start} for {path} in {self.repo_id}",
            )
        return Chunk(reply.body[: end - start], total)

    def _whole(self, reply: Reply, path: str, start: int, end: int) -> Chunk:
        """A 200 ignored Range: the body was read only up to `end` and the connection already closed."""
        self.stats.note_range_ignored()
        if start > MAX_SKIP_ON_IGNORED_RANGE:
            raise ScanError(
                ErrorCode.RANGE_UNSUPPORTED,
                f"the server ignored Range for {path} in {self.repo_id}; reading from byte {start} would "
                "download the file up to there (use a mirror that supports Range, or a local copy)",
            )
        length = reply.headers.get("Content-Length", "")
        return Chunk(reply.body[start:end], int(length) if length.isdigit() else None)

    def _get(
        self, url: str, headers: Mapping[str, str], *, limit: int, what: str, ok: int = 0, missing_ok: bool = False
    ) -> Reply:
        """GET and turn error statuses (other than `ok`) into ScanError; EntryNotFound into _EntryMissing if allowed."""
        reply = self._http.get(url, headers, token=self.config.token, limit=limit)
        if reply.status < 400 or reply.status == ok:
            return reply
        code = reply.headers.get("X-Error-Code", "")
        if code == "EntryNotFound" and missing_ok:
            raise _EntryMissing(what)
        raise self._error(reply.status, code, what)

    def _error(self, status: int, hub_code: str, what: str) -> ScanError:
        """An actionable error for a failed reply; messages name the repo, never the token."""
        repo, token = self.repo_id, self.config.token
        page = f"{self.config.endpoint}/{repo}"
        code = HUB_ERROR_CODES.get(hub_code) or STATUS_CODES.get(status, ErrorCode.NETWORK)
        if code is ErrorCode.GATED:
            who = "your token has not been granted access yet" if token else "it needs an approved token"
            msg = f"{repo} is gated ({who}): accept the licence on {page} and set HF_TOKEN / pass --token"
        elif code is ErrorCode.NOT_FOUND and hub_code != "RepoNotFound" and what != "model info":
            msg = f"{what} not found in {repo} at {self.revision} (HTTP {status})"
        elif code is ErrorCode.NOT_FOUND:
            # The Hub answers 401 for a missing repo and a private one alike (it hides private repos): say both.
            hint = (", or it is private: check the name, and if it is private, set HF_TOKEN / pass --token"
                    if status == 401 and not token else "")  # fmt: skip
            msg = f"repository {repo} not found on {self.config.endpoint}{hint}"
        elif code is ErrorCode.REVISION_NOT_FOUND:
            msg = f"revision {self.revision!r} not found in {repo}"
        elif code is ErrorCode.UNAUTHORIZED:
            fix = "check that HF_TOKEN / --token is valid" if token else "set HF_TOKEN or pass --token"
            msg = f"access to {what} of {repo} refused (HTTP {status}): {fix}"
        else:
            msg = f"unexpected HTTP {status} for {what} of {repo}"
        return ScanError(code, msg.replace(token, "***") if token else msg)

    # -- URLs -----------------------------------------------------------------------------------------------

    def _api_repo(self, repo_id: str) -> str:
        """`{endpoint}/api/models/{repo}`; the repo's slash stays a slash."""
        return api_repo_url(self.config.endpoint, repo_id)

    def _resolve_url(self, path: str) -> str:
        """Resolve URL pinned to the listed commit (canonical repo id), else to the revision asked for. A path that
        leaves the repo (`../`, absolute) is refused, never requested (with or without the token)."""
        safe = _safe_path(path)
        if safe is None:
            raise ScanError(ErrorCode.MALFORMED, f"refused file path outside the repo: {_shown(path)}")
        path = safe
        listing = self._listing
        repo = listing.repo_id if listing else self.repo_id
        rev = listing.commit if listing and listing.commit else self.revision
        return f"{self.config.endpoint}/{quote(repo, safe='/')}/resolve/{quote(rev, safe='')}/{quote(path, safe='/')}"


class _EntryMissing(Exception):
    """The Hub answered EntryNotFound: the file is absent, which read_file reports as None."""


def _check_repo_id(repo_id: str) -> None:
    """Reject ids that would build a wrong URL (empty parts, `..`, more than one slash)."""
    parts = repo_id.split("/")
    if not repo_id or len(parts) > 2 or any(p in ("", ".", "..") for p in parts):
        raise ScanError(ErrorCode.BAD_INPUT, f"not a Hub repo id: {repo_id!r} (expected 'namespace/name')")


def _safe_path(path: str) -> str | None:
    """`path` normalised (no `.`, `..` or empty segments left), or None when it is absolute, climbs out of the
    repo, or holds characters no repo path has (backslash, control characters)."""
    if not path or path.startswith("/") or "\\" in path or any(ord(c) < 32 for c in path):
        return None
    norm = posixpath.normpath(path)
    if norm in (".", "..") or norm.startswith("../"):
        return None
    return norm


def _shown(path: str) -> str:
    """A path from the server, quoted and cut short for a message."""
    return repr(path[:120] + ("…" if len(path) > 120 else ""))


def _decode_json(reply: Reply, what: str) -> object:
    """JSON from a reply body, MALFORMED when it is not JSON, TOO_LARGE when it passed the body limit."""
    if not reply.complete:
        raise ScanError(ErrorCode.TOO_LARGE, f"{what} reply is larger than {API_BODY_LIMIT >> 20} MB")
    try:
        return json.loads(reply.body)
    except ValueError as exc:
        raise ScanError(ErrorCode.MALFORMED, f"{what} reply is not JSON: {exc}") from None


def api_repo_url(endpoint: str, repo_id: str) -> str:
    """`{endpoint}/api/models/{repo}`; the repo's slash stays a slash."""
    return f"{endpoint}/api/models/{quote(repo_id, safe='/')}"


def model_info_url(endpoint: str, repo_id: str, revision: str) -> str:
    """The model-info call a scan makes: every field at the revision, with file sizes (`blobs=true`)."""
    return f"{api_repo_url(endpoint, repo_id)}/revision/{quote(revision, safe='')}?blobs=true"


def _siblings(siblings: object, *, sizes: bool = True) -> tuple[RepoFile, ...] | None:
    """Files from model-info siblings, or None when the list is absent or (when `sizes`) lacks sizes (then use the
    tree). With sizes=False, a listing item's siblings: names only, sizes unknown."""
    if not isinstance(siblings, list) or not siblings:
        return None
    if len(siblings) > MAX_FILES:
        raise ScanError(ErrorCode.TOO_LARGE, f"model info lists {len(siblings):,} files (more than {MAX_FILES:,})")
    files = []
    for s in siblings:
        size = s.get("size") if isinstance(s, dict) else None
        if not isinstance(s, dict) or not isinstance(s.get("rfilename"), str) or (sizes and not isinstance(size, int)):
            return None
        files.append(RepoFile(_listed_path(s["rfilename"]), size if isinstance(size, int) else None))
    return tuple(files)


def _listed_path(path: str) -> str:
    """A listed path, normalised; MALFORMED when it leaves the repo (a hostile listing)."""
    safe = _safe_path(path)
    if safe is None:
        raise ScanError(ErrorCode.MALFORMED, f"the listing names a file outside the repo: {_shown(path)}")
    return safe


def _tree_entries(page: object) -> list[RepoFile]:
    """Files (not directories) of one tree page; LFS entries report the blob size."""
    if not isinstance(page, list):
        raise ScanError(ErrorCode.MALFORMED, "file tree page is not a JSON list")
    files = []
    for e in page:
        if not isinstance(e, dict) or e.get("type") != "file" or not isinstance(e.get("path"), str):
            continue
        lfs = e.get("lfs")
        size = lfs.get("size", e.get("size")) if isinstance(lfs, dict) else e.get("size")
        files.append(RepoFile(_listed_path(e["path"]), size if isinstance(size, int) else None))
    return files


def _hub_parameters(value: object) -> dict[str, int] | None:
    """`safetensors.parameters` of model info, when it is a dtype → count map."""
    params = value.get("parameters") if isinstance(value, dict) else None
    if not isinstance(params, dict) or not all(isinstance(v, int) for v in params.values()):
        return None
    return {str(k): v for k, v in params.items()}
