"""A second wall around parsing: run work in worker processes with address-space and CPU limits (Linux).

The parse budgets (cardscan.parse.limits) are the first wall; this one is for a parser *bug* that slips past them:
the worker that runs out of memory or CPU fails its one task with an exception instead of taking the batch down.
Workers are long-lived (the import cost is paid once), and each task gets a fresh CPU allowance. Nothing in the
scanner uses this yet: bench/isolation.py measures what it costs (docs/security.md "Isolation").
"""

from __future__ import annotations

import math
import multiprocessing
import resource
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_EXTRA_MEMORY = 512 << 20
"""Address space a worker may add to what it had after start-up. Address space, not RSS: thread stacks and
allocator arenas reserve far more than they touch, so this is much looser than the 64 MB RSS budget."""
DEFAULT_CPU_SECONDS = 10
"""CPU seconds one task may use."""


class CpuLimitExceeded(Exception):
    """A task used more CPU than its allowance (raised inside the worker on SIGXCPU)."""


def _on_xcpu(signum: int, frame: Any) -> None:
    raise CpuLimitExceeded("task exceeded its CPU allowance")


def _address_space() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * resource.getpagesize()


def limit_worker(extra_memory: int = DEFAULT_EXTRA_MEMORY) -> None:
    """Pool initializer: cap the worker's address space at its current size plus `extra_memory`."""
    signal.signal(signal.SIGXCPU, _on_xcpu)
    cap = _address_space() + extra_memory
    resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))


def run_limited(fn: Callable[..., T], *args: Any, cpu_seconds: int = DEFAULT_CPU_SECONDS) -> T:
    """Call `fn(*args)` with `cpu_seconds` more CPU allowed (RLIMIT_CPU counts the process's whole life)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = math.ceil(usage.ru_utime + usage.ru_stime)
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    soft = used + cpu_seconds if hard == resource.RLIM_INFINITY else min(used + cpu_seconds, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    try:
        return fn(*args)
    finally:
        resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, hard))


def isolated_pool(workers: int, extra_memory: int = DEFAULT_EXTRA_MEMORY) -> ProcessPoolExecutor:
    """Worker processes with limit_worker applied; submit `run_limited(fn, *args)` to them.

    Workers are forked (the parent's imports come for free) on Linux, spawned elsewhere.
    """
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context(method),
        initializer=limit_worker,
        initargs=(extra_memory,),
    )
