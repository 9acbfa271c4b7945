"""`cardscan --help` start-up: wall time over fresh interpreters, import-time offenders, and heavy modules kept out.

Run: python bench/startup.py [--runs 20]   → bench/results/startup.md (+ .json). Target: median ≤ 0.3 s.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from collections import defaultdict

from common import CARDSCAN, ROOT, machine, machine_line, md_table, ms, time_command, write_result

TARGET_S = 0.3
# Modules the CLI's --help path must not import (issue: start-up < 0.3 s; spec architecture.md).
HEAVY = ("transformers", "torch", "huggingface_hub", "requests", "rich")
# Not forbidden, but worth seeing: each is a parser/estimator dependency that --help does not need.
WATCH = ("numpy", "yaml", "safetensors", "urllib3", "certifi", "cardscan.scanner", "cardscan.render")
# What to time: the floor (bare interpreter, typer alone) and the two ways a user starts the CLI.
COMMANDS = {
    "python -c pass (interpreter floor)": [sys.executable, "-c", "pass"],
    "python -c 'import typer' (framework floor)": [sys.executable, "-c", "import typer"],
    "cardscan --help": [str(CARDSCAN), "--help"],
    "python -m cardscan --help": [sys.executable, "-m", "cardscan", "--help"],
    "cardscan --version": [str(CARDSCAN), "--version"],
}
PROBE = """
import contextlib, io, json, sys
state = sys.argv[1]
if state != "bare interpreter":
    import cardscan.cli
if state == "after --help":
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        cardscan.cli.app(["--help"])
names = json.loads(sys.argv[2])
print(json.dumps({
    "present": [m for m in names if m in sys.modules],
    "modules": len(sys.modules),
    "cardscan": sorted(m for m in sys.modules if m.startswith("cardscan")),
}))
"""
IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def wall_times(runs: int) -> dict:
    """Summary per command over `runs` fresh processes."""
    return {label: time_command(cmd, runs) for label, cmd in COMMANDS.items()}


def module_probe(state: str) -> dict:
    """Which heavy/watched modules are in sys.modules after importing cardscan.cli (and optionally --help)."""
    names = json.dumps([*HEAVY, *WATCH])
    out = subprocess.run(
        [sys.executable, "-c", PROBE, state, names], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def import_offenders(repeats: int = 5, top: int = 12) -> list[dict]:
    """Per module, median self and cumulative import time (µs) of `import cardscan.cli` over `repeats` runs."""
    self_us: dict[str, list[int]] = defaultdict(list)
    cum_us: dict[str, list[int]] = defaultdict(list)
    depth: dict[str, int] = {}
    for _ in range(repeats):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import cardscan.cli"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
        for name, self_t, cum_t, level in _cli_subtree(proc.stderr):
            self_us[name].append(self_t)
            cum_us[name].append(cum_t)
            depth[name] = level
    rows = [
        {
            "module": n,
            "self_us": statistics.median(self_us[n]),
            "cum_us": statistics.median(cum_us[n]),
            "depth": depth[n],
        }
        for n in self_us
    ]
    return sorted(rows, key=lambda r: r["cum_us"], reverse=True)[:top]


def _cli_subtree(stderr: str) -> list[tuple[str, int, int, int]]:
    """Lines of the `cardscan.cli` import subtree (importtime prints children first, deeper-indented)."""
    rows = [
        (m.group(4), int(m.group(1)), int(m.group(2)), (len(m.group(3)) - 1) // 2) for m in IMPORTTIME.finditer(stderr)
    ]
    end = next(i for i, r in enumerate(rows) if r[0] == "cardscan.cli")
    start = end
    while start > 0 and rows[start - 1][3] > rows[end][3]:
        start -= 1
    return rows[start : end + 1]


def report(info: dict, times: dict, probes: dict, offenders: list[dict], runs: int) -> str:
    help_s = times["cardscan --help"]
    verdict = "meets" if help_s.median <= TARGET_S else "MISSES"
    floor = times["python -c pass (interpreter floor)"].median
    lines = [
        "# Start-up: `cardscan --help`",
        "",
        machine_line(info),
        f"Each command run {runs}× in a fresh process after one untimed warm-up (OS file cache warm, "
        "bytecode cached); wall time around `subprocess.run`.",
        "",
        f"**`cardscan --help` median {ms(help_s.median)}, p90 {ms(help_s.p90)}: {verdict} the ≤ "
        f"{ms(TARGET_S)} target** ({ms(help_s.median - floor)} above the bare interpreter).",
        "",
        md_table(
            ["command", "median", "p90", "min", "max"],
            [[k, ms(s.median), ms(s.p90), ms(s.min), ms(s.max)] for k, s in times.items()],
        ),
        "",
        "## Heavy modules in `sys.modules`",
        "",
        md_table(
            ["state", *HEAVY, "also loaded (watched)", "modules total"],
            [
                [
                    state,
                    *("**yes**" if m in p["present"] else "no" for m in HEAVY),
                    ", ".join(m for m in WATCH if m in p["present"]) or "none",
                    p["modules"],
                ]
                for state, p in probes.items()
            ],
        ),
        "",
        "cardscan modules loaded after `--help`: " + ", ".join(probes["after --help"]["cardscan"]) + ".",
        "",
        "## Import-time offenders (`python -X importtime -c 'import cardscan.cli'`, median of 5)",
        "",
        "Only the `cardscan.cli` subtree: modules `site` loads at interpreter start (this machine's `.pth` files,"
        " e.g. one importing `certifi`) are part of the floor above, not of cardscan.",
        "",
        md_table(
            ["module", "depth", "self", "cumulative"],
            [
                [r["module"], r["depth"], f"{r['self_us'] / 1000:.1f} ms", f"{r['cum_us'] / 1000:.1f} ms"]
                for r in offenders
            ],
        ),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    info = machine()
    times = wall_times(args.runs)
    probes = {s: module_probe(s) for s in ("bare interpreter", "after import cardscan.cli", "after --help")}
    offenders = import_offenders()
    data = {"machine": info, "runs": args.runs, "target_s": TARGET_S, "times": times, "probes": probes}
    write_result("startup", report(info, times, probes, offenders, args.runs), data | {"importtime": offenders})


if __name__ == "__main__":
    main()
