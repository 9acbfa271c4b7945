"""An in-memory source: a dict of path → bytes. Used by tests and by anyone scanning bytes they already hold."""

from __future__ import annotations

from collections.abc import Mapping

from cardscan.sources.base import Chunk, IOStats, Listing, RepoFile


class MemorySource:
    """Files held in memory; `sizes` declares a larger size for header-only files (as the Hub would list them)."""

    def __init__(
        self,
        files: Mapping[str, bytes],
        *,
        repo_id: str = "memory/model",
        commit: str | None = None,
        sizes: Mapping[str, int] | None = None,
    ) -> None:
        self.files = dict(files)
        self.sizes = dict(sizes or {})
        self.repo_id = repo_id
        self.commit = commit
        self.stats = IOStats()
        self.ranges: list[tuple[str, int, int]] = []
        """Every ranged read, for assertions on how much was asked."""

    def listing(self) -> Listing:
        """All files with their declared sizes."""
        self.stats.add(requests=1)
        files = tuple(RepoFile(p, self.sizes.get(p, len(b))) for p, b in sorted(self.files.items()))
        return Listing(self.repo_id, "main", self.commit, files)

    def read_range(self, path: str, start: int, end: int) -> Chunk:
        """Bytes [start, end); past the stored bytes of a header-only file come zeros, as far as the declared size."""
        data = self.files[path]
        total = self.sizes.get(path, len(data))
        end = min(end, total)
        piece = data[start:end] + bytes(max(0, end - max(start, len(data))))
        self.ranges.append((path, start, end))
        self.stats.add(requests=1, bytes_read=len(piece))
        return Chunk(piece, total)

    def read_file(self, path: str, max_bytes: int = 16 << 20) -> bytes | None:
        """A whole small file, or None."""
        self.stats.add(requests=1)
        return self.files.get(path)
