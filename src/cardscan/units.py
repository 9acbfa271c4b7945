"""Units, defined once: byte multiples (binary, as engines and nvidia-smi report memory) and how numbers read."""

from __future__ import annotations

KIB = 1 << 10
MIB = 1 << 20
GIB = 1 << 30
TIB = 1 << 40

# Binary byte units (GiB), as engines and nvidia-smi report memory.
_BYTE_UNITS = (("TiB", TIB), ("GiB", GIB), ("MiB", MIB), ("KiB", KIB))
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
    return "?" if n is None else f"{n / GIB:.2f} GiB"


def count(n: int | None, *, label: bool = False) -> str:
    """6738415616 → '6.74B'; with `label` (a card's rounded claim) 7000000000 → '7B'."""
    if n is None:
        return "?"
    for unit, size in _COUNT_UNITS:
        if abs(n) >= size:
            text = f"{n / size:.2f}"
            return (text.rstrip("0").rstrip(".") if label else text) + unit
    return str(n)
