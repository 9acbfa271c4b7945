"""A folder of another source, seen as a source of its own (a pipeline component, a sentence-transformers module)."""

from __future__ import annotations

from dataclasses import replace

from cardscan.sources.base import Chunk, IOStats, Listing, Source


class SubSource:
    """The parent's files under `folder`, with the folder stripped from their paths; reads go to the parent."""

    def __init__(self, parent: Source, folder: str) -> None:
        self.parent, self.prefix = parent, folder.rstrip("/") + "/"
        self.stats: IOStats = parent.stats

    def listing(self) -> Listing:
        """The parent's files under the folder (the parent's listing is fetched once and cached by the parent)."""
        whole = self.parent.listing()
        files = tuple(
            replace(f, path=f.path[len(self.prefix) :]) for f in whole.files if f.path.startswith(self.prefix)
        )
        return replace(whole, files=files, card_data=None)

    def read_range(self, path: str, start: int, end: int) -> Chunk:
        """Read from the parent at the folder's path."""
        return self.parent.read_range(self.prefix + path, start, end)

    def read_file(self, path: str, max_bytes: int = 16 << 20) -> bytes | None:
        """Read from the parent at the folder's path."""
        return self.parent.read_file(self.prefix + path, max_bytes)
