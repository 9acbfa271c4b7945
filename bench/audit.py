"""`cardscan audit` at catalogue scale, on the Hub emulator with 50 ms per request.

1. First audit of 1,000 repos (the emulator corpus replicated under 10 orgs): wall, repos/s, CPU s per repo, peak RSS.
2. Unchanged re-audit of the same 1,000: from the list file (one model-info call per repo) and from a Hub listing
   (`--author`, the sha comes with the listing: zero requests per repo): requests per repo and wall.
3. Peak RSS of an unchanged audit of 10,000 and 100,000 listed ids (a synthetic listing server + a history database
   seeded with that many stored results): memory must stay flat in the list length.

Run: python bench/audit.py [--repos 1000] [--workers 16] [--big 10000,100000]  → bench/results/audit.md (+ .json).
Each audit runs as its own process (`python -m cardscan audit`); CPU and peak RSS come from wait4() on it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from common import ROOT, machine, machine_line, md_table, write_result

from cardscan.audit.store import open_store
from cardscan.testing.hub import HubEmulator

CORPUS = ROOT / "tests" / "fixtures" / "hub"
LATENCY_S = 0.05
TOKEN = "hf_approved"
POLICY = ROOT / "examples" / "audit" / "policy.yaml"
# Corpus repos copied round-robin (weights of every kind; no config-only repos, no generated DeepSeek-V3).
TEMPLATES = ("openai-community/gpt2", "meta-llama/Llama-2-7b-hf", "mistralai/Mistral-7B-v0.1",
             "TheBloke/Llama-2-7B-GPTQ", "TheBloke/Llama-2-7B-GGUF", "TheBloke/Llama-2-7B-AWQ", "org/variants",
             "org/bin-only", "google/gemma-3-1b-it", "unsloth/llama-3-8b-bnb-4bit")  # fmt: skip
ORGS = 10


def replicate(dst: Path, n: int) -> list[str]:
    """n repos `bench{k}/{name}-{i}`, each a copy of a corpus repo's repo.json with its files symlinked."""
    ids = []
    for i in range(n):
        template = TEMPLATES[i % len(TEMPLATES)]
        repo_id = f"bench{i % ORGS}/{template.split('/')[1]}-{i}"
        folder = dst / repo_id
        folder.mkdir(parents=True)
        shutil.copy(CORPUS / template / "repo.json", folder / "repo.json")
        for sub in ("files", "revisions"):
            if (CORPUS / template / sub).exists():
                (folder / sub).symlink_to(CORPUS / template / sub)
        ids.append(repo_id)
    return ids


def run_audit(args: list[str], env: dict[str, str]) -> dict:
    """One audit process: exit code, wall, CPU (user+sys) and peak RSS from wait4()."""
    cmd = [sys.executable, "-m", "cardscan", "audit", *args, "--format", "jsonl", "-o", os.devnull]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"audit exited {code}:\n{stderr[-2000:]}")
    return {"exit": code, "wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mib": round(usage.ru_maxrss / 1024, 1)}  # fmt: skip


def catalogue_runs(tmp: Path, n: int, workers: int) -> dict:
    """Steps 1 and 2 on a replicated corpus."""
    corpus = tmp / "corpus"
    ids = replicate(corpus, n)
    listing = tmp / "models.txt"
    listing.write_text("\n".join(ids) + "\n")
    db = f"sqlite:///{tmp / 'audit.db'}"
    fresh = f"sqlite:///{tmp / 'audit-listed.db'}"  # a first audit given as --author listings, on its own history
    authors = [a for k in range(ORGS) for a in ("--author", f"bench{k}")]
    common = ["--policy", str(POLICY), "--workers", str(workers)]
    # Quotas off: this measures an audit's own cost (the Hub's quotas and the pacing are bench/peers.py's subject).
    unlimited = {"api": 10**9, "resolvers": 10**9, "pages": 10**9}
    with HubEmulator(corpus, cache_dir=tmp / "emulator-cache", latency=LATENCY_S, rate_quotas=unlimited) as hub:
        env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_TOKEN": TOKEN, "PYTHONPATH": str(ROOT / "src")}
        out: dict = {}
        for label, args in (("first", ["-f", str(listing), "--db", db]),
                            ("first_listing", [*authors, "--db", fresh]),
                            ("unchanged_list", ["-f", str(listing), "--db", db]),
                            ("unchanged_listing", [*authors, "--db", db])):  # fmt: skip
            hub.log.clear()
            figures = run_audit([*args, *common], env)
            figures["requests"] = len(hub.log)
            figures["requests_per_repo"] = round(len(hub.log) / n, 3)
            figures["api_per_repo"] = round(sum(e.path.startswith("/api/") for e in hub.log) / n, 3)
            figures["repos_per_s"] = round(n / figures["wall_s"], 1)
            figures["cpu_s_per_repo"] = round(figures["cpu_s"] / n, 4)
            out[label] = figures
            print(label, figures, flush=True)
    return out


