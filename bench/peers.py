"""cardscan side by side with hf-mem and a huggingface_hub loop, on the same Hub emulator and the same repos.

Run: python bench/peers.py [--repeats 5] [--big 1000]   → bench/results/peers.md (+ .json).
The emulator runs in this process; every tool runs in a fresh child process (cold start, its own CPU time and peak
RSS) pointed at it. hf-mem (PyPI `hf-mem`, pinned in pyproject's `bench` extra) hard-codes https://huggingface.co,
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
TOKEN = "hf_approved"
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


# --- children ------------------------------------------------------------------------------------------------


def child(tool: str, endpoint: str, repos: list[str], workers: int) -> dict:
    """Run one tool over `repos` in this (fresh) process: wall of the work, per-repo totals, CPU, peak RSS."""
    import resource

    start = time.perf_counter()
    totals = {"cardscan": _cardscan, "huggingface_hub": _hf_hub, "hf-mem": _hf_mem}[tool](endpoint, repos, workers)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"wall": wall, "totals": totals, "cpu": usage.ru_utime + usage.ru_stime, "rss_kb": usage.ru_maxrss}


def _cardscan(endpoint: str, repos: list[str], workers: int) -> dict[str, int | None]:
    from cardscan.scanner import ScanOptions, scan_many

    results = scan_many(repos, ScanOptions(endpoint=endpoint, token=TOKEN), workers=workers)
    return {r.input: r.parameters.total if r.ok and r.parameters else None for r in results}


def _hf_hub(endpoint: str, repos: list[str], workers: int) -> dict[str, int | None]:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint, token=TOKEN)
    out: dict[str, int | None] = {}
    for repo in repos:
        api.model_info(repo)
        meta = api.get_safetensors_metadata(repo)
        out[repo] = sum(meta.parameter_count.values())
    return out


def _hf_mem(endpoint: str, repos: list[str], workers: int) -> dict[str, int | None]:
    import httpx2
    from hf_mem.run import run

    host, port = endpoint.removeprefix("http://").split(":")

    class ToEmulator(httpx2.AsyncHTTPTransport):
        async def handle_async_request(self, request):  # type: ignore[no-untyped-def]
            if request.url.host == "huggingface.co":
                request.url = request.url.copy_with(scheme="http", host=host, port=int(port))
            return await super().handle_async_request(request)

    original = httpx2.AsyncClient.__init__

    def patched(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["transport"] = ToEmulator(http2=False)
        original(self, *args, **kwargs)

    httpx2.AsyncClient.__init__ = patched  # type: ignore[method-assign]
    out: dict[str, int | None] = {}
    for repo in repos:
        result = run(repo, hf_token=TOKEN)
        out[repo] = getattr(result.safetensors, "param_count", None)
    return out


# Where CPU goes, by the file a function lives in (own time, every thread).
STAGES = (
    ("cardscan sources (http, hub, ratelimit)", "cardscan/sources/"),
    ("cardscan fetch + select", ("cardscan/fetch.py", "cardscan/select.py")),
    ("cardscan parse", "cardscan/parse/"),
    ("cardscan interpret + kinds + tensors", ("cardscan/interpret.py", "cardscan/kinds.py", "cardscan/tensors.py")),
    ("cardscan estimate", "cardscan/estimate/"),
    ("cardscan scanner + result", ("cardscan/scanner.py", "cardscan/result.py")),
    ("requests", "/requests/"),
    ("urllib3", "/urllib3/"),
    (
        "http.client + socket + ssl",
        (
            "http/client.py",
            "socket.py",
            "ssl.py",
            "email/",
            "{method 'recv",
            "{method 'send",
            "{method 'sendall",
            "{method 'connect",
            "{method 'recv_into",
        ),
    ),
    ("json", ("json/", "{method 'decode' of", "scanstring")),
    ("threads, locks, queues", ("threading.py", "concurrent/futures", "queue.py", "{method 'acquire'")),
    ("import machinery", ("<frozen", "importlib", "{built-in method builtins.compile", "marshal")),
)


def profiled(args: argparse.Namespace) -> dict:
    """Run the child under one cProfile per thread (threading.setprofile), merge, write the top functions and a
    per-stage summary of own CPU time next to the results."""
    import cProfile
    import pstats
    import threading

    profiles: list[cProfile.Profile] = []

    def start(*_: object) -> None:
        prof = cProfile.Profile(time.thread_time)  # CPU of this thread only: waits and GIL queueing excluded
        profiles.append(prof)
        prof.enable()  # replaces this hook for the rest of the thread

    threading.setprofile(start)
    main_prof = cProfile.Profile(time.thread_time)
    out = main_prof.runcall(child, args.child, args.endpoint, args.repos, args.workers)
    threading.setprofile(None)
    for prof in profiles:
        prof.disable()
    stats = pstats.Stats(main_prof)
    for prof in profiles:
        stats.add(prof)
    stages: dict[str, float] = {}

    def stage(file: str, func: str) -> str:
        where = f"{file}:{func}"
        return next((n for n, keys in STAGES if any(k in where for k in ((keys,) if isinstance(keys, str) else keys))),
                    "other")  # fmt: skip

    for (file, _line, func), (_, _, own, _, callers) in stats.stats.items():  # type: ignore[attr-defined]
        if file == "~" and callers and stage(file, func) == "other":
            # A C builtin (any, isinstance, str methods…): charge its time to the stages of its callers.
            total = sum(c[2] for c in callers.values()) or 1.0
            for (cfile, _cl, cfunc), c in callers.items():
                name = stage(cfile, cfunc)
                stages[name] = stages.get(name, 0.0) + own * c[2] / total
            continue
        name = stage(file, func)
        stages[name] = stages.get(name, 0.0) + own
    with open(args.profile, "w") as fh:
        fh.write("Own CPU time by stage (s, summed over all threads, per-thread CPU clock):\n")
        for name, own in sorted(stages.items(), key=lambda kv: -kv[1]):
            fh.write(f"  {own:8.3f}  {name}\n")
        fh.write("\n")
        stats.stream = fh  # type: ignore[attr-defined]
        stats.sort_stats("tottime").print_stats(45)
    out["stages"] = stages
    return out


# --- parent ----------------------------------------------------------------------------------------------------


def bucket(e: LogEntry) -> str:
    if e.origin == "cdn":
        return "cdn"
    return "resolvers" if "/resolve" in e.path else "api"


def measure(hub: HubEmulator, tool: str, repos: list[str], latency: float, repeats: int, workers: int = 8) -> dict:
    """Median wall of `repeats` cold runs, and the traffic of the last one."""
    walls, inner = [], []
    out: dict = {}
    for _ in range(repeats):
        hub.reset()
        hub.set_fault(None, latency=latency, connect_delay=0.1, rate_quotas=NO_QUOTA)
        cmd = [sys.executable, __file__, "--child", tool, "--endpoint", hub.url, "--workers", str(workers), *repos]
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
                cmd = [sys.executable, __file__, "--child", "cardscan", "--endpoint", hub.url, "--workers",
                       str(workers), *ids]  # fmt: skip
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
                cmd = [sys.executable, __file__, "--child", "cardscan", "--endpoint", hub.url, "--workers", "32", *ids]
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
                cmd = [sys.executable, __file__, "--child", "cardscan", "--endpoint", hub.url, "--workers", "32",
                       "--profile", str(prof), *ids]  # fmt: skip
                subprocess.run(cmd, capture_output=True, text=True, check=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child")
    parser.add_argument("--endpoint")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--profile")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--big", type=int, default=1000)
    parser.add_argument("repos", nargs="*")
    args = parser.parse_args()
    if args.child:
        out = profiled(args) if args.profile else child(args.child, args.endpoint, args.repos, args.workers)
        print(json.dumps(out))
        return
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
