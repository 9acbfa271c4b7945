"""Shared pieces of the benchmark scripts: timing subprocesses, summaries, machine facts, markdown output.

Benchmarks are scripts, not tests: they print figures and write them to bench/results/, they never assert on time.
"""

from __future__ import annotations

import compileall
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
# The console script next to this interpreter: the pyenv/venv shim on PATH would add its own start-up cost.
CARDSCAN = Path(sys.executable).with_name("cardscan")

# An editable install has no bytecode until the first import writes it, and with PYTHONDONTWRITEBYTECODE set (as on
# some CI images) it never does: every process would compile cardscan's sources again (about 0.1 s of start-up), while
# the peers compared with it, installed from wheels, load theirs from `.pyc` files. Compile once, as `pip install`
# does for a wheel, so start-up figures are an installed package's.
compileall.compile_dir(str(ROOT / "src" / "cardscan"), quiet=1)


@dataclass(frozen=True)
class Summary:
    """Wall-time statistics of repeated runs, in seconds."""

    n: int
    """Number of runs."""
    median: float
    """Median run."""
    p90: float
    """90th percentile (inclusive method: interpolated between the two nearest runs)."""
    min: float
    """Fastest run."""
    max: float
    """Slowest run (an outlier here usually means another process on the machine)."""


def summarize(samples: Sequence[float]) -> Summary:
    """Median, p90, min and max of at least two samples."""
    p90 = statistics.quantiles(samples, n=10, method="inclusive")[-1]
    return Summary(len(samples), statistics.median(samples), p90, min(samples), max(samples))


def time_command(cmd: Sequence[str], n: int, *, env: dict | None = None, warmup: int = 1) -> Summary:
    """Run `cmd` n times (after `warmup` untimed runs that fill the OS file cache); fail loudly on a non-zero exit."""
    samples = []
    for i in range(warmup + n):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr.decode()[-2000:]}")
        if i >= warmup:
            samples.append(elapsed)
    return summarize(samples)


def time_call(fn, n: int) -> tuple[float, Summary]:
    """(first call, summary of the next n calls) of an in-process callable: the first one pays the imports."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return first, summarize(samples)


def machine() -> dict:
    """What the figures were measured on; the load average shows whether others were busy at the time."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "cpu": cpu,
        "platform": platform.platform(),
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def ms(seconds: float) -> str:
    """Seconds as whole milliseconds for tables."""
    return f"{seconds * 1000:.0f} ms"


def md_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub markdown table (cells are str()-ed; pipes escaped)."""

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_line(info: dict) -> str:
    """One markdown line naming the machine and its load when the run started."""
    return (
        f"Machine: {info['nproc']} cores, {info['cpu']}, Python {info['python']}, {info['platform']}; "
        f"load average (1 min) at start {info['loadavg_1m']}; {info['date']}."
    )


def write_result(name: str, markdown: str, data: dict) -> Path:
    """Write bench/results/<name>.md and <name>.json, print the markdown, return the .md path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.md"
    path.write_text(markdown.rstrip() + "\n", encoding="utf-8")
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2, default=_jsonable) + "\n", encoding="utf-8")
    print(markdown)
    return path


def _jsonable(value: object) -> object:
    if isinstance(value, Summary):
        return asdict(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")
