"""The one bisection every inverse question uses (largest context, batch, vLLM's max_model_len)."""

from __future__ import annotations

from collections.abc import Callable


def largest(ok: Callable[[int], bool], lo: int, hi: int) -> int | None:
    """Largest n in [lo, hi] with ok(n), for ok monotone (true then false); None if ok(lo) is false."""
    if not ok(lo):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid - 1)
    return lo
