"""A forward-only buffered reader over ranged reads: what the GGUF and torch-zip parsers consume.

Every fetch counts against a byte budget (a `Limit` from cardscan.parse.limits), so a header that claims to go on
forever stops at the budget instead of at the end of a 1 TB file.

Headers without a length prefix (GGUF) are read in chunks that continue from the current offset, so the prefix is
never downloaded twice, and large arrays that lie past the buffer are skipped without being fetched.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import replace

from cardscan.errors import FormatError
from cardscan.parse.limits import GGUF_READ_BYTES, Limit, LimitExceeded

ReadAt = Callable[[int, int], bytes]
"""`read_at(offset, length)` returns up to `length` bytes at `offset`; shorter only at end of file."""

# struct codes of the fixed-width scalars the parsers read.
_SCALARS: dict[str, str] = {
    "u8": "B", "i8": "b", "u16": "H", "i16": "h", "u32": "I", "i32": "i",
    "u64": "Q", "i64": "q", "f32": "f", "f64": "d", "bool": "?",
}  # fmt: skip


class BufferedReader:
    """Sequential reads over `read_at`, fetched forward in chunks, counting what was fetched."""

    def __init__(
        self,
        read_at: ReadAt,
        size: int | None,
        chunk: int = 1 << 20,
        max_bytes: int = GGUF_READ_BYTES.value,
        limit: Limit = GGUF_READ_BYTES,
    ) -> None:
        self._read_at = read_at
        self.size = size
        """File size when known (bounds skips and fetches)."""
        self.chunk = chunk
        self.max_bytes = max_bytes
        self.limit = limit
        """The budget named in the error when `max_bytes` runs out."""
        self.big_endian = False
        """Byte order of multi-byte scalars (GGUF files may be big-endian)."""
        self.pos = 0
        """Current offset in the file."""
        self.bytes_fetched = 0
        """Bytes returned by `read_at` so far."""
        self.requests = 0
        """Calls made to `read_at` so far."""
        self._buf = b""
        self._buf_start = 0

    @classmethod
    def from_bytes(cls, data: bytes, max_bytes: int | None = None) -> BufferedReader:
        """A reader over bytes already in memory (one fetch of everything)."""
        view = bytes(data)

        def read_at(offset: int, length: int) -> bytes:
            return view[offset : offset + length]

        cap = len(view) if max_bytes is None else max_bytes
        return cls(read_at, len(view), chunk=max(len(view), 1), max_bytes=max(cap, 1))

    # -- buffering -------------------------------------------------------------------------------------------

    def _available(self) -> int:
        """Bytes buffered from `pos` onwards; -1 when `pos` lies outside the buffer (after a seek or skip)."""
        if self.pos < self._buf_start or self.pos > self._buf_start + len(self._buf):
            return -1
        return self._buf_start + len(self._buf) - self.pos

    def _ensure(self, n: int) -> None:
        """Make `[pos, pos + n)` buffered, fetching forward from the buffer's end."""
        if n < 0:
            raise FormatError(f"negative read length {n}")
        if self._available() >= n:
            return
        if self.size is not None and self.pos + n > self.size:
            raise FormatError(f"unexpected end of file: need {n} bytes at offset {self.pos}, size {self.size}")
        if self._available() < 0:  # skipped or seeked outside the buffer: start afresh at pos
            self._buf, self._buf_start = b"", self.pos
        else:  # keep only the unread tail
            self._buf = self._buf[self.pos - self._buf_start :]
            self._buf_start = self.pos
        start = self._buf_start + len(self._buf)
        need = n - len(self._buf)
        budget = self.max_bytes - self.bytes_fetched
        if need > budget:
            limit = replace(self.limit, value=self.max_bytes)
            raise LimitExceeded(limit, self.bytes_fetched + need, "header read exceeds the read budget")
        want = min(max(self.chunk, need), budget)
        if self.size is not None:
            want = min(want, self.size - start)
        got = self._read_at(start, want)
        self.requests += 1
        self.bytes_fetched += len(got)
        self._buf += got
        if len(self._buf) < n:
            raise FormatError(f"unexpected end of file: need {n} bytes at offset {self.pos}")

    # -- reads -----------------------------------------------------------------------------------------------

    def drop_buffer(self) -> None:
        """Forget buffered bytes (after the last read of a large member, so it is not held twice)."""
        self._buf, self._buf_start = b"", self.pos

    def seek(self, offset: int) -> None:
        """Move to an absolute offset (buffered bytes before it are dropped on the next fetch)."""
        if offset < 0 or (self.size is not None and offset > self.size):
            raise FormatError(f"seek to {offset} outside the file")
        self.pos = offset

    def bytes(self, n: int) -> bytes:
        """The next `n` bytes."""
        self._ensure(n)
        i = self.pos - self._buf_start
        self.pos += n
        return self._buf[i : i + n]

    def skip(self, n: int) -> None:
        """Advance `n` bytes; bytes past the buffer are not fetched."""
        if n < 0:
            raise FormatError(f"negative skip {n}")
        if self.size is not None and self.pos + n > self.size:
            raise FormatError(f"unexpected end of file: skip of {n} bytes at offset {self.pos}")
        self.pos += n

    def skip_counted(self, n: int, width: int, max_length: int) -> None:
        """Skip `n` length-prefixed items (GGUF strings: a `width`-byte count, then that many bytes) unfetched.

        The hot loop of a vocabulary walk: it unpacks each count straight from the buffer (~0.3 µs an item).
        """
        fmt = struct.Struct((">" if self.big_endian else "<") + ("Q" if width == 8 else "I"))
        for _ in range(n):
            if self._available() < width:
                self._ensure(width)
            (length,) = fmt.unpack_from(self._buf, self.pos - self._buf_start)
            if length > max_length:
                raise FormatError(f"string of {length:,} bytes at offset {self.pos} exceeds {max_length:,}")
            self.pos += width + length
            if self.size is not None and self.pos > self.size:
                raise FormatError(f"unexpected end of file: string at offset {self.pos - length} runs past the end")

    def scalar(self, kind: str) -> int | float | bool:
        """One scalar of `kind` (`u8`…`u64`, `i8`…`i64`, `f32`, `f64`, `bool`) in the reader's byte order."""
        fmt = (">" if self.big_endian else "<") + _SCALARS[kind]
        value: int | float | bool = struct.unpack(fmt, self.bytes(struct.calcsize(fmt)))[0]
        return value

    def scalars(self, kind: str, count: int) -> tuple[int | float | bool, ...]:
        """`count` consecutive scalars of `kind` (one unpack; the caller bounds `count`)."""
        code = _SCALARS[kind]
        fmt = (">" if self.big_endian else "<") + f"{count}{code}"
        return struct.unpack(fmt, self.bytes(struct.calcsize(fmt)))

    def u8(self) -> int:
        return int(self.scalar("u8"))

    def u16(self) -> int:
        return int(self.scalar("u16"))

    def u32(self) -> int:
        return int(self.scalar("u32"))

    def u64(self) -> int:
        return int(self.scalar("u64"))

    def i8(self) -> int:
        return int(self.scalar("i8"))

    def i16(self) -> int:
        return int(self.scalar("i16"))

    def i32(self) -> int:
        return int(self.scalar("i32"))

    def i64(self) -> int:
        return int(self.scalar("i64"))

    def f32(self) -> float:
        return float(self.scalar("f32"))

    def f64(self) -> float:
        return float(self.scalar("f64"))

    def bool(self) -> bool:
        return self.u8() != 0