class _Listing(BaseHTTPRequestHandler):
    """`/api/models?author=bench&limit=&cursor=`: n synthetic ids with their sha, 1000 per page, Link-paginated."""

    total = 0
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        start = int(query.get("cursor", ["0"])[0])
        size = min(int(query.get("limit", ["1000"])[0]), 1000)
        end = min(start + size, self.total)
        body = json.dumps([{"id": f"bench/m-{i}", "sha": f"{i:040x}", "gated": False} for i in range(start, end)])
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if end < self.total:
            q = {k: v for k, v in query.items() if k != "cursor"}
            q["cursor"] = [str(end)]
            host = self.headers.get("Host")
            self.send_header("Link", f'<http://{host}{parts.path}?{urlencode(q, doseq=True)}>; rel="next"')
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


def seed(db: str, n: int, template: dict) -> None:
    """A history database holding a finished run of n stored results (bench/m-i at sha i), as if audited before."""
    store = open_store(db)
    store.migrate()
    template = {**template, "hub": {"gated": False}}  # as the synthetic listing reports: every repo unchanged
    hub, record = json.dumps(template["hub"]), json.dumps(template)
    facts = json.dumps({"commit": None, "error_code": None})
    cur = store.conn.cursor()
    cur.execute("BEGIN")
    cur.execute(
        "INSERT INTO runs (name, status, started_at, finished_at, spec) VALUES ('mem', 'finished', '', '', '{}')"
    )
    cur.executemany(
        "INSERT INTO results (id, repo, revision, commit_sha, ok, scanned_at, hub, facts, record) "
        "VALUES (?, ?, 'main', ?, 1, '', ?, ?, ?)",
        ((i + 1, f"bench/m-{i}", f"{i:040x}", hub, facts, record) for i in range(n)),
    )
    cur.executemany(
        "INSERT INTO run_repos VALUES (1, ?, 'main', ?, 0, ?, 1, 0, 0, ?, '[]', '')",
        ((f"bench/m-{i}", i + 1, f"{i:040x}", facts) for i in range(n)),
    )
    cur.execute("COMMIT")
    store.close()


def memory_runs(tmp: Path, sizes: list[int], template_db: str) -> dict:
    """Step 3: an unchanged audit of n listed ids, for each n."""
    with open_store(template_db) as store:
        template = store.record(1)
    out = {}
    for n in sizes:
        _Listing.total = n
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Listing)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        db = f"sqlite:///{tmp / f'mem-{n}.db'}"
        seed(db, n, template)
        env = {**os.environ, "HF_ENDPOINT": f"http://127.0.0.1:{server.server_address[1]}", "HF_TOKEN": TOKEN,
               "PYTHONPATH": str(ROOT / "src")}  # fmt: skip
        figures = run_audit(["--author", "bench", "--name", "mem", "--policy", str(POLICY), "--db", db], env)
        figures["repos_per_s"] = round(n / figures["wall_s"], 1)
        server.shutdown()
        out[str(n)] = figures
        print(n, figures, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--big", default="10000,100000", help="listed-id counts for the memory runs")
    args = parser.parse_args()
    info = machine()
    with tempfile.TemporaryDirectory(prefix="cardscan-bench-audit-") as name:
        tmp = Path(name)
        cat = catalogue_runs(tmp, args.repos, args.workers)
        mem = memory_runs(tmp, [int(x) for x in args.big.split(",") if x], f"sqlite:///{tmp / 'audit.db'}")
    rows = [(label, f["wall_s"], f["repos_per_s"], f["requests"], f["requests_per_repo"], f["api_per_repo"],
             f["cpu_s_per_repo"], f["peak_rss_mib"]) for label, f in cat.items()]  # fmt: skip
    mem_rows = [(n, f["wall_s"], f["repos_per_s"], f["cpu_s"], f["peak_rss_mib"]) for n, f in mem.items()]
    md = "\n\n".join([
        "# cardscan audit at catalogue scale",
        machine_line(info),
        f"{args.repos:,} repos (corpus replicated), emulator latency {LATENCY_S * 1000:.0f} ms per request, "
        f"--workers {args.workers}, policy examples/audit/policy.yaml, SQLite history.",
        "first: given as a list of ids; first_listing: given as `--author` listings (each listing item carries the "
        "repo's files, so no model-info call per repo); api/repo counts `/api/` requests (the Hub's tightest bucket).",
        md_table(("run", "wall s", "repos/s", "requests", "requests/repo", "api/repo", "CPU s/repo", "peak RSS MiB"),
                 rows),
        "Unchanged audit of N listed ids (synthetic listing with shas, history seeded with N stored results and no cached verdicts, so every repo is judged, GPU-fit estimates included):",
        md_table(("listed ids", "wall s", "repos/s", "CPU s", "peak RSS MiB"), mem_rows),
    ])  # fmt: skip
    write_result("audit", md, {"machine": info, "catalogue": cat, "memory": mem, "workers": args.workers})


if __name__ == "__main__":
    main()
