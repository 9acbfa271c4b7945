"""Run the CLI on every hostile case (scripts/make_hostile.py) and print its outcome, peak RSS and time.

Run: `python bench/hostile.py [--jobs N] [--only NAME...]`. Each case runs in its own `python -m cardscan FILE
--format json` process; its peak RSS comes from wait4's rusage (that child alone), and it is compared with a
baseline process scanning a tiny valid file, so the figure is what the hostile file added. tests/test_hostile.py
asserts the same figures; docs/security.md quotes this script's output.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("make_hostile", ROOT / "scripts" / "make_hostile.py")
make_hostile = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
sys.modules["make_hostile"] = make_hostile
_spec.loader.exec_module(make_hostile)  # type: ignore[union-attr]

BUDGET_RSS = 64 << 20
"""Extra peak RSS one file may cost over the baseline process (issue 14's per-repo budget)."""
BUDGET_SECONDS = 2.0
"""Time goal per hostile file, checked on CPU seconds (user + system): on a shared machine wall time mostly
measures the neighbours; both are printed."""


@dataclass(frozen=True)
class Measure:
    """One CLI run on one file."""

    outcome: str
    """`ok`, an error code from the JSON, or `crash:<exit status>` when no JSON came out."""
    message: str
    """The error message (or stderr's tail when the process failed)."""
    rss: int
    """Peak resident set size of the process, in bytes."""
    seconds: float
    """Wall-clock time of the process."""
    cpu: float
    """User + system CPU seconds of the process."""
    stderr: str
    """What the process wrote to stderr."""
    exit_code: int
    """The process's exit status."""


# `python -m cardscan`, plus an exit hook that records the process's peak RSS (VmHWM belongs to the process's own
# address space, unlike rusage's ru_maxrss, which keeps the parent's size from before exec).
_LAUNCH = """
import atexit, os, runpy, sys
def _hwm():
    with open("/proc/self/status") as f, open(os.environ["CARDSCAN_HWM_FILE"], "w") as out:
        out.write(next(line.split()[1] for line in f if line.startswith("VmHWM:")))
atexit.register(_hwm)
sys.argv[0] = "cardscan"
runpy.run_module("cardscan", run_name="__main__", alter_sys=True)
"""


def run_cli(path: Path, cwd: Path) -> Measure:
    """`python -m cardscan PATH --format json` in `cwd`, with its own peak RSS, wall and CPU time."""
    with tempfile.TemporaryDirectory() as tmp:
        hwm = Path(tmp) / "hwm"
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", "NO_COLOR": "1",
               "CARDSCAN_HWM_FILE": str(hwm)}  # fmt: skip
        out_path, err_path = Path(tmp) / "out", Path(tmp) / "err"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            start = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-c", _LAUNCH, str(path), "--format", "json"], cwd=cwd, env=env, stdout=out, stderr=err
            )
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)  # reaped here: tell Popen
        stdout, stderr = out_path.read_text(errors="replace"), err_path.read_text(errors="replace")
        peak_kb = int(hwm.read_text()) if hwm.exists() else usage.ru_maxrss
    outcome, message = f"crash:{code}", stderr[-300:]
    try:
        result = json.loads(stdout)[0]
        error = result.get("error") or {}
        outcome, message = error.get("code", result.get("status", "?")), error.get("message", "")
    except (ValueError, IndexError, KeyError, TypeError):
        pass
    rss = peak_kb * 1024
    return Measure(outcome, message, rss, seconds, usage.ru_utime + usage.ru_stime, stderr, code)


def baseline(work: Path) -> Measure:
    """The CLI on a tiny valid safetensors file: imports and interpreter, what every run costs anyway."""
    raw = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    path = work / "baseline.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(8))
    return run_cli(path, work)


def case_files(work: Path, names: set[str] | None = None) -> list[tuple[object, Path]]:
    """Every case's file: the kept ones from tests/fixtures/hostile/, the big ones built into `work`."""
    out = []
    for case in make_hostile.CASES:
        if names and case.name not in names:
            continue
        path = (work if case.big else make_hostile.OUT) / case.filename
        if case.big and not path.exists():
            path.write_bytes(case.build())
        out.append((case, path))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1, help="cases run at once (1 gives the cleanest times)")
    parser.add_argument("--only", nargs="*", help="case names")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cardscan-hostile-") as tmp:
        work = Path(tmp)
        base = min((baseline(work) for _ in range(3)), key=lambda m: m.rss)
        files = case_files(work, set(args.only) if args.only else None)
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            measures = list(pool.map(lambda cf: run_cli(cf[1], work), files))
        canary = (work / make_hostile.CANARY).exists()
        report(base, files, measures, canary)


def report(base: Measure, files: list, measures: list[Measure], canary: bool) -> None:
    print(f"baseline: {base.rss / 2**20:.1f} MB RSS, {base.seconds:.2f} s ({sys.version.split()[0]})")
    print(f"{'case':34} {'size':>10} {'expected':>10} {'got':>10} {'+RSS MB':>8} {'s':>6} {'cpu s':>6}")
    worst_rss, worst_s, worst_cpu, bad = 0, 0.0, 0.0, 0
    for (case, path), m in zip(files, measures, strict=True):
        extra = max(m.rss - base.rss, 0)
        worst_rss, worst_s, worst_cpu = max(worst_rss, extra), max(worst_s, m.seconds), max(worst_cpu, m.cpu)
        flag = "" if m.outcome == case.expect and extra <= BUDGET_RSS and m.cpu <= BUDGET_SECONDS else "  <-- !"
        bad += bool(flag)
        size = path.stat().st_size
        print(
            f"{case.name:34} {size:>10,} {case.expect:>10} {m.outcome:>10} {extra / 2**20:>8.1f} "
            f"{m.seconds:>6.2f} {m.cpu:>6.2f}{flag}"
        )
    print(
        f"{len(files)} cases: worst +{worst_rss / 2**20:.1f} MB RSS, worst {worst_cpu:.2f} CPU s "
        f"({worst_s:.2f} s wall); {bad} off target"
    )
    print(f"canary file created: {'YES' if canary else 'no'}")


if __name__ == "__main__":
    main()
