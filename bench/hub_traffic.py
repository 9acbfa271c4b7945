"""Hub traffic of a scan, measured on the Hub emulator: requests by kind, bytes per file vs the physical minimum,
critical-path depth, wall time with 50 ms latency per request vs none, and bytes when the server ignores Range.

Run: python bench/hub_traffic.py [--repeats 5]   → bench/results/hub_traffic.md (+ .json).
The emulator (cardscan.testing.hub.HubEmulator over tests/fixtures/hub) runs in this process, on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import statistics
import struct
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from common import ROOT, machine, machine_line, md_table, ms, write_result

from cardscan.scanner import ScanOptions, scan
from cardscan.testing.hub import HubEmulator, LogEntry

CORPUS = ROOT / "tests" / "fixtures" / "hub"
LATENCY_S = 0.05
# Repo → token ("" = anonymous: skips the saved-token lookup so the run is hermetic).
REPOS = {
    "openai-community/gpt2": "",
    "meta-llama/Llama-2-7b-hf": "hf_approved",
    "meta-llama/Llama-3.1-8B": "hf_approved",
    "deepseek-ai/DeepSeek-V3": "",
}
# Files the physical minimum counts whole; shards count 8 + N (length prefix + JSON header).
WHOLE_FILES = ("config.json", "README.md")
SHARD_ROWS_MAX = 6  # more shards than this are summed into one row


class TimedHub(HubEmulator):
    """The emulator, with the time each log entry was recorded (after the latency knob's sleep)."""

    def __init__(self, *args, **kwargs) -> None:
        self._times_lock = threading.Lock()
        self.times: dict[int, float] = {}
        super().__init__(*args, **kwargs)

    def record(self, entry: LogEntry) -> int:
        with self._times_lock:
            index = super().record(entry)
            self.times[index] = time.perf_counter()
            return index

    def reset(self) -> None:
        with self._times_lock:
            super().reset()
            self.times = {}


@dataclass(frozen=True)
class Run:
    """One measured scan: its result and the emulator's log of it."""

    repo: str
    """Repo id scanned."""
    seconds: float
    """Wall time of `scan()`."""
    log: tuple[LogEntry, ...]
    """Requests the emulator saw, in order."""
    times: tuple[float, ...]
    """When each was recorded (perf_counter seconds)."""
    result: object
    """The ScanResult."""


def scan_once(hub: TimedHub, repo: str) -> Run:
    """Scan `repo` against a freshly reset log."""
    with hub._times_lock:
        hub.log.clear()
        hub.times = {}
    options = ScanOptions(endpoint=hub.url, token=REPOS[repo])
    start = time.perf_counter()
    result = scan(repo, options)
    seconds = time.perf_counter() - start
    log = tuple(hub.log)
    return Run(repo, seconds, log, tuple(hub.times[i] for i in range(len(log))), result)


def timed_runs(hub: TimedHub, repo: str, repeats: int, latency: float) -> tuple[list[float], Run]:
    """Wall times of `repeats` scans with `latency` seconds per request, and the last run."""
    hub.reset()
    if latency:
        hub.set_fault(None, latency=latency)
    runs = [scan_once(hub, repo) for _ in range(repeats)]
    for run in runs:
        if not run.result.ok:
            raise SystemExit(f"{repo}: scan failed: {run.result.error}")
    return [r.seconds for r in runs], runs[-1]


# --- reading the log ------------------------------------------------------------------------------------------


def kind(entry: LogEntry) -> str:
    """api (listing), resolve (hub: redirects and regular files), cdn (LFS bytes)."""
    if entry.origin == "cdn":
        return "cdn"
    if entry.path.startswith("/api/") and not entry.path.startswith("/api/resolve-cache/"):
        return "api"
    return "resolve"


def file_of(entry: LogEntry) -> str:
    """The repo file a request is about (the cdn URL carries it in `file=`); API calls are `(listing)`."""
    parts = urlsplit(entry.path)
    if entry.origin == "cdn":
        return parse_qs(parts.query).get("file", ["?"])[0]
    if kind(entry) == "api":
        return "(listing API)"
    segs = parts.path.split("/")
    if "resolve" in segs:
        return unquote("/".join(segs[segs.index("resolve") + 2 :]))
    return unquote("/".join(segs[6:]))  # /api/resolve-cache/models/{org}/{name}/{commit}/{path}


def waves(times: tuple[float, ...], latency: float) -> list[list[int]]:
    """Group requests into sequential waves: a gap longer than half the per-request latency starts a new one."""
    order = sorted(range(len(times)), key=times.__getitem__)
    groups: list[list[int]] = []
    last = None
    for i in order:
        if last is None or times[i] - last > latency / 2:
            groups.append([])
        groups[-1].append(i)
        last = times[i]
    return groups


def physical_minimum(hub: TimedHub, run: Run) -> dict[str, int]:
    """Bytes a scan cannot avoid: config, card, index whole, and 8 + N of every shard's header."""
    repo = hub.repos[run.result.repo_id]
    tree = repo.tree(run.result.commit)
    need = {p: tree[p].size for p in WHOLE_FILES if p in tree}
    need |= {p: tree[p].size for p in tree if p.endswith(".safetensors.index.json") and _was_read(run, p)}
    for f in run.result.weights.files:
        need[f.path] = 8 + struct.unpack("<Q", tree[f.path].read(0, 8))[0]
    return need


def _was_read(run: Run, path: str) -> bool:
    return any(file_of(e) == path for e in run.log)


def per_file(run: Run) -> tuple[Counter, Counter]:
    """(requests, bytes received) per file."""
    reqs, got = Counter(), Counter()
    for e in run.log:
        reqs[file_of(e)] += 1
        got[file_of(e)] += e.bytes_sent
    return reqs, got


# --- report ---------------------------------------------------------------------------------------------------


def traffic_rows(hub: TimedHub, run: Run) -> list[list[object]]:
    """Per-file rows (shards summed when there are many) with the minimum and the excess."""
    reqs, got = per_file(run)
    need = physical_minimum(hub, run)
    shards = [f.path for f in run.result.weights.files]
    rows, files = [], sorted(reqs, key=lambda p: (p in shards, p))
    if len(shards) > SHARD_ROWS_MAX:
        files = [p for p in files if p not in shards]
    for path in files:
        minimum = need.get(path)
        rows.append([path, reqs[path], f"{got[path]:,}", f"{minimum:,}" if minimum is not None else "— (not needed)"])
    if len(shards) > SHARD_ROWS_MAX:
        rows.append(
            [f"{len(shards)} shards together", sum(reqs[p] for p in shards), f"{sum(got[p] for p in shards):,}",
             f"{sum(need[p] for p in shards):,}"]
        )  # fmt: skip
    return rows


def summary_row(hub: TimedHub, run: Run, plain: list[float], slow: list[float], depth: int) -> list[object]:
    """One line per repo: requests by kind, bytes vs minimum, depth, wall times."""
    kinds = Counter(kind(e) for e in run.log)
    received = sum(e.bytes_sent for e in run.log)
    files_received = sum(e.bytes_sent for e in run.log if kind(e) != "api")
    minimum = sum(physical_minimum(hub, run).values())
    return [
        run.repo, len(run.log), kinds["api"], kinds["resolve"], kinds["cdn"], f"{received:,}", f"{files_received:,}",
        f"{minimum:,}", f"{files_received / minimum:.2f}×", depth, ms(statistics.median(plain)),
        ms(statistics.median(slow)), ms(depth * LATENCY_S),
    ]  # fmt: skip


def wave_text(run: Run, groups: list[list[int]]) -> str:
    """`api×1 → resolve×3 → …` for a few waves, else the wave sizes."""
    parts = []
    for group in groups:
        counts = Counter(kind(run.log[i]) for i in group)
        parts.append("+".join(f"{k}×{n}" for k, n in sorted(counts.items())))
    if len(parts) > 8:
        return f"{len(parts)} waves; sizes " + ", ".join(str(len(g)) for g in groups)
    return " → ".join(parts)


def ignore_range_rows(hub: TimedHub) -> list[list[object]]:
    """Scan each repo with Range ignored everywhere: what the server sent and what the client kept."""
    rows = []
    for repo in REPOS:
        hub.reset()
        hub.set_fault(None, ignore_range=True)
        run = scan_once(hub, repo)
        sent = sum(e.bytes_sent for e in run.log)
        outcome = "ok" if run.result.ok else f"{run.result.error.code}: {run.result.error.message[:90]}"
        io = run.result.io
        rows.append([repo, len(run.log), f"{sent:,}", f"{io.bytes_read:,}", ms(run.seconds), outcome])
    hub.reset()
    return rows


def local_mirror(hub: TimedHub, repo_id: str, folder: Path) -> Path:
    """A folder of symlinks to the emulator's stored files of `repo_id` (header-only shards): no HTTP at all."""
    repo = hub.repos[repo_id]
    target = folder / repo_id.replace("/", "--")
    for path, entry in repo.tree(repo.commit("main")).items():
        if entry.stored is not None:
            (target / path).parent.mkdir(parents=True, exist_ok=True)
            (target / path).symlink_to(entry.stored.resolve())
    return target


def client_cpu_row(hub: TimedHub, repo_id: str, folder: Path, repeats: int) -> list[object]:
    """Time the client alone on a repo's files: whole scan, fetch, interpret, and two per-tensor hot spots."""
    from cardscan.estimate.stage import estimate
    from cardscan.fetch import _estimate_header, fetch, shard_index
    from cardscan.interpret import interpret
    from cardscan.parse.params import is_buffer
    from cardscan.scanner import open_source
    from cardscan.select import select_weights

    path = str(local_mirror(hub, repo_id, folder))
    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        scan(path)
        walls.append(time.perf_counter() - start)
    source, _, _ = open_source(path, ScanOptions())
    listing = source.listing()
    selection = select_weights(listing)
    fetched, t_fetch = _timed(lambda: fetch(source, listing, selection))
    # interpret (parse) then the estimate stage: what the old single interpret() call did
    _, t_interpret = _timed(lambda: estimate(interpret(path, fetched), ScanOptions()))
    index = Future()
    index.set_result(shard_index(fetched.index) if fetched.index else None)
    sizes = {f.path: f.size for f in listing.files}
    shards = selection.chosen.files
    _, t_estimate = _timed(
        lambda: [_estimate_header(index, s, sizes.get(s)) for s in shards] if fetched.index else None
    )
    tensors = [t for h in fetched.headers for t in h.tensors]
    _, t_buffer = _timed(lambda: [is_buffer(t) for t in tensors])
    return [
        repo_id, len(shards), f"{len(tensors):,}", ms(statistics.median(walls)), ms(t_fetch), ms(t_estimate),
        ms(t_interpret), ms(t_buffer),
    ]  # fmt: skip


def _timed(fn) -> tuple[object, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    info = machine()
    summary, details, data = [], [], {"machine": info, "latency_s": LATENCY_S, "repos": {}}
    with TimedHub(CORPUS) as hub:
        warm = {}
        for repo in REPOS:  # first use generates DeepSeek-V3's shards and loads each repo: not timed
            start = time.perf_counter()
            scan_once(hub, repo)
            warm[repo] = time.perf_counter() - start
        for repo in REPOS:
            plain, _ = timed_runs(hub, repo, args.repeats, 0.0)
            slow, run = timed_runs(hub, repo, args.repeats, LATENCY_S)
            groups = waves(run.times, LATENCY_S)
            summary.append(summary_row(hub, run, plain, slow, len(groups)))
            details.append((run, groups, traffic_rows(hub, run)))
            data["repos"][repo] = {
                "warmup_s": warm[repo], "plain_s": plain, "latency_s": slow, "depth": len(groups),
                "wave_sizes": [len(g) for g in groups], "requests": len(run.log),
                "kinds": Counter(kind(e) for e in run.log), "minimum": physical_minimum(hub, run),
                "per_file": {p: {"requests": r, "bytes": b} for p, (r, b) in _zip_counts(run).items()},
                "client_io": {"requests": run.result.io.requests, "bytes_read": run.result.io.bytes_read},
            }  # fmt: skip
        ignored = ignore_range_rows(hub)
        with tempfile.TemporaryDirectory() as tmp:
            cpu = [client_cpu_row(hub, repo, Path(tmp), args.repeats) for repo in REPOS]
    data["ignore_range"] = ignored
    data["client_cpu"] = cpu
    write_result("hub_traffic", report(info, args.repeats, summary, details, ignored, warm, cpu), data)


def _zip_counts(run: Run) -> dict[str, tuple[int, int]]:
    reqs, got = per_file(run)
    return {p: (reqs[p], got[p]) for p in reqs}


SUMMARY_HEADERS = [
    "repo", "requests", "api", "resolve (hub)", "cdn", "bytes all", "bytes files", "minimum", "files/min", "depth",
    "wall 0 ms", f"wall {ms(LATENCY_S)}/req", f"depth × {ms(LATENCY_S)}",
]  # fmt: skip


def report(info, repeats, summary, details, ignored, warm, cpu) -> str:
    lines = [
        "# Hub traffic (emulator)",
        "",
        machine_line(info),
        f"Emulator and client share this process (and its GIL) on 127.0.0.1. Wall times: median of {repeats} "
        f"`scan()` calls after an untimed warm-up per repo (DeepSeek-V3's warm-up, which generates its shards, took "
        f"{warm['deepseek-ai/DeepSeek-V3']:.1f} s). Bytes are what the emulator wrote (`LogEntry.bytes_sent`, bodies "
        "only, API answers included in 'all'). The minimum is config + README + index (when read) whole, plus 8+N "
        f"of every shard read. Depth is counted from log timestamps in the {ms(LATENCY_S)}-latency run: requests "
        "recorded less than half a latency apart are one wave.",
        "",
        md_table(SUMMARY_HEADERS, summary),
        "",
    ]
    for run, groups, rows in details:
        lines += [
            f"## {run.repo}",
            "",
            f"Waves: {wave_text(run, groups)}.",
            "",
            md_table(["file", "requests", "bytes received", "minimum"], rows),
            "",
        ]
    lines += [
        "## Server ignoring Range (`ignore_range` knob on every request)",
        "",
        "`bytes sent` is what the emulator wrote before the client hung up (socket buffers included); "
        "`client bytes` is `ScanResult.io.bytes_read`.",
        "",
        md_table(["repo", "requests", "bytes sent", "client bytes", "wall", "outcome"], ignored),
        "",
        "## Client CPU alone (the same stored files as a local folder, no HTTP)",
        "",
        f"`scan()` median of {repeats}; then one `fetch()` and one `interpret()` timed apart, and two per-tensor "
        "hot spots timed on their own: `fetch._estimate_header` for every shard (names grouped once per index) and "
        "`parse.params.is_buffer` over every tensor (called once per scan, by `count_parameters`).",
        "",
        md_table(
            ["repo", "shards", "tensors", "scan", "fetch", "Σ _estimate_header", "interpret", "is_buffer × all"], cpu
        ),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
