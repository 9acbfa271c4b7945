"""`cardscan audit / history / diff` through the real CLI against the Hub emulator, on SQLite and PostgreSQL.

Each test gets a private emulator (tests mutate it between runs: a moved commit, a deleted repo, a new licence, a
repo that became gated) and a fresh database: a SQLite file, and a throw-away schema of the PostgreSQL server at
CARDSCAN_TEST_PG (default postgresql://postgres@127.0.0.1:5432/test). Without a reachable server the PostgreSQL
variants skip, unless CARDSCAN_REQUIRE_PG=1 (CI) makes them fail.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cardscan.audit.store import open_store
from cardscan.cli import app
from cardscan.sources.http import HubStats, make_session
from cardscan.sources.hub import HubConfig
from cardscan.sources.listing import ListingQuery, list_models
from cardscan.testing.hub import (
    HubEmulator,
    commit_files,
    delete_repo,
    reload_repos,
    set_gated,
    set_license,
    set_stats,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "hub"
JUNIT_XSD = ROOT / "tests" / "fixtures" / "audit" / "junit.xsd"
APPROVED = "hf_approved"
AUTHORS = ("--author", "openai-community", "--author", "org", "--author", "meta-llama", "--author", "TheBloke")
LIST = ["openai-community/gpt2", "org/lora-adapter", "org/variants", "org/no-readme", "TheBloke/Llama-2-7B-GPTQ",
        "meta-llama/Llama-3.1-8B", "org/bin-only", "TheBloke/Llama-2-7B-GGUF"]  # fmt: skip
PG_URL = os.environ.get("CARDSCAN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
POLICY = """version: 1
rules:
  - {id: licence, licenses: {deny: [cc-by-nc-4.0]}}
  - {id: not-gated, allow_gated: false}
  - {id: card-count, severity: warning, card_states_parameters: true}
  - {id: scan-ok, scan_succeeds: true}
"""


# --- fixtures --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubEmulator, Path]]:
    cache = tmp_path_factory.getbasetemp() / "audit-emulator-cache"
    with HubEmulator(CORPUS, cache_dir=cache) as hub:
        yield hub, cache


@pytest.fixture
def emu(emulator: tuple[HubEmulator, Path]) -> Iterator[HubEmulator]:
    """The module's emulator with the corpus as on disk, no knobs and an empty log (tests change repos freely)."""
    hub, cache = emulator
    reload_repos(hub, cache)
    hub.reset()
    hub.listing_page_size = 1000  # type: ignore[attr-defined]
    # Slow to scan and not needed here: the config-only repos build their model on the meta device (torch import,
    # ~5 s) and DeepSeek-V3's 163 shards are generated on first use.
    for slow in ("org/config-only", "org/broken-yaml", "deepseek-ai/DeepSeek-V3"):
        delete_repo(hub, slow)
    yield hub
    hub.reset()


def _pg_reachable() -> bool:
    try:
        import psycopg

        psycopg.connect(PG_URL, connect_timeout=2).close()
        return True
    except Exception:
        return False


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh history database URL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'audit.db'}"
        return
    if not _pg_reachable():
        if os.environ.get("CARDSCAN_REQUIRE_PG") == "1":
            pytest.fail(f"CARDSCAN_REQUIRE_PG=1 but PostgreSQL at {PG_URL} is unreachable")
        pytest.skip(f"no PostgreSQL at {PG_URL}")
    import psycopg

    schema = f"cardscan_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def sqlite_db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'audit.db'}"


def audit(emu: HubEmulator, db: str, *args: str, token: str = APPROVED):
    """Run `cardscan audit … --db DB` in-process against the emulator."""
    env = {"HF_ENDPOINT": emu.url, "HF_TOKEN": token, "HF_HUB_DISABLE_TELEMETRY": "1"}
    return CliRunner().invoke(app, ["audit", *args, "--db", db], env=env)


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


