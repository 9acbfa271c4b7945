"""Audit history: runs, scan results and per-run repo rows in SQLite (default) or PostgreSQL, one schema.

Every finished repo is committed on its own, so a killed audit loses nothing it finished and the next start with the
same run name resumes it. A run name is held by a lock (a file lock next to the SQLite file, a session advisory lock
in PostgreSQL) that dies with its process: two audits of one catalogue never interleave, a crashed one never blocks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
# One list of migrations for both databases; `{id}` is the auto-increment primary key type of each.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE runs (
            id {id} PRIMARY KEY,
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            policy_digest TEXT,
            spec TEXT NOT NULL,
            cardscan_version TEXT
        )""",
        "CREATE INDEX runs_by_name ON runs (name, id)",
        """CREATE TABLE results (
            id {id} PRIMARY KEY,
            repo TEXT NOT NULL,
            revision TEXT NOT NULL,
            commit_sha TEXT,
            ok INTEGER NOT NULL,
            error_code TEXT,
            scanned_at TEXT NOT NULL,
            hub TEXT NOT NULL,
            facts TEXT NOT NULL,
            record TEXT NOT NULL
        )""",
        "CREATE INDEX results_by_repo ON results (repo, revision, ok, id)",
        """CREATE TABLE judgments (
            result_id BIGINT NOT NULL REFERENCES results (id),
            rules_digest TEXT NOT NULL,
            outcomes TEXT NOT NULL,
            PRIMARY KEY (result_id, rules_digest)
        )""",
        """CREATE TABLE run_repos (
            run_id BIGINT NOT NULL REFERENCES runs (id),
            repo TEXT NOT NULL,
            revision TEXT NOT NULL,
            result_id BIGINT NOT NULL REFERENCES results (id),
            reused INTEGER NOT NULL,
            commit_sha TEXT,
            ok INTEGER NOT NULL,
            errors INTEGER NOT NULL,
            warnings INTEGER NOT NULL,
            facts TEXT NOT NULL,
            outcomes TEXT NOT NULL,
            finished_at TEXT NOT NULL,
            PRIMARY KEY (run_id, repo, revision)
        )""",
        "CREATE INDEX run_repos_by_repo ON run_repos (repo, run_id)",
    ),
}


class StoreError(Exception):
    """A database that cannot be opened, migrated or locked; the message says what to do."""


class RunLocked(StoreError):
    """Another live audit holds this run name."""


@dataclass(frozen=True)
class RunInfo:
    """One audit run."""

    id: int
    """Run number (increasing)."""
    name: str
    """The catalogue's identity (targets + shard, or --name); resume and diff match on it."""
    status: str
    """running (or interrupted: resumable) | finished."""
    started_at: str
    """UTC ISO time the run started."""
    finished_at: str | None
    """UTC ISO time it finished."""
    spec: dict[str, Any]
    """What was asked: targets, listing query, shard, policy file."""


@dataclass(frozen=True)
class RepoRow:
    """One repo of one run, as stored (facts are the small figures diff and history compare)."""

    run_id: int
    repo: str
    revision: str
    result_id: int
    reused: bool
    commit: str | None
    ok: bool
    errors: int
    warnings: int
    facts: dict[str, Any]
    outcomes: list[dict[str, Any]]
    finished_at: str

    @property
    def key(self) -> str:
        """`repo` or `repo@revision`, as targets name it."""
        return self.repo if self.revision == "main" else f"{self.repo}@{self.revision}"


