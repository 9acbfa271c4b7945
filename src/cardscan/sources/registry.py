"""Which source reads an input: the source registry. Each kind claims the inputs it understands and opens a
`Source` for them; the first kind that claims an input wins. Built in: a local path, the HF cache (offline), the Hub.
`register()` puts another kind first (a private mirror, an object store, a test double)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cardscan.errors import ErrorCode, ScanError
from cardscan.options import ScanOptions
from cardscan.sources.base import Source

# Repo ids as the Hub validates them (huggingface_hub `utils/_validators.py` validate_repo_id): an optional
# namespace, a name of 1–96 word characters, dots and dashes, no "--" or ".." and no ".git" ending.
_REPO_ID = re.compile(r"^(?:[\w\-.]{1,96}/)?[\w\-.]{1,96}$", re.ASCII)
MAX_TARGET_CHARS = 400
_HUB_URL = re.compile(
    r"^(?:https?://)?(?:huggingface\.co|hf\.co)/(?P<id>[^/?#]+(?:/[^/?#]+)?)(?:/(?:tree|blob)/(?P<rev>[^/?#]+))?"
)

WARM_PER_REPO = 6
"""Connections a Hub scan's first wave uses at once (config, card, index, shard headers); see SharedSession.warm."""
WARM_MAX = 32
"""Connections opened ahead of a batch's first wave at most (later waves reuse the pool)."""
Opened = tuple[Source, str, str]
"""The source, the canonical repo id (or path), and the revision."""


@dataclass(frozen=True)
class SourceKind:
    """One kind of input cardscan can read."""

    name: str
    """Short name (local, cache, hub)."""
    claims: Callable[[str, ScanOptions], bool]
    """True when this kind reads the input."""
    open: Callable[[str, ScanOptions, Any], Opened]
    """(input, options, shared HTTP session or None) → the source, repo id and revision."""


def _is_path(target: str, options: ScanOptions) -> bool:
    return bool(target.strip()) and Path(target).expanduser().exists()


def _open_local(target: str, options: ScanOptions, session: Any) -> Opened:
    from cardscan.sources.local import LocalSource

    path = Path(target).expanduser()
    return LocalSource(path), str(path), "local"


def _open_cache(target: str, options: ScanOptions, session: Any) -> Opened:
    from cardscan.sources.cache import cache_source

    repo_id, revision = parse_target(target, options.revision)
    return cache_source(repo_id, revision), repo_id, revision


class SharedSession:
    """A batch's one HTTP session (one connection pool for every worker), built on first use so that a batch of
    local folders never loads the HTTP stack."""

    def __init__(self, pool_maxsize: int = 64) -> None:
        self._session: Any = None
        self._lock = threading.Lock()
        self._pool_maxsize = pool_maxsize
        self._warmed = False

    def get(self) -> Any:
        """The session, made once."""
        with self._lock:
            if self._session is None:
                from cardscan.sources.http import make_session

                self._session = make_session(self._pool_maxsize)
            return self._session

    def warm(self, targets: Sequence[str], options: ScanOptions) -> None:
        """Open the Hub connections the first of `targets` will need, in the background, before the caller goes on
        (the CLI then imports the scanner while the handshakes run). Once per session (the CLI warms, then hands the
        session to scan_many, which would warm again); nothing when none of them is read from the Hub."""
        with self._lock:
            if self._warmed:
                return
            self._warmed = True
        hub = sum(1 for target in targets if _kind_of(target, options) == "hub")
        if not hub:
            return
        from cardscan.sources.hub import endpoint_from_env  # not HubConfig.from_env: its token lookup may import
        # huggingface_hub (~0.2 s), which the scan does later anyway, while these connections are being opened

        try:
            self.get().warm(endpoint_from_env(options.endpoint), min(WARM_PER_REPO * hub, WARM_MAX))
        except ValueError:  # a malformed endpoint: each scan reports it as its own result
            return

    def made(self) -> Any:
        """The session if one was made (a batch of local folders makes none)."""
        return self._session


def _open_hub(target: str, options: ScanOptions, session: Any) -> Opened:
    from cardscan.sources.hub import HubConfig, HubSource

    if isinstance(session, SharedSession):
        session = session.get()

    repo_id, revision = parse_target(target, options.revision)
    config = replace(
        HubConfig.from_env(token=options.token, endpoint=options.endpoint),
        timeout=options.timeout,
        max_retries=options.retries,
    )
    if options.deadline is not None:
        config = replace(config, deadline=options.deadline)
    source: Source = HubSource(repo_id, revision, session=session, config=config)  # type: ignore[assignment]
    return source, repo_id, revision


SOURCES: list[SourceKind] = [
    SourceKind("local", _is_path, _open_local),
    SourceKind("cache", lambda target, options: options.is_offline(), _open_cache),
    SourceKind("hub", lambda target, options: True, _open_hub),
]


def register(kind: SourceKind) -> SourceKind:
    """Put a source kind before the built-in ones."""
    SOURCES.insert(0, kind)
    return kind


def open_source(target: str, options: ScanOptions, session: Any = None) -> Opened:
    """The source for an input, from the first kind that claims it."""
    if not isinstance(target, str) or not target.strip():
        raise ScanError(ErrorCode.BAD_INPUT, "empty input: give a repo id, Hub URL or path")
    if len(target) > MAX_TARGET_CHARS:
        raise ScanError(ErrorCode.BAD_INPUT, f"input of {len(target):,} characters is not a repo id, URL or path")
    kind = next(k for k in SOURCES if k.claims(target, options))
    return kind.open(target, options, session)


def _kind_of(target: str, options: ScanOptions) -> str | None:
    """The name of the source kind that would read `target` (None for an input none claims)."""
    if not isinstance(target, str) or not target.strip() or len(target) > MAX_TARGET_CHARS:
        return None
    return next((k.name for k in SOURCES if k.claims(target, options)), None)


def target_problem(target: str) -> str | None:
    """Why an input can be neither a path nor a Hub repo (None when it can be one): lists are checked up front."""
    if not target.strip():
        return "empty"
    if len(target) > MAX_TARGET_CHARS:
        return f"{len(target):,} characters: not a repo id, URL or path"
    if Path(target).expanduser().exists():
        return None
    try:
        parse_target(target, "main")
    except ScanError as exc:
        return exc.message
    return None


def parse_target(target: str, revision: str) -> tuple[str, str]:
    """A repo id (`org/name`, `gpt2`) or a Hub URL → (repo id, revision); anything else is a bad input."""
    m = _HUB_URL.match(target.strip())
    if m:
        return m.group("id"), m.group("rev") or revision
    if target.startswith(("./", "../", "/", "~")) or target.endswith((".safetensors", ".gguf", ".bin")):
        raise ScanError(ErrorCode.BAD_INPUT, f"no such file or folder: {target}")
    if not valid_repo_id(target):
        shown = target if len(target) <= 80 else target[:77] + "..."
        raise ScanError(ErrorCode.BAD_INPUT, f"not a repo id, URL or existing path: {shown!r}")
    return target, revision


def valid_repo_id(text: str) -> bool:
    """True for an id the Hub would accept (length, characters, no `--`/`..`, no `.git` ending)."""
    return (
        bool(_REPO_ID.match(text))
        and "--" not in text
        and ".." not in text
        and not text.endswith(".git")
        and not any(part.startswith((".", "-")) or part.endswith((".", "-")) for part in text.split("/"))
    )