def lines(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def repos_of(result) -> dict[str, dict]:
    return {d["repo"]: d for d in lines(result) if d["type"] == "repo"}


def summary_of(result) -> dict:
    return [d for d in lines(result) if d["type"] == "summary"][-1]


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def repo_requests(emu: HubEmulator, repo: str) -> list[str]:
    """Paths of hub requests that concern one repo (model info, tree, resolve), and cdn reads of its files."""
    return [e.path for e in emu.log if f"/{repo}/" in e.path or e.path.endswith(f"/{repo}") or f"repo={repo}" in
            e.path.replace("%2F", "/")]  # fmt: skip


def run_rows(db: str) -> int:
    """Repos committed so far (0 before the audit created its tables)."""
    try:
        with open_store(db) as store:
            row = store._one("SELECT COUNT(*) FROM run_repos")
            return int(row[0]) if row else 0
    except Exception:
        return 0


# --- runs, reruns and what changed -----------------------------------------------------------------------------------


def test_listing_first_run_then_unchanged_rerun_costs_no_repo_request(emu: HubEmulator, db: str) -> None:
    emu.log.clear()
    first = audit(emu, db, *AUTHORS, "--format", "jsonl")
    assert first.exit_code == 0, first.output
    repos = repos_of(first)
    assert "openai-community/gpt2" in repos and len(repos) == 10 and not any(r["reused"] for r in repos.values())
    # The listing carried each repo's files: no scan asked model info for a listed repo (an adapter's base model,
    # scanned as part of the adapter, still asks for its own when it was not listed itself).
    infos = {e.path.split("?")[0].removeprefix("/api/models/") for e in emu.log if e.path.startswith("/api/models/")}
    assert infos == {"meta-llama/Llama-2-7b-hf/revision/main"}  # org/lora-adapter's base, read with the adapter
    gpt2 = repos["openai-community/gpt2"]["facts"]
    assert gpt2["parameters"] == 124439808 and gpt2["weight_bytes"], gpt2  # bytes from the header reads' totals
    emu.log.clear()
    again = audit(emu, db, *AUTHORS, "--format", "jsonl")
    assert again.exit_code == 0, again.output
    assert all(r["reused"] for r in repos_of(again).values()) and len(repos_of(again)) == 10
    # only the four listing pages: the listing gave every sha, so unchanged repos cost nothing
    assert [e.path.split("?")[0] for e in emu.log] == ["/api/models"] * 4
    assert summary_of(again)["change_count"] == 0


def test_list_file_rerun_costs_one_request_per_repo(emu: HubEmulator, db: str, tmp_path: Path) -> None:
    targets = write(tmp_path, "models.txt", "\n".join(LIST) + "\n")
    emu.log.clear()
    assert audit(emu, db, "-f", targets).exit_code == 0
    # First sight of a repo: its freshness check is the scan's own model info (one API request, not two).
    infos = [e.path.split("?")[0] for e in emu.log if e.path.startswith("/api/models/")]
    for repo in LIST:
        assert infos.count(f"/api/models/{repo}/revision/main") == 1, (repo, infos)
    # config.json is read once per repo: the audit's stored copy comes from the scan's read (never a file twice).
    configs = [e.path for e in emu.log if e.path.endswith("/config.json") and "/resolve/" in e.path]
    assert len(configs) == len(set(configs)), configs
    emu.log.clear()
    again = audit(emu, db, "-f", targets, "--format", "jsonl")
    assert again.exit_code == 0 and all(r["reused"] for r in repos_of(again).values())
    assert len(emu.log) == len(LIST)
    for repo in LIST:
        assert len(repo_requests(emu, repo)) == 1, repo
    assert all("expand" in e.path for e in emu.log)


def test_commit_moved_repo_deleted_licence_changed_became_gated(emu: HubEmulator, db: str, tmp_path: Path) -> None:
    policy = write(tmp_path, "policy.yaml", POLICY)
    first = audit(emu, db, *AUTHORS, "--policy", policy, "--format", "jsonl")
    assert first.exit_code == 1, first.output  # meta-llama repos are gated: not-gated fails
    commit_files(emu, "org/lora-adapter", {"NOTES.md": b"retrained\n"})
    set_license(emu, "openai-community/gpt2", "cc-by-nc-4.0")
    delete_repo(emu, "org/variants")
    set_gated(emu, "org/bin-only", "auto", approve=(APPROVED,))
    emu.log.clear()
    second = audit(emu, db, *AUTHORS, "--policy", policy, "--format", "jsonl")
    assert second.exit_code == 1
    repos = repos_of(second)
    assert "org/variants" not in repos
    rescanned = {r for r, d in repos.items() if not d["reused"]}
    assert rescanned == {"org/lora-adapter", "openai-community/gpt2", "org/bin-only"}
    changes = {(c["repo"], c["kind"]) for c in lines(second) if c["type"] == "change"}
    assert {("org/variants", "removed"), ("org/lora-adapter", "commit"), ("openai-community/gpt2", "commit"),
            ("openai-community/gpt2", "license"), ("openai-community/gpt2", "newly_violating"),
            ("org/bin-only", "gated"), ("org/bin-only", "newly_violating")} <= changes  # fmt: skip
    failed = {o["rule"] for o in repos["openai-community/gpt2"]["outcomes"] if o["status"] == "fail"}
    assert failed == {"licence", "card-count"}  # card-count: a warning in both runs

    diff = cli("diff", "--db", db, "--format", "json")
    assert diff.exit_code == 0, diff.output
    assert {(c["repo"], c["kind"]) for c in json.loads(diff.stdout)["changes"]} == changes
    history = cli("history", "openai-community/gpt2", "--db", db, "--format", "json")
    assert [h["facts"]["license"] for h in json.loads(history.stdout)] == ["mit", "cc-by-nc-4.0"]
    table = cli("history", "openai-community/gpt2", "--db", db)
    assert "cc-by-nc-4.0" in table.stdout and "mit" in table.stdout


def test_policy_change_needs_no_reread(emu: HubEmulator, db: str, tmp_path: Path) -> None:
    assert audit(emu, db, "openai-community/gpt2", "org/bin-only").exit_code == 0
    strict = write(tmp_path, "p.yaml", "rules:\n  - {id: no-pickle, safe_formats: true}\n"
                   "  - {id: fits, fits_gpu: {gpu: 4GB, context: 1024, engine: generic}}\n")  # fmt: skip
    emu.log.clear()
    result = audit(emu, db, "openai-community/gpt2", "org/bin-only", "--policy", strict, "--format", "jsonl")
    assert result.exit_code == 1
    repos = repos_of(result)
    assert all(r["reused"] for r in repos.values()) and len(emu.log) == 2  # one head each, nothing re-read
    assert {o["rule"]: o["status"] for o in repos["org/bin-only"]["outcomes"]}["no-pickle"] == "fail"
    fits = {o["rule"]: o for o in repos["openai-community/gpt2"]["outcomes"]}["fits"]
    assert fits["status"] == "pass" and fits["figures"]["total_bytes"] > 0  # re-estimated from the stored config


def test_deleted_repo_in_a_list_fails_to_scan(emu: HubEmulator, db: str) -> None:
    assert audit(emu, db, "openai-community/gpt2", "org/variants").exit_code == 0
    delete_repo(emu, "org/variants")
    second = audit(emu, db, "openai-community/gpt2", "org/variants", "--format", "jsonl")
    assert second.exit_code == 3  # not_found, cardscan's scan exit code
    assert ("org/variants", "newly_failing") in {(c["repo"], c["kind"]) for c in lines(second) if c["type"] == "change"}
    assert audit(emu, db, "openai-community/gpt2", "org/variants", "--allow-scan-errors").exit_code == 0


# --- interruption and concurrency --------------------------------------------------------------------------------------


def _spawn(emu: HubEmulator, db: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "HF_ENDPOINT": emu.url, "HF_TOKEN": APPROVED, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "cardscan", "audit", *args, "--db", db, "--format", "jsonl"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_kill_9_mid_run_then_rerun_resumes(emu: HubEmulator, db: str, tmp_path: Path) -> None:
    targets = write(tmp_path, "models.txt", "\n".join(LIST) + "\n")
    emu.set_fault(None, latency=0.1)
    proc = _spawn(emu, db, "-f", targets, "--workers", "1")
    try:
        _wait_for(lambda: run_rows(db) >= 2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    kept = run_rows(db)
    assert 2 <= kept < len(LIST)
    emu.reset()
    rerun = audit(emu, db, "-f", targets, "--format", "jsonl")
    assert rerun.exit_code == 0, rerun.output
    assert "resuming interrupted run 1" in rerun.stderr
    assert len(repos_of(rerun)) == len(LIST) - kept  # finished repos are neither lost nor redone
    assert summary_of(rerun)["counts"]["repos"] == len(LIST) and summary_of(rerun)["run"]["id"] == 1


def test_two_audits_at_once(emu: HubEmulator, db: str, tmp_path: Path) -> None:
    targets = write(tmp_path, "models.txt", "\n".join(LIST) + "\n")
    emu.set_fault(None, latency=0.02)
    # the same catalogue twice at once: both finish, or the later one is refused with a clear error
    same = [_spawn(emu, db, "-f", targets, "--name", "nightly") for _ in range(2)]
    outputs = [p.communicate(timeout=60) for p in same]
    codes = sorted(p.returncode for p in same)
    assert codes in ([0, 0], [0, 2]), outputs
    if codes == [0, 2]:
        assert any("another audit of 'nightly' is running" in err for _, err in outputs)
    # two shards of one catalogue at once: both finish, one database, nothing lost
    shards = [_spawn(emu, db, "-f", targets, "--shard", f"{i}/2") for i in range(2)]
    outputs = [p.communicate(timeout=60) for p in shards]
    assert [p.returncode for p in shards] == [0, 0], [o[1] for o in outputs]
    seen = [json.loads(line)["repo"] for out, _ in outputs for line in out.splitlines() if '"type": "repo"' in line]
    assert sorted(seen) == sorted(LIST)
    if db.startswith("sqlite"):
        import sqlite3

        assert sqlite3.connect(db[len("sqlite:///") :]).execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_running_audit_holds_its_name(emu: HubEmulator, db: str) -> None:
    with open_store(db) as holder:
        holder.migrate()
        holder.lock_run("nightly")  # as a live audit of this catalogue would
        refused = audit(emu, db, "openai-community/gpt2", "--name", "nightly")
        assert refused.exit_code == 2 and "another audit of 'nightly' is running" in refused.stderr
        assert emu.log == []
        assert audit(emu, db, "openai-community/gpt2", "--name", "other").exit_code == 0
    assert audit(emu, db, "openai-community/gpt2", "--name", "nightly").exit_code == 0  # released with its process


# --- inputs, shards, outputs, exit codes -------------------------------------------------------------------------------


def test_shard_union_is_the_whole_list(emu: HubEmulator, sqlite_db: str, tmp_path: Path) -> None:
    targets = write(tmp_path, "models.txt", "\n".join(LIST) + "\n")
    parts = [repos_of(audit(emu, sqlite_db, "-f", targets, "--shard", f"{i}/3", "--format", "jsonl")) for i in range(3)]
    assert sorted(r for p in parts for r in p) == sorted(LIST)


def test_invalid_lines_are_reported_together_and_nothing_is_scanned(
    emu: HubEmulator, sqlite_db: str, tmp_path: Path
) -> None:
    targets = write(tmp_path, "models.txt", "openai-community/gpt2\nnot a repo\norg/x@\n")
    result = audit(emu, sqlite_db, "-f", targets)
    assert result.exit_code == 2
    assert "models.txt:2:" in result.stderr and "models.txt:3:" in result.stderr
    assert emu.log == []
    bad_policy = write(tmp_path, "p.yaml", "rules:\n  - id: x\n    max_parameters: many\n")
    result = audit(emu, sqlite_db, "openai-community/gpt2", "--policy", bad_policy)
    assert result.exit_code == 2 and "p.yaml:3: rules[0].max_parameters" in result.stderr


def test_csv_column_stdin_and_revision(emu: HubEmulator, sqlite_db: str, tmp_path: Path) -> None:
    csv = write(tmp_path, "catalogue.csv", "team,repo_id\na,openai-community/gpt2\nb,Qwen/Qwen3-30B-A3B@v1.0\n")
    result = audit(emu, sqlite_db, "-f", csv, "--column", "repo_id", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    assert {(r["repo"], r["revision"]) for r in repos_of(result).values()} == {
        ("openai-community/gpt2", "main"), ("Qwen/Qwen3-30B-A3B", "v1.0")}  # fmt: skip
    env = {"HF_ENDPOINT": emu.url, "HF_TOKEN": APPROVED}
    piped = CliRunner().invoke(app, ["audit", "-f", "-", "--db", sqlite_db, "--format", "jsonl"],
                               input="org/no-readme\n", env=env)  # fmt: skip
    assert piped.exit_code == 0 and set(repos_of(piped)) == {"org/no-readme"}


def test_exit_codes_strict_and_warnings(emu: HubEmulator, sqlite_db: str, tmp_path: Path) -> None:
    warn = write(tmp_path, "p.yaml", "rules:\n  - {id: count, severity: warning, card_states_parameters: true}\n")
    assert audit(emu, sqlite_db, "openai-community/gpt2", "--policy", warn).exit_code == 0
    assert audit(emu, sqlite_db, "openai-community/gpt2", "--policy", warn, "--strict").exit_code == 1
    assert audit(emu, sqlite_db, "org/does-not-exist").exit_code == 3
    assert audit(emu, sqlite_db).exit_code == 2


def test_junit_markdown_json_html(emu: HubEmulator, sqlite_db: str, tmp_path: Path) -> None:
    import xmlschema

    policy = write(tmp_path, "policy.yaml", POLICY)
    junit, summary, doc = tmp_path / "junit.xml", tmp_path / "summary.md", tmp_path / "audit.json"
    args = ("openai-community/gpt2", "meta-llama/Llama-3.1-8B", "org/does-not-exist", "--policy", policy)
    result = audit(emu, sqlite_db, *args, "--junit", str(junit), "--summary", str(summary), "--format", "json",
                   "-o", str(doc))  # fmt: skip
    assert result.exit_code == 3
    schema = xmlschema.XMLSchema(str(JUNIT_XSD))
    schema.validate(str(junit))
    tree = schema.to_dict(str(junit))
    suite = tree["testsuite"][0]
    cases = {(c["@classname"], c["@name"]): c for c in suite["testcase"]}
    assert len(cases) == 3 * 4 and suite["@tests"] == 12
    gated = cases[("meta-llama/Llama-3.1-8B", "not-gated")]
    assert gated["failure"][0]["@type"] == "not-gated" and '"gated": "manual"' in gated["failure"][0]["$"]
    assert cases[("org/does-not-exist", "scan-ok")]["failure"][0]["@message"].startswith("scan failed: not_found")
    text = summary.read_text()
    assert text.startswith("## ❌ cardscan audit") and "| `meta-llama/Llama-3.1-8B` | not-gated | error |" in text
    data = json.loads(doc.read_text())
    assert data["summary"]["counts"]["repos"] == 3 and len(data["repos"]) == 3
    page = audit(emu, sqlite_db, *args, "--format", "html")
    assert "<h1>cardscan audit run 2" in page.stdout


def test_audit_report_data_shape(emu: HubEmulator, sqlite_db: str) -> None:
    from cardscan.audit.report import audit_report_data

    audit(emu, sqlite_db, "openai-community/gpt2", "org/no-readme")
    commit_files(emu, "org/no-readme", {"x.txt": b"1"})
    audit(emu, sqlite_db, "openai-community/gpt2", "org/no-readme")
    with open_store(sqlite_db) as store:
        run = store.runs(limit=1)[0]
        data = audit_report_data(store, run)
    assert set(data) == {"schema_version", "run", "previous_run", "tiles", "rows", "diff"}
    assert [t["id"] for t in data["tiles"]] == ["repos", "violating", "warnings", "failed", "unchanged", "changes"]
    row = {r["repo"]: r for r in data["rows"]}["org/no-readme"]
    assert [p["run_id"] for p in row["trend"]] == [1, 2] and row["trend"][0]["commit"] != row["trend"][1]["commit"]
    assert {"repo": "org/no-readme", "kind": "commit"}.items() <= data["diff"][0].items()


def test_notify_posts_only_when_something_changed_or_violates(emu: HubEmulator, sqlite_db: str) -> None:
    posted: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            posted.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        audit(emu, sqlite_db, "openai-community/gpt2", "--notify", url)
        assert (len(posted) == 1 and "openai-community" not in posted[0]["text"]) or posted[0]["text"]
        audit(emu, sqlite_db, "openai-community/gpt2", "--notify", url)
        assert len(posted) == 1  # nothing changed, nothing violates: silent
        set_license(emu, "openai-community/gpt2", "apache-2.0")
        audit(emu, sqlite_db, "openai-community/gpt2", "--notify", url)
        assert len(posted) == 2 and "licence changed: mit → apache-2.0" in posted[1]["text"]
        assert posted[1]["cardscan"]["change_count"] == 2  # commit + licence
    finally:
        server.shutdown()


def test_listing_pagination_sort_and_limit(emu: HubEmulator) -> None:
    emu.listing_page_size = 3  # type: ignore[attr-defined]
    for i, repo in enumerate(["org/no-readme", "org/variants", "org/bin-only"]):
        set_stats(emu, repo, downloads=1000 - i)
    config = HubConfig(endpoint=emu.url, token=None)
    stats = HubStats()
    heads = list(list_models(make_session(), config, ListingQuery(author="org"), stats))
    assert len(heads) == 4 and all(h.sha for h in heads) and stats.requests == 2  # org/private stays hidden
    top = list(list_models(make_session(), config, ListingQuery(author="org", sort="downloads", limit=2)))
    assert [h.repo_id for h in top] == ["org/no-readme", "org/variants"]
    gguf = list(list_models(make_session(), config, ListingQuery(filters=("gguf",), search="llama")))
    assert [h.repo_id for h in gguf] == ["TheBloke/Llama-2-7B-GGUF"]


def test_default_command_and_help_still_work() -> None:
    assert "--from-file" in cli("--help").stdout
    result = cli(str(ROOT / "examples" / "llama-2-7b"), "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)[0]["parameters"]["total"] == 6_738_415_616
    assert "--policy" in cli("audit", "--help").stdout