def now() -> str:
    """UTC now, ISO 8601 with seconds."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def default_url() -> str:
    """`sqlite:///<user data dir>/cardscan/audit.db` (platformdirs when installed, else XDG_DATA_HOME)."""
    try:
        from platformdirs import user_data_dir

        base = Path(user_data_dir("cardscan", appauthor=False))
    except ImportError:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "cardscan"
    return f"sqlite:///{base / 'audit.db'}"


def open_store(url: str | None) -> Store:
    """A store for `sqlite:///path`, a bare path, or `postgresql://…` (needs the `postgres` extra)."""
    url = url or os.environ.get("CARDSCAN_AUDIT_DB") or default_url()
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStore(url)
    if url.startswith("sqlite:///"):
        return SqliteStore(Path(url[len("sqlite:///") :]))
    if "://" in url:
        raise StoreError(f"unsupported --db {url!r}: use sqlite:///path or postgresql://…")
    return SqliteStore(Path(url))


class Store:
    """What the audit needs from a database; subclasses supply the connection, placeholders and locking."""

    placeholder = "?"
    id_type = "INTEGER"
    collate = ""
    """Byte-order collation for ORDER BY, so diff's merge sees Python's string order."""
    url = ""

    def __init__(self) -> None:
        self.conn: Any = None

    # -- subclass hooks ---------------------------------------------------------------------------------------
    def _begin(self) -> None:
        raise NotImplementedError

    def lock_run(self, name: str) -> None:
        """Hold `name` for this process (RunLocked when another live audit holds it)."""
        raise NotImplementedError

    def unlock_run(self, name: str) -> None:
        raise NotImplementedError

    def _stream(self, sql: str, args: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        raise NotImplementedError

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -----------------------------------------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    def _one(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        cur = self.conn.cursor()
        cur.execute(self._sql(sql), tuple(args))
        row: tuple[Any, ...] | None = cur.fetchone()  # DB-API drivers are untyped here
        cur.close()
        return row

    def _write(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Run statements in one transaction; returns each statement's generated id (RETURNING id) or None."""
        self._begin()
        out: list[Any] = []
        try:
            cur = self.conn.cursor()
            for sql, args in statements:
                cur.execute(self._sql(sql), tuple(args))
                out.append(cur.fetchone()[0] if "RETURNING" in sql else None)
            cur.close()
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        return out

    def migrate(self) -> None:
        """Create or upgrade the schema (serialised by the database's own write lock)."""
        self._begin()
        try:
            cur = self.conn.cursor()
            cur.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
            cur.execute("SELECT MAX(version) FROM schema_migrations")
            current = cur.fetchone()[0] or 0
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"history database {self.url} has schema v{current}, newer than this cardscan (v{SCHEMA_VERSION}):"
                    " upgrade cardscan"
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    cur.execute(statement.format(id=self.id_type))
                cur.execute(self._sql("INSERT INTO schema_migrations VALUES (?, ?)"), (version, now()))
            cur.close()
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise

    def schema_version(self) -> int:
        row = self._one("SELECT MAX(version) FROM schema_migrations")
        return int(row[0] or 0) if row else 0

    # -- runs ---------------------------------------------------------------------------------------------------
    def start_run(self, name: str, spec: dict[str, Any], policy_digest: str | None) -> tuple[RunInfo, bool]:
        """Resume the unfinished run of this name (True), or start a new one (False). Lock the name first."""
        row = self._one("SELECT id FROM runs WHERE name = ? AND status = 'running' ORDER BY id DESC LIMIT 1", (name,))
        if row is not None:
            return self.run(int(row[0])), True
        from cardscan.audit import cardscan_version

        (run_id,) = self._write(
            [
                (
                    "INSERT INTO runs (name, status, started_at, policy_digest, spec, cardscan_version) "
                    "VALUES (?, 'running', ?, ?, ?, ?) RETURNING id",
                    (name, now(), policy_digest, json.dumps(spec, sort_keys=True), cardscan_version()),
                )
            ]
        )
        return self.run(int(run_id)), False

    def finish_run(self, run_id: int) -> None:
        self._write([("UPDATE runs SET status = 'finished', finished_at = ? WHERE id = ?", (now(), run_id))])

    def run(self, run_id: int) -> RunInfo:
        row = self._one("SELECT id, name, status, started_at, finished_at, spec FROM runs WHERE id = ?", (run_id,))
        if row is None:
            raise StoreError(f"no run {run_id} in {self.url}")
        return RunInfo(int(row[0]), row[1], row[2], row[3], row[4], json.loads(row[5]))

    def runs(self, name: str | None = None, finished_only: bool = True, limit: int = 50) -> list[RunInfo]:
        """Latest runs first."""
        where = ["status = 'finished'"] if finished_only else []
        args: list[Any] = []
        if name is not None:
            where.append("name = ?")
            args.append(name)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        sql = f"SELECT id FROM runs {clause} ORDER BY id DESC LIMIT {int(limit)}"
        return [self.run(int(r[0])) for r in self._stream(sql, args)]

    def previous_run(self, run: RunInfo) -> RunInfo | None:
        """The last finished run of the same name before `run`."""
        row = self._one(
            "SELECT id FROM runs WHERE name = ? AND status = 'finished' AND id < ? ORDER BY id DESC LIMIT 1",
            (run.name, run.id),
        )
        return self.run(int(row[0])) if row else None

    # -- results ------------------------------------------------------------------------------------------------
    def last_good(self, repo: str, revision: str) -> tuple[int, str | None, dict[str, Any]] | None:
        """(result id, commit, hub facts) of the newest successful scan of this target."""
        row = self._one(
            "SELECT id, commit_sha, hub FROM results WHERE repo = ? AND revision = ? AND ok = 1 "
            "ORDER BY id DESC LIMIT 1",
            (repo, revision),
        )
        if row is None:
            return None
        return int(row[0]), row[1], json.loads(row[2])

    def record(self, result_id: int) -> dict[str, Any]:
        row = self._one("SELECT record FROM results WHERE id = ?", (result_id,))
        if row is None:
            raise StoreError(f"no stored result {result_id}")
        record: dict[str, Any] = json.loads(row[0])  # commit_repo stores a result dict
        return record

    def done(self, run_id: int, repo: str, revision: str) -> bool:
        """Whether this run already committed this target (resume skips it)."""
        return (
            self._one(
                "SELECT 1 FROM run_repos WHERE run_id = ? AND repo = ? AND revision = ?", (run_id, repo, revision)
            )
            is not None
        )

    def reused(self, result_id: int, digest: str) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
        """A stored result's facts, and the verdicts cached for it under these rules (None: judge it again)."""
        row = self._one("SELECT facts FROM results WHERE id = ?", (result_id,))
        if row is None:
            raise StoreError(f"no stored result {result_id}")
        cached = self._one(
            "SELECT outcomes FROM judgments WHERE result_id = ? AND rules_digest = ?", (result_id, digest)
        )
        return json.loads(row[0]), (json.loads(cached[0]) if cached else None)

    def commit_repo(
        self,
        run_id: int,
        repo: str,
        revision: str,
        record: dict[str, Any] | None,
        reused_id: int | None,
        facts: dict[str, Any],
        outcomes: list[dict[str, Any]],
        judged: tuple[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        """Store one finished repo in one transaction: a new scan `record` (or the id of a reused one), its run row,
        and `judged` = (rules digest, verdicts before exceptions) to cache for the next run."""
        errors = sum(1 for o in outcomes if o["status"] == "fail" and o["severity"] == "error")
        warnings = sum(1 for o in outcomes if o["status"] == "fail" and o["severity"] == "warning")
        ok = 1 if facts.get("error_code") is None else 0
        self._begin()
        try:
            cur = self.conn.cursor()
            result_id = reused_id
            if record is not None:
                cur.execute(
                    self._sql(
                        "INSERT INTO results (repo, revision, commit_sha, ok, error_code, scanned_at, hub, facts, "
                        "record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
                    ),
                    (repo, revision, facts.get("commit"), ok, facts.get("error_code"), now(),
                     json.dumps(record.get("hub") or {}), json.dumps(facts), json.dumps(record)),
                )  # fmt: skip
                result_id = cur.fetchone()[0]
            if judged is not None:
                cur.execute(
                    self._sql(
                        "INSERT INTO judgments (result_id, rules_digest, outcomes) VALUES (?, ?, ?) "
                        "ON CONFLICT DO NOTHING"
                    ),
                    (result_id, judged[0], json.dumps(judged[1])),
                )
            cur.execute(
                self._sql(
                    "INSERT INTO run_repos (run_id, repo, revision, result_id, reused, commit_sha, ok, errors, "
                    "warnings, facts, outcomes, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                (run_id, repo, revision, result_id, 0 if record is not None else 1, facts.get("commit"), ok, errors,
                 warnings, json.dumps(facts, sort_keys=True), json.dumps(outcomes), now()),
            )  # fmt: skip
            cur.close()
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise

    def repo_rows(self, run_id: int) -> Iterator[RepoRow]:
        """Every repo of a run, ordered by repo (streamed)."""
        sql = (
            "SELECT run_id, repo, revision, result_id, reused, commit_sha, ok, errors, warnings, facts, outcomes, "
            f"finished_at FROM run_repos WHERE run_id = ? ORDER BY repo{self.collate}, revision{self.collate}"
        )
        for row in self._stream(sql, (run_id,)):
            yield _repo_row(row)

    def history(self, repo: str, revision: str | None = None, limit: int = 100) -> list[tuple[RunInfo, RepoRow]]:
        """One repo's rows across runs, oldest first."""
        sql = (
            "SELECT run_id, repo, revision, result_id, reused, commit_sha, ok, errors, warnings, facts, outcomes, "
            "finished_at FROM run_repos WHERE repo = ?" + (" AND revision = ?" if revision else "")
            + f" ORDER BY run_id DESC LIMIT {int(limit)}"
        )  # fmt: skip
        rows = [_repo_row(r) for r in self._stream(sql, (repo, revision) if revision else (repo,))]
        return [(self.run(r.run_id), r) for r in reversed(rows)]

    def counts(self, run_id: int) -> dict[str, int]:
        """Totals of a run: repos, failed scans, reused, errors, warnings, violating repos."""
        row = self._one(
            "SELECT COUNT(*), SUM(1 - ok), SUM(reused), SUM(errors), SUM(warnings), "
            "SUM(CASE WHEN errors > 0 THEN 1 ELSE 0 END), SUM(CASE WHEN warnings > 0 THEN 1 ELSE 0 END) "
            "FROM run_repos WHERE run_id = ?",
            (run_id,),
        )
        keys = ("repos", "failed", "unchanged", "errors", "warnings", "violating", "warning_repos")
        return {k: int(v or 0) for k, v in zip(keys, row or (), strict=False)}


def _repo_row(row: tuple[Any, ...]) -> RepoRow:
    return RepoRow(int(row[0]), row[1], row[2], int(row[3]), bool(row[4]), row[5], bool(row[6]), int(row[7]),
                   int(row[8]), json.loads(row[9]), json.loads(row[10]), row[11])  # fmt: skip


class SqliteStore(Store):
    """stdlib sqlite3 in WAL mode: readers never block the writer; writers queue on a busy timeout."""

    busy_timeout_ms = 60_000

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path.expanduser()
        self.url = f"sqlite:///{self.path}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(str(self.path), timeout=self.busy_timeout_ms / 1000, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")
            self.conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a committed repo survives a process kill
            self.conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open history database {self.path}: {exc}") from None
        self._locks: dict[str, Any] = {}

    def _begin(self) -> None:
        # IMMEDIATE takes the write lock up front, so two writers wait on busy_timeout instead of deadlocking.
        self.conn.execute("BEGIN IMMEDIATE")

    def _stream(self, sql: str, args: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        cur = self.conn.execute(sql, tuple(args))
        try:
            yield from cur
        finally:
            cur.close()

    def lock_run(self, name: str) -> None:
        digest = hashlib.sha1(name.encode()).hexdigest()[:16]
        lock_path = self.path.with_name(f"{self.path.name}.{digest}.lock")
        fh = lock_path.open("a+")
        if sys.platform != "win32":
            import fcntl

            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip()
                fh.close()
                raise RunLocked(
                    f"another audit of {name!r} is running on {self.path} ({holder or 'pid unknown'}); "
                    "wait for it to finish, or give this one another --name / --db"
                ) from None
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()} since {now()}")
            fh.flush()
        self._locks[name] = fh

    def unlock_run(self, name: str) -> None:
        fh = self._locks.pop(name, None)
        if fh is not None:
            fh.close()

    def close(self) -> None:
        for name in list(self._locks):
            self.unlock_run(name)
        super().close()


class PostgresStore(Store):
    """PostgreSQL through psycopg 3 (`pip install 'cardscan[postgres]'`)."""

    placeholder = "%s"
    id_type = "BIGSERIAL"
    collate = ' COLLATE "C"'

    def __init__(self, url: str) -> None:
        super().__init__()
        try:
            import psycopg
        except ImportError:
            raise StoreError("PostgreSQL history needs psycopg 3: pip install 'cardscan[postgres]'") from None
        self.url = _redact(url)
        try:
            self.conn = psycopg.connect(url, connect_timeout=10)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to {self.url}: {str(exc).strip()}") from None

    def _begin(self) -> None:
        pass  # psycopg opens a transaction on the first statement

    def migrate(self) -> None:
        # Two first runs at once: the advisory lock makes the second wait for the first's CREATE TABLEs.
        with self.conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key("cardscan-migrate"),))
        super().migrate()

    def _stream(self, sql: str, args: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        with self.conn.cursor(name=f"cardscan_{os.getpid()}_{id(sql)}") as cur:
            cur.itersize = 2000
            cur.execute(self._sql(sql), tuple(args))
            yield from cur
        self.conn.commit()

    def lock_run(self, name: str) -> None:
        with self.conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s)", (_lock_key(name),))
            got = cur.fetchone()[0]
        self.conn.commit()
        if not got:
            raise RunLocked(
                f"another audit of {name!r} is running on {self.url}; wait for it to finish, or give this one "
                "another --name"
            )

    def unlock_run(self, name: str) -> None:
        if self.conn is not None:
            with self.conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s)", (_lock_key(name),))
            self.conn.commit()


def _lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for a run name."""
    return int.from_bytes(hashlib.sha1(name.encode()).digest()[:8], "big", signed=True)


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
