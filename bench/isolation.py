"""What running each scan in a resource-limited worker process costs (issue 14: is it under 5% of throughput?).

Run: `python bench/isolation.py [--n 500] [--repeat 3]`. The batch is ~500 local scans (every weight file and model
folder under examples/ and tests/fixtures/, hostile corpus excluded, repeated), run four ways:

- `in-process, 1 thread`: `scan()` in a loop: the reference for pure overhead;
- `isolated, 1 worker`: the same scans in one worker process with RLIMIT_AS and a per-task RLIMIT_CPU
  (cardscan.parse.isolate), results pickled back: the cost of isolation itself;
- `in-process, scan_many`: the CLI's batch (8 threads);
- `isolated, N workers`: a pool of os.cpu_count() limited workers: what a batch would get with isolation on.

Prints the best of `--repeat` runs of each, in scans per second, and the overheads.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from cardscan.parse.isolate import isolated_pool, run_limited  # noqa: E402
from cardscan.scanner import scan, scan_many  # noqa: E402

WEIGHTS = (".safetensors", ".gguf", ".bin", ".pt", ".pth")


def corpus(n: int) -> list[str]:
    """`n` local targets: weight files and model folders (those holding a config.json), cycled."""
    found: set[Path] = set()
    for base in (ROOT / "examples", ROOT / "tests" / "fixtures"):
        for path in base.rglob("*"):
            if "hostile" in path.relative_to(ROOT).parts:
                continue
            if path.is_file() and path.suffix in WEIGHTS:
                found.add(path)
            elif path.is_file() and path.name == "config.json":
                found.add(path.parent)
    unique = sorted(str(p) for p in found)
    return [unique[i % len(unique)] for i in range(n)]


def _scan_one(target: str):
    return scan(target)


def _limited(target: str):
    return run_limited(_scan_one, target)


def in_process_serial(targets: list[str]) -> list:
    return [scan(t) for t in targets]


def in_process_batch(targets: list[str]) -> list:
    return scan_many(targets)


def isolated(workers: int) -> Callable[[list[str]], list]:
    def run(targets: list[str]) -> list:
        with isolated_pool(workers) as pool:
            return list(pool.map(_limited, targets, chunksize=8))

    return run


def best_of(fn: Callable[[list[str]], list], targets: list[str], repeat: int) -> tuple[float, list]:
    times, results = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        results = fn(targets)
        times.append(time.perf_counter() - start)
    return min(times), results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    targets = corpus(args.n)
    in_process_serial(sorted(set(targets)))  # warm: imports (torch for config-only counts), caches, page cache
    cpus = os.cpu_count() or 1
    runs = {
        "in-process, 1 thread": in_process_serial,
        "isolated, 1 worker": isolated(1),
        "in-process, scan_many (8 threads)": in_process_batch,
        f"isolated, {cpus} workers": isolated(cpus),
    }
    rates, statuses = {}, {}
    for name, fn in runs.items():
        seconds, results = best_of(fn, targets, args.repeat)
        rates[name] = len(targets) / seconds
        statuses[name] = sorted(r.error.code if r.error else "ok" for r in results)
        print(f"{name:36} {seconds:7.2f} s  {rates[name]:7.1f} scans/s")
    names = list(runs)
    assert all(s == statuses[names[0]] for s in statuses.values()), "the four ways disagree on results"
    unique = len(set(targets))
    print(f"{len(targets)} scans of {unique} distinct local targets, {cpus} CPUs, Python {sys.version.split()[0]}")
    print(f"isolation overhead, one worker vs one thread: {1 - rates[names[1]] / rates[names[0]]:+.1%} throughput")
    print(f"batch with isolation vs scan_many: {rates[names[3]] / rates[names[2]] - 1:+.1%} throughput")


if __name__ == "__main__":
    main()
