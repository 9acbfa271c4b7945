"""cardscan side by side with hf-mem and a huggingface_hub loop, on the same Hub emulator and the same repos.

Run: python bench/peers.py [--repeats 5] [--big 1000]   → bench/results/peers.md (+ .json).
The emulator runs in this process; every tool runs in a fresh child process (`bench/peers_child.py`, which imports
only the stdlib before the tool: its cold start, CPU time and peak RSS are the tool's own) pointed at it. cardscan
runs through its real CLI (`cardscan scan … --format json -o FILE`, default options). hf-mem (PyPI `hf-mem`, pinned in pyproject's `bench` extra) hard-codes https://huggingface.co,
so its child swaps httpx2's transport for one that rewrites every URL to the emulator. Requests per bucket,
connections and bytes come from the emulator's own log.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, machine, machine_line, md_table, write_result

from cardscan.testing.hub import HubEmulator, LogEntry, replicate

CORPUS = ROOT / "tests" / "fixtures" / "hub"
BATCH = ["openai-community/gpt2", "meta-llama/Llama-2-7b-hf", "meta-llama/Llama-3.1-8B", "mistralai/Mistral-7B-v0.1"]
# Published totals (tests/known_totals.py) for cardscan; the Hub's stored-element count (buffers included, which
# is what hf-mem and huggingface_hub count) comes from the emulator's model info.
KNOWN = {
    "openai-community/gpt2": 124_439_808,
    "meta-llama/Llama-2-7b-hf": 6_738_415_616,
    "meta-llama/Llama-3.1-8B": 8_030_261_248,
    "mistralai/Mistral-7B-v0.1": 7_241_732_096,
}
TOOLS = ("cardscan", "huggingface_hub", "hf-mem")
NO_QUOTA = {"api": 10**9, "resolvers": 10**9, "pages": 10**9}


CHILD = str(Path(__file__).with_name("peers_child.py"))


# --- parent ----------------------------------------------------------------------------------------------------


def bucket(e: LogEntry) -> str:
    if e.origin == "cdn":
        return "cdn"
    return "resolvers" if "/resolve" in e.path else "api"


def measure(hub: HubEmulator, tool: str, repos: list[str], latency: float, repeats: int, workers: int = 32) -> dict:
    """Median wall of `repeats` cold runs, and the traffic of the last one."""
    walls, inner = [], []
    out: dict = {}
    for _ in range(repeats):
        hub.reset()
        hub.set_fault(None, latency=latency, connect_delay=0.1, rate_quotas=NO_QUOTA)
        cmd = [sys.executable, CHILD, tool, hub.url, str(workers), *repos]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "HF_HUB_DISABLE_TELEMETRY": "1"})
        walls.append(time.perf_counter() - start)
        if proc.returncode:
            return {"error": proc.stderr.strip().splitlines()[-1][:200] if proc.stderr.strip() else "failed"}
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        inner.append(out["wall"])
    log = list(hub.log)
    kinds = {k: sum(bucket(e) == k for e in log) for k in ("api", "resolvers", "cdn")}
    return {
        "wall": statistics.median(walls), "work_wall": statistics.median(inner), "requests": len(log), **kinds,
        "connections": sum(hub.connections.values()), "bytes": sum(e.bytes_sent for e in log), "cpu": out["cpu"],
        "rss_mb": out["rss_kb"] / 1024, "totals": out["totals"],
    }  # fmt: skip


def right(hub: HubEmulator, tool: str, totals: dict) -> bool:
    for repo, got in totals.items():
        if tool == "cardscan":
            want = KNOWN.get(repo)
        else:
            from cardscan.testing.hub import safetensors_counts

            r = hub.repos[repo]
            want = (safetensors_counts(r.tree(r.commit("main"))) or {}).get("total")
        if want is not None and got != want:
            return False
    return True


def floor(latency: float, connect: float = 0.1) -> float:
    """Process start + one connect per origin (hub, cdn) + 3 sequential round trips."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - start + 2 * connect + 3 * latency


