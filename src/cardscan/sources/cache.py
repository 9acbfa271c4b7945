"""The local Hugging Face cache (HF_HOME, HF_HUB_CACHE): a repo id and revision resolved to a snapshot, offline."""

from __future__ import annotations

import re
from pathlib import Path

from cardscan.errors import ErrorCode, ScanError
from cardscan.sources.local import LocalSource

_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def cache_dir() -> Path:
    """The hub cache folder as huggingface_hub resolves it (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache)."""
    import os

    # Read the environment at call time (huggingface_hub.constants freezes it at import, which tests can't steer).
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    hf_home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "huggingface"
    )
    return Path(hf_home).expanduser() / "hub"


def cache_source(repo_id: str, revision: str = "main", root: Path | None = None) -> LocalSource:
    """A source over the cached snapshot of `repo_id` at `revision`; no network."""
    repo_dir = (root or cache_dir()) / ("models--" + repo_id.replace("/", "--"))
    if not repo_dir.is_dir():
        raise ScanError(
            ErrorCode.OFFLINE_MISS,
            f"{repo_id} is not in the local Hugging Face cache ({repo_dir.parent}); {fill_hint(repo_id, revision)}",
        )
    commit = _resolve_commit(repo_dir, repo_id, revision)
    snapshot = repo_dir / "snapshots" / commit
    if not snapshot.is_dir():
        raise ScanError(
            ErrorCode.OFFLINE_MISS,
            f"{repo_id}@{revision}: snapshot {commit[:12]} is not in the cache; {fill_hint(repo_id, revision)}",
        )
    return LocalSource(snapshot, repo_id=repo_id, revision=revision, commit=commit)


def fill_hint(repo_id: str, revision: str = "main") -> str:
    """A command that really puts what cardscan reads into the cache (the `hf` CLI of huggingface_hub)."""
    rev = "" if revision == "main" else f" --revision {revision}"
    return (
        f"fill it with `hf download {repo_id} config.json{rev}` (add README.md and the *.safetensors files for card "
        "checks and exact header counts), or run without --offline"
    )


def _resolve_commit(repo_dir: Path, repo_id: str, revision: str) -> str:
    if _COMMIT.match(revision):
        return revision
    ref = repo_dir / "refs" / revision
    if ref.is_file():
        return ref.read_text().strip()
    snapshots = repo_dir / "snapshots"
    matches = [p.name for p in snapshots.iterdir()] if snapshots.is_dir() else []
    short = [m for m in matches if m.startswith(revision)] if len(revision) >= 7 else []
    if len(short) == 1:
        return short[0]
    raise ScanError(
        ErrorCode.OFFLINE_MISS,
        f"revision {revision!r} of {repo_id} is not in the local cache; {fill_hint(repo_id, revision)}",
    )
