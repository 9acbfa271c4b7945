"""What to audit: target lines (file, CSV column, stdin) validated up front, and a stable `--shard I/N` split.

A list is read twice (once to validate every line, once to stream targets), so 100,000 ids never sit in memory.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")
_HUB_URL = re.compile(
    r"^(?:https?://)?(?:huggingface\.co|hf\.co)/(?P<id>[^/?#@]+(?:/[^/?#@]+)?)(?:/(?:tree|blob)/(?P<rev>[^/?#]+))?/?$"
)
_REVISION = re.compile(r"^[\w.\-/%]+$")


@dataclass(frozen=True)
class Target:
    """One repo to audit."""

    repo_id: str
    """Hub repo id (`org/name`) or a local path."""
    revision: str = "main"
    """Branch, tag, sha or `refs/pr/N` (`org/name@rev` in a list)."""
    sha: str | None = None
    """The commit a Hub listing reported (None: ask the Hub, one request)."""
    gated: str | bool | None = None
    """Gating the listing reported (None: unknown)."""
    listed: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    """The Hub listing's item (with files), handed to the scan so it skips its model-info call; None otherwise."""

    @property
    def key(self) -> str:
        """`repo@revision`: how history names this target."""
        return self.repo_id if self.revision == "main" else f"{self.repo_id}@{self.revision}"


@dataclass(frozen=True)
class BadLine:
    """A target line that is not a repo id, Hub URL or existing path."""

    line: int
    """1-based line (CSV: data row + 1 for the header)."""
    text: str
    """The line as written."""
    reason: str
    """Why it was rejected."""


class TargetListError(Exception):
    """Every invalid line of a list, reported together (nothing is scanned)."""

    def __init__(self, source: str, bad: list[BadLine]) -> None:
        lines = "\n".join(f"  {source}:{b.line}: {b.text!r}: {b.reason}" for b in bad[:50])
        more = f"\n  … and {len(bad) - 50} more" if len(bad) > 50 else ""
        super().__init__(f"{len(bad)} invalid target line(s) in {source}:\n{lines}{more}")
        self.bad = bad


def parse_target(text: str, default_revision: str = "main") -> Target:
    """`org/name`, `org/name@rev`, a Hub URL (…/tree/rev) or an existing local path → Target; ValueError if none."""
    text = text.strip()
    if Path(text).expanduser().exists():
        return Target(text, "local")
    m = _HUB_URL.match(text)
    if m:
        return Target(m.group("id"), m.group("rev") or default_revision)
    repo, _, rev = text.partition("@")
    if not _REPO_ID.match(repo) or ".." in repo:
        raise ValueError("not a repo id (org/name), Hub URL or existing path")
    if "@" in text and (not rev or not _REVISION.match(rev)):
        raise ValueError("empty or invalid revision after '@'")
    return Target(repo, rev or default_revision)


def spool(path: str) -> Path:
    """A re-readable copy of stdin (`-`); other paths are returned as they are."""
    if path != "-":
        return Path(path)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".targets", delete=False) as tmp:
        for chunk in iter(lambda: sys.stdin.read(1 << 16), ""):
            tmp.write(chunk)
    return Path(tmp.name)


def raw_lines(path: Path, column: str | None) -> Iterator[tuple[int, str]]:
    """(line number, text) of every non-empty, non-comment entry: plain lines, or one CSV column."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        if column is None:
            for number, line in enumerate(fh, 1):
                text = line.split("#", 1)[0].strip()
                if text:
                    yield number, text
            return
        reader = csv.DictReader(fh)
        if column not in (reader.fieldnames or []):
            raise TargetListError(str(path), [BadLine(1, ",".join(reader.fieldnames or []), f"no column {column!r}")])
        for row in reader:
            text = (row.get(column) or "").strip()
            if text and not text.startswith("#"):
                yield reader.line_num, text


def validate(path: Path, column: str | None, label: str, default_revision: str = "main") -> int:
    """Check every line; raise TargetListError naming all bad ones; return how many targets there are."""
    bad: list[BadLine] = []
    count = 0
    for number, text in raw_lines(path, column):
        try:
            parse_target(text, default_revision)
            count += 1
        except ValueError as exc:
            bad.append(BadLine(number, text, str(exc)))
    if bad:
        raise TargetListError(label, bad)
    return count


def read_targets(path: Path, column: str | None, default_revision: str = "main") -> Iterator[Target]:
    """Targets of an already validated list, streamed."""
    for _, text in raw_lines(path, column):
        yield parse_target(text, default_revision)


def parse_shard(text: str) -> tuple[int, int]:
    """`I/N` (0 ≤ I < N) → (I, N); ValueError otherwise."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m or int(m.group(2)) < 1 or int(m.group(1)) >= int(m.group(2)):
        raise ValueError(f"--shard must be I/N with 0 ≤ I < N (e.g. 0/4), got {text!r}")
    return int(m.group(1)), int(m.group(2))


def shard_of(repo_id: str, count: int) -> int:
    """Stable shard of a repo: a hash of its id, so adding repos moves none of the others."""
    digest = hashlib.sha256(repo_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


def in_shard(targets: Iterator[Target], shard: tuple[int, int] | None) -> Iterator[Target]:
    """Only this shard's targets (all of them without --shard)."""
    for target in targets:
        if shard is None or shard_of(target.repo_id, shard[1]) == shard[0]:
            yield target


def describe(paths: list[str], column: str | None) -> str:
    """A short stable label of a list source (part of a run's identity)."""
    out = io.StringIO()
    out.write(",".join(paths))
    if column:
        out.write(f"[{column}]")
    return out.getvalue()
