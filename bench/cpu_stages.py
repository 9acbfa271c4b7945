"""CPU per stage of one scan, in instructions (callgrind), and CPU per HTTP request: figures that hold on a noisy box.

Wall and CPU seconds on a shared 2-core VM move by ±30% from run to run; `valgrind --tool=callgrind` counts the
instructions a stage executes, which repeat to within a fraction of a percent whatever else the machine is doing. Each
stage of a scan of the GPT-2 fixture (parse the header, count parameters, interpret, estimate, the whole local scan)
runs in a fresh process under callgrind with 0 and with N extra calls; the difference / N is one call's instructions.
The HTTP part compares a plain `requests.Session.get` with `HubSession.fast_get` against the emulator (CPU time of the
calling thread, median of 5 rounds).

Run: python bench/cpu_stages.py [--calls 10] [--stages parse,count,…]   → bench/results/cpu_stages.md (+ .json).
Needs valgrind for the instruction counts (skipped, with a note, where it is missing).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import textwrap

from common import ROOT, machine, machine_line, md_table, write_result

STAGES = ("parse", "count", "interpret", "estimate", "scan")
# One process per measurement: builds the inputs of every stage once (untimed), then calls one stage `n` times.
CHILD = textwrap.dedent(
    """
    import json, sys
    from cardscan import parts
    from cardscan.combine import combine
    from cardscan.estimate.stage import estimate
    from cardscan.interpret import interpret
    from cardscan.options import ScanOptions
    from cardscan.parse.params import count_parameters
    from cardscan.parse.safetensors import parse_header
    from cardscan.scanner import _fetch_top, scan
    from cardscan.sources.registry import open_source

    base = "tests/fixtures/hub/openai-community/gpt2/files/"
    data = open(base + "model.safetensors", "rb").read()
    config = json.load(open(base + "config.json"))
    header = parse_header(data)
    options = ScanOptions()
    source, _, _ = open_source(base, options, None)
    fetched = _fetch_top(source, source.listing(), options)
    combined = combine(interpret(base, fetched), parts.detect(fetched), [])
    stages = {
        "parse": lambda: parse_header(data),
        "count": lambda: count_parameters(header.tensors, config, {}, header.metadata),
        "interpret": lambda: interpret(base, fetched),
        "estimate": lambda: estimate(combined, options),
        "scan": lambda: scan(base, options),
    }
    stage, n = sys.argv[1], int(sys.argv[2])
    stages[stage]()
    for _ in range(n):
        stages[stage]()
    """
)
HTTP = textwrap.dedent(
    """
    import json, resource, statistics, sys
    from pathlib import Path
    from cardscan.sources.http import make_session
    from cardscan.testing.hub import HubEmulator

    def cpu():
        u = resource.getrusage(resource.RUSAGE_THREAD)  # this thread only: the emulator serves from its own threads
        return u.ru_utime + u.ru_stime

    with HubEmulator(Path("tests/fixtures/hub"), rate_quotas={"api": 10**9, "resolvers": 10**9, "pages": 10**9}) as e:
        session = make_session(4)
        url = e.url + "/api/models/openai-community/gpt2"
        headers = {"User-Agent": "cardscan-bench"}
        ways = {
            "requests.Session.get": lambda: session.get(url, headers=headers, stream=True, allow_redirects=False,
                                                        timeout=(5, 5)),
            "HubSession.fast_get": lambda: session.fast_get(url, headers, (5, 5)),
        }
        out = {}
        for name, get in ways.items():
            rounds = []
            for _ in range(5):
                start = cpu()
                for _ in range(300):
                    get().content
                rounds.append((cpu() - start) / 300)
            out[name] = statistics.median(rounds)
        print(json.dumps(out))
    """
)


def instructions(stage: str, n: int) -> int:
    """Instructions callgrind counts for a fresh process that runs `stage` 1 + n times."""
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", CHILD, stage, str(n)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if found is None:
        raise SystemExit(f"callgrind printed no count for {stage}:\n{proc.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10, help="extra calls per stage (the difference is divided by it)")
    parser.add_argument("--stages", default=",".join(STAGES))
    args = parser.parse_args()
    info = machine()
    rows, data = [], {"machine": info, "stages": {}, "http": {}}
    if shutil.which("valgrind"):
        for stage in args.stages.split(","):
            per_call = (instructions(stage, args.calls) - instructions(stage, 0)) / args.calls
            data["stages"][stage] = per_call
            rows.append([stage, f"{per_call / 1e6:.2f}"])
            print(f"{stage}: {per_call / 1e6:.2f} M instructions per call", flush=True)
    http = subprocess.run([sys.executable, "-c", HTTP], cwd=ROOT, capture_output=True, text=True, check=True)
    data["http"] = json.loads(http.stdout.strip().splitlines()[-1])
    lines = [
        "# CPU per stage (instructions) and per HTTP request",
        "",
        machine_line(info),
        "",
        "Scan of the GPT-2 fixture (160 tensors, local folder): instructions per call, from callgrind with 0 and "
        f"{args.calls} extra calls in fresh processes (repeatable to well under 1%, unlike seconds on this box).",
        "",
        md_table(("stage", "M instructions / call"), rows) if rows else "valgrind not found: no instruction counts.",
        "",
        "One GET of the emulator's model-info reply, CPU of the calling thread (median of 5 rounds of 300):",
        "",
        md_table(("path", "ms CPU / request"), [[k, f"{v * 1e3:.3f}"] for k, v in data["http"].items()]),
    ]
    write_result("cpu_stages", "\n".join(lines), data)


if __name__ == "__main__":
    main()
