"""How numbers read in every text format: bytes in binary units, parameter counts as 6.74B."""

from __future__ import annotations

# Binary byte units (GiB), as engines and nvidia-smi report memory.
_BYTE_UNITS = (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10))
# Parameter counts in decimal units, as model names use them (7B, 135M).
_COUNT_UNITS = (("T", 10**12), ("B", 10**9), ("M", 10**6), ("K", 10**3))


def human_bytes(n: int | float | None) -> str:
    """1536 → '1.5 KiB'; None → '?'."""
    if n is None:
        return "?"
    for unit, size in _BYTE_UNITS:
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return f"{int(n)} B"


def gib(n: int | float | None) -> str:
    """Bytes as GiB with two decimals (the unit the memory table uses throughout)."""
    return "?" if n is None else f"{n / (1 << 30):.2f} GiB"


def count(n: int | None) -> str:
    """6738415616 → '6.74B'."""
    if n is None:
        return "?"
    for unit, size in _COUNT_UNITS:
        if abs(n) >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)