def big_batch(n: int, workers_list: list[int], profile: bool) -> list[list[object]]:
    """cardscan over `n` replicated repos at 50 ms per request: wall, CPU, API requests per repo, per workers."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ids = replicate(CORPUS, ["openai-community/gpt2", "org/no-readme", "org/variants"], Path(tmp), n)
        with HubEmulator(Path(tmp), cache_dir=Path(tmp) / ".cache") as hub:
            for workers in workers_list:
                hub.reset()
                hub.set_fault(None, latency=0.05, rate_quotas=NO_QUOTA)
                cmd = [sys.executable, CHILD, "cardscan", hub.url, str(workers), *ids]
                proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
                out = json.loads(proc.stdout.strip().splitlines()[-1])
                ok = sum(v is not None for v in out["totals"].values())
                api = sum(e.path.startswith("/api/") for e in hub.log)
                rows.append([workers, f"{out['wall']:.2f}", f"{out['cpu']:.2f}", f"{api / n:.2f}", len(hub.log),
                             sum(hub.connections.values()), f"{out['rss_kb'] / 1024:.0f}", f"{ok}/{n}"])  # fmt: skip
            if workers_list:
                # The goal's setting: default workers would be the lead's; 32 here, on the Hub's free quotas (real 300 s
                # window): 1,000 ids cost 1,000 api requests, exactly the quota, so any 429 or pause shows a limiter error.
                hub.reset()
                hub.set_fault(None, latency=0.05, rate_quotas="free")
                cmd = [sys.executable, CHILD, "cardscan", hub.url, "32", *ids]
                proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
                out = json.loads(proc.stdout.strip().splitlines()[-1])
                ok = sum(v is not None for v in out["totals"].values())
                api = sum(e.path.startswith("/api/") for e in hub.log)
                n429 = sum(e.status == 429 for e in hub.log)
                rows.append([f"32, free quotas ({n429} × 429)", f"{out['wall']:.2f}", f"{out['cpu']:.2f}", f"{api / n:.2f}",
                             len(hub.log), sum(hub.connections.values()), f"{out['rss_kb'] / 1024:.0f}", f"{ok}/{n}"])  # fmt: skip
            if profile:
                hub.reset()
                hub.set_fault(None, latency=0.05, rate_quotas=NO_QUOTA)
                prof = ROOT / "bench" / "results" / "peers_profile.txt"
                cmd = [sys.executable, CHILD, "--profile", str(prof), "cardscan", hub.url, "32", *ids]
                subprocess.run(cmd, capture_output=True, text=True, check=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--big", type=int, default=1000)
    args = parser.parse_args()
    info = machine()
    data: dict = {"machine": info, "scenarios": {}}
    rows = []
    with HubEmulator(CORPUS) as hub:
        for name, repos, latency in (
            ()
            if not args.repeats
            else (
                ("1 repo cold, 50 ms + 100 ms connect", BATCH[1:2], 0.05),
                ("4 repos, 0 ms + 100 ms connect", BATCH, 0.0),
                ("4 repos, 50 ms + 100 ms connect", BATCH, 0.05),
            )
        ):
            base = floor(latency)
            data["scenarios"][name] = {"floor_s": base}
            for tool in TOOLS:
                m = measure(hub, tool, repos, latency, args.repeats)
                data["scenarios"][name][tool] = m
                if "error" in m:
                    rows.append([name, tool, "—", "—", "—", "—", "—", "—", "—", "—", "—", m["error"]])
                    continue
                rows.append([name, tool, f"{m['wall']:.2f}", f"{m['wall'] / base:.2f}×", m["api"], m["resolvers"],
                             m["cdn"], m["connections"], f"{m['bytes']:,}", f"{m['cpu']:.2f}", f"{m['rss_mb']:.0f}",
                             "yes" if right(hub, tool, m["totals"]) else "NO"])  # fmt: skip
    if not args.repeats and args.big:  # --repeats 0: only the profile
        big_batch(args.big, [], profile=True)
        return
    big = big_batch(args.big, [8, 16, 32, 64], profile=True) if args.big else []
    data["big"] = big
    write_result("peers", report(info, args, rows, big, data), data)


def report(info, args, rows, big, data) -> str:
    floors = ", ".join(f"{k}: {v['floor_s']:.2f} s" for k, v in data["scenarios"].items())
    return "\n".join(
        [
            "# cardscan vs hf-mem vs huggingface_hub (emulator)",
            "",
            machine_line(info),
            f"Each tool runs as a fresh process per try; wall = median of {args.repeats} (process start included); "
            "requests, connections and bytes from the emulator's log of the last try; CPU and peak RSS of the child. "
            "hf-mem and huggingface_hub count stored elements (buffers included): 'right' compares them with the Hub's "
            f"own count; cardscan with the published totals. Floors (process start + 2 connects + 3 round trips): {floors}.",
            "",
            md_table(
                [
                    "scenario",
                    "tool",
                    "wall s",
                    "× floor",
                    "api",
                    "resolvers",
                    "cdn",
                    "connections",
                    "bytes",
                    "CPU s",
                    "peak RSS MB",
                    "totals right",
                ],
                rows,
            ),
            "",
            f"## cardscan, {args.big} repos (gpt2 / no-readme / variants replicated), 50 ms per request",
            "",
            md_table(["workers", "wall s", "CPU s", "API req/repo", "requests", "connections", "RSS MB", "ok"], big),
            "",
            "CPU profile of the 32-worker run: `bench/results/peers_profile.txt` (cProfile, by own time).",
        ]
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
