"""A folder or a single weight file on disk: read only the byte ranges asked for (header-only files work)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from cardscan.errors import ErrorCode, ScanError
from cardscan.parse.quant_formats import QUANT_MARKER_FILES, QUANT_SIDE_FILES
from cardscan.repo_files import ADAPTER_CONFIG, CARD_FILES, CONFIG
from cardscan.sources.base import Chunk, IOStats, Listing, RepoFile

# Folders that never hold the model's own files.
SKIP_DIRS = frozenset({".git", ".cache", "__pycache__", ".huggingface"})
MAX_FILES = 100_000  # the Hub's largest model repos list a few thousand files


def _enter(folder: Path, root: Path, seen: set[Path]) -> bool:
    """Walk into `folder` only once, and never out of `root` through a link."""
    real = folder.resolve()
    if real in seen or (folder.is_symlink() and not real.is_relative_to(root)):
        return False
    seen.add(real)
    return True


class LocalSource:
    """A model folder (config.json, README.md, weights…) or one weight file."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        repo_id: str | None = None,
        revision: str = "local",
        commit: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.stats = IOStats()
        self._repo_id = repo_id or str(path)
        self._revision = revision
        self._commit = commit
        if not self.path.exists():
            raise ScanError(ErrorCode.NOT_FOUND, f"no such file or folder: {self.path}")
        self._root = self.path if self.path.is_dir() else self.path.parent

    def listing(self) -> Listing:
        """Every file below the folder; for one weight file, that file and the files beside it that describe it
        (config.json, the card, quantization configs), so a lone shard still gets its architecture and context."""
        if self.path.is_file():
            files = (RepoFile(self.path.name, self.path.stat().st_size), *self._described_by())
        else:
            files = tuple(sorted(self._walk(), key=lambda f: f.path))
        return Listing(self._repo_id, self._revision, self._commit, files)

    def _described_by(self) -> tuple[RepoFile, ...]:
        names = (CONFIG, *CARD_FILES, ADAPTER_CONFIG, *QUANT_SIDE_FILES, *QUANT_MARKER_FILES)
        found = []
        for name in dict.fromkeys(names):
            beside = self._root / name
            if name != self.path.name and beside.is_file():
                found.append(RepoFile(name, beside.stat().st_size))
        return tuple(found)

    def _walk(self) -> Iterator[RepoFile]:
        """Files below the folder. Linked folders are followed only when they lead back inside the folder and were
        not visited yet, so a link out of the folder or round a cycle never makes the walk leave or loop; linked
        files are read (an HF cache snapshot is made of links into its blobs). MAX_FILES bounds the listing."""
        root = self._root.resolve()
        seen = {root}
        count = 0
        for dirpath, dirnames, filenames in os.walk(self._root, followlinks=True):
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and _enter(Path(dirpath, d), root, seen)]
            count += len(filenames)
            if count > MAX_FILES:
                raise ScanError(ErrorCode.TOO_LARGE, f"{self._root} holds over {MAX_FILES:,} files: not a model folder")
            for name in filenames:
                full = Path(dirpath, name)
                rel = full.relative_to(self._root).as_posix()
                try:
                    yield RepoFile(rel, full.stat().st_size)
                except OSError:  # a dangling cache symlink: the blob was never downloaded
                    continue

    def read_range(self, path: str, start: int, end: int) -> Chunk:
        """Read bytes [start, end) of one file."""
        full = self._resolve(path)
        try:
            with open(full, "rb") as fh:
                total = os.fstat(fh.fileno()).st_size
                fh.seek(start)
                data = fh.read(max(0, end - start))
        except FileNotFoundError:
            raise ScanError(ErrorCode.NOT_FOUND, f"no such file: {full}") from None
        self.stats.add(requests=1, bytes_read=len(data))
        return Chunk(data, total)

    def read_file(self, path: str, max_bytes: int = 16 << 20) -> bytes | None:
        """A small whole file, or None when it does not exist."""
        full = self._resolve(path)
        if not full.is_file():
            return None
        size = full.stat().st_size
        if size > max_bytes:
            raise ScanError(ErrorCode.MALFORMED, f"{path} is {size:,} bytes, over the {max_bytes:,}-byte limit")
        data = full.read_bytes()
        self.stats.add(requests=1, bytes_read=len(data))
        return data

    def _resolve(self, path: str) -> Path:
        # Cache snapshots are symlinks into ../../blobs, so the logical path (not the resolved one) is checked.
        if ".." in Path(path).parts or Path(path).is_absolute():
            raise ScanError(ErrorCode.BAD_INPUT, f"path escapes the model folder: {path}")
        return self._root / path
