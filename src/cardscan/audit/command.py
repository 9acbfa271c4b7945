"""What the audit, history and diff commands do (cli.py only parses options and calls these)."""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cardscan.audit import report
from cardscan.audit.diff import diff_runs
from cardscan.audit.policy import Policy, PolicyError, load_policy, outcome_dict
from cardscan.audit.runner import RepoDone, Tally, run_audit
from cardscan.audit.store import RunInfo, Store, StoreError, open_store
from cardscan.audit.targets import Target, TargetListError, in_shard, parse_shard, parse_target, read_targets, spool
from cardscan.audit.targets import validate as validate_list
from cardscan.errors import EXIT_CODES, ScanError

USAGE = 2
INTERRUPTED = 130


@dataclass(frozen=True)
class AuditArgs:
    """The audit command's options."""

    targets: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    column: str | None = None
    authors: tuple[str, ...] = ()
    search: str | None = None
    filters: tuple[str, ...] = ()
    sort: str | None = None
    limit: int | None = None
    shard: str | None = None
    policy: Path | None = None
    ignore_file: Path | None = None
    db: str | None = None
    name: str | None = None
    full: bool = False
    fmt: str = "table"
    output: Path | None = None
    junit: Path | None = None
    summary: Path | None = None
    notify: str | None = None
    strict: bool = False
    allow_scan_errors: bool = False
    revision: str = "main"
    token: str | None = None
    workers: int = 8
    timeout: float = 10.0
    retries: int = 4

    @property
    def listing(self) -> bool:
        return bool(self.authors or self.search or self.filters or self.sort or self.limit)


class UsageError(Exception):
    """Bad input: reported on stderr, exit 2."""


def _err(message: str) -> None:
    sys.stderr.write(f"cardscan audit: {message.rstrip()}\n")


def run_command(args: AuditArgs) -> int:
    """The whole audit: validate inputs, run, report, notify; returns the exit code."""
    try:
        shard = parse_shard(args.shard) if args.shard else None
        policy = load_policy(args.policy, args.ignore_file)
        lists, total = _validated_lists(args, shard)
    except (UsageError, TargetListError, PolicyError, ValueError, OSError) as exc:
        _err(str(exc))
        return USAGE
    spec = _spec(args, shard)
    name = args.name or "audit-" + hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]
    try:
        store = open_store(args.db)
        store.migrate()
        store.lock_run(name)
    except StoreError as exc:
        _err(str(exc))
        return USAGE
    session = _session(args)
    with store:
        return _audit(store, args, policy, name, spec, _targets(args, lists, shard, session), total, session)


def _audit(
    store: Store,
    args: AuditArgs,
    policy: Policy,
    name: str,
    spec: dict[str, Any],
    targets: Iterator[Target],
    total: int | None,
    session: Any,
) -> int:
    run, resumed = store.start_run(name, spec, _digest(args.policy))
    if resumed:
        sys.stderr.write(f"cardscan audit: resuming interrupted run {run.id} ({name})\n")
    from cardscan.options import ScanOptions

    options = ScanOptions(token=args.token, timeout=args.timeout, retries=args.retries)
    out, close = _open(args.output)
    stream = args.fmt == "jsonl"
    try:
        with _Progress(total if not args.listing else args.limit) as progress:

            def on_repo(done: RepoDone, tally: Tally) -> None:
                if stream:
                    outcomes = [outcome_dict(o) for o in done.outcomes]
                    out.write(report.jsonl_repo_line(done.target.repo_id, done.target.revision, done.facts, outcomes,
                                                     done.reused))  # fmt: skip
                    out.flush()
                progress.update(tally)

            tally = run_audit(store, run, targets, policy, options, full=args.full, workers=args.workers,
                              session=session, on_repo=on_repo)  # fmt: skip
    except KeyboardInterrupt:
        _err(f"interrupted: finished repos are saved; run the same command again to resume run {run.id}")
        return INTERRUPTED
    except ScanError as exc:  # a Hub listing that failed: the run stays open and resumes next time
        _err(f"{exc.message} (run {run.id} kept: rerun to resume)")
        return EXIT_CODES.get(exc.code, 5)
    finally:
        if close:
            out.close()
    store.finish_run(run.id)
    run = store.run(run.id)
    summary = report.summarize(store, run, store.previous_run(run))
    _write_outputs(store, args, summary, tally)
    if args.notify:
        _notify(args.notify, summary, session)
    return report.exit_code(summary, strict=args.strict, allow_scan_errors=args.allow_scan_errors)


def _write_outputs(store: Store, args: AuditArgs, summary: report.Summary, tally: Tally) -> None:
    out, close = _open(args.output, append=args.fmt == "jsonl")
    try:
        if args.fmt == "table":
            out.write(report.render_text(summary))
            out.write(f"requests {tally.requests:,} ({tally.retries:,} retried) · scanned {tally.scanned:,} · "
                      f"reused {tally.unchanged:,}\n")  # fmt: skip
        elif args.fmt == "markdown":
            out.write(report.render_markdown(summary))
        elif args.fmt == "json":
            report.write_json(out, store, summary)
        elif args.fmt == "jsonl":
            report.write_jsonl_tail(out, store, summary)
        elif args.fmt == "junit":
            report.write_junit(out, store, summary, strict=args.strict)
        elif args.fmt == "html":
            out.write(report.render_html(report.audit_report_data(store, summary.run, summary.previous)))
    finally:
        if close:
            out.close()
    if args.junit:
        with args.junit.open("w", encoding="utf-8") as fh:
            report.write_junit(fh, store, summary, strict=args.strict)
    if args.summary:
        with args.summary.open("a", encoding="utf-8") as fh:
            fh.write(report.render_markdown(summary))


def _open(path: Path | None, append: bool = False) -> tuple[IO[str], bool]:
    if path is None:
        return sys.stdout, False
    return path.open("a" if append else "w", encoding="utf-8"), True


def _validated_lists(args: AuditArgs, shard: tuple[int, int] | None) -> tuple[list[Path], int | None]:
    """Check every target line of every source up front; returns re-readable list files and the target count."""
    if not (args.targets or args.files or args.listing):
        raise UsageError("give targets, --from-file or a Hub listing (--author/--search/--filter/--sort)")
    if args.column and not args.files:
        raise UsageError("--column needs --from-file")
    if args.limit and not args.listing:
        raise UsageError("--limit applies to Hub listings")
    bad = []
    for i, text in enumerate(args.targets, 1):
        try:
            parse_target(text, args.revision)
        except ValueError as exc:
            bad.append(f"  argument {i}: {text!r}: {exc}")
    if bad:
        raise UsageError("invalid targets:\n" + "\n".join(bad))
    paths = [spool(f) for f in args.files]
    total = sum(1 for t in args.targets if shard is None or _in(parse_target(t, args.revision), shard))
    for label, path in zip(args.files, paths, strict=True):
        validate_list(path, args.column, "stdin" if label == "-" else label, args.revision)
        total += sum(1 for _ in in_shard(read_targets(path, args.column, args.revision), shard))
    return paths, total


def _in(target: Target, shard: tuple[int, int]) -> bool:
    return any(True for _ in in_shard(iter([target]), shard))


def _targets(args: AuditArgs, lists: list[Path], shard: tuple[int, int] | None, session: Any) -> Iterator[Target]:
    """Every target, streamed: arguments, then list files, then Hub listings; only this shard's."""
    sources: list[Iterator[Target]] = [iter([parse_target(t, args.revision) for t in args.targets])]
    sources += [read_targets(path, args.column, args.revision) for path in lists]
    if args.listing:
        sources.append(_listed(args, session))
    return in_shard(itertools.chain.from_iterable(sources), shard)


def _listed(args: AuditArgs, session: Any) -> Iterator[Target]:
    from cardscan.audit.runner import hub_config
    from cardscan.options import ScanOptions
    from cardscan.sources.listing import ListingQuery, list_models

    config = hub_config(ScanOptions(token=args.token, timeout=args.timeout, retries=args.retries))
    for author in args.authors or (None,):
        query = ListingQuery(author, args.search, args.filters, args.sort, args.limit)
        for head in list_models(session, config, query, with_files=True):
            yield Target(head.repo_id, "main", head.sha, head.gated, head.item)


def _session(args: AuditArgs) -> Any:
    """One connection pool for the run (listing, heads and scans share it)."""
    from cardscan.sources.http import make_session

    return make_session(pool_maxsize=max(32, args.workers * 4))


def _spec(args: AuditArgs, shard: tuple[int, int] | None) -> dict[str, Any]:
    """What identifies a catalogue: the same spec resumes and diffs against the same runs."""
    return {
        "targets": list(args.targets), "files": [str(Path(f).resolve()) if f != "-" else "-" for f in args.files],
        "column": args.column, "authors": list(args.authors), "search": args.search, "filters": list(args.filters),
        "sort": args.sort, "limit": args.limit, "shard": list(shard) if shard else None, "revision": args.revision,
    }  # fmt: skip


def _digest(path: Path | None) -> str | None:
    return hashlib.sha1(path.read_bytes()).hexdigest()[:16] if path else None


def _notify(url: str, summary: report.Summary, session: Any) -> None:
    payload = report.notify_payload(summary)
    if payload is None:
        return
    try:
        reply = session.post(url, json=payload, timeout=10)
        if reply.status_code >= 400:
            _err(f"--notify: the webhook answered HTTP {reply.status_code}")
    except Exception as exc:  # a webhook outage must not fail the audit
        _err(f"--notify failed: {type(exc).__name__}")


class _Progress:
    """done / failed / unchanged, rate and ETA on stderr when it is a terminal; nothing when piped."""

    def __init__(self, total: int | None) -> None:
        self.total = total
        self.live = sys.stderr.isatty()
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=Console(stderr=True), transient=True,
            )  # fmt: skip
            self._progress.start()
            self._task = self._progress.add_task("audit", total=self.total, rate="")
        return self

    def update(self, tally: Tally) -> None:
        if self._progress is None:
            return
        text = f"audit · {tally.failed} failed · {tally.unchanged} unchanged"
        self._progress.update(self._task, completed=tally.done, description=text, rate=f"{tally.rate():.1f} repo/s")

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


# --- history and diff -----------------------------------------------------------------------------------------------


def _view_store(db: str | None) -> Store:
    store = open_store(db)
    store.migrate()
    return store


def _view_store_or_none(db: str | None) -> Store | None:
    """The history store for `history`/`diff`, or None after saying why it cannot be opened."""
    try:
        return _view_store(db)
    except StoreError as exc:
        _err(str(exc))
        return None


def history_command(repo_text: str, db: str | None, fmt: str, limit: int) -> int:
    repo, _, revision = repo_text.partition("@")
    store = _view_store_or_none(db)
    if store is None:
        return USAGE
    with store:
        rows = store.history(repo, revision or None, limit)
    if not rows:
        _err(f"no history for {repo_text} in {store.url}")
        return USAGE
    if fmt == "json":
        sys.stdout.write(json.dumps([{"run": report._run(run), **report.repo_object(r)} for run, r in rows], indent=1))
        sys.stdout.write("\n")
        return 0
    head = ("run", "date", "commit", "parameters", "weight bytes", "dtypes", "quant", "licence", "gated", "status")
    lines: list[tuple[str, ...]] = [head]
    for run, r in rows:
        f = r.facts
        status = (f"{r.errors} errors, {r.warnings} warnings" if r.ok else f"failed: {f.get('error_code')}") + (
            " (reused)" if r.reused else ""
        )
        lines.append((str(run.id), run.started_at[:16].replace("T", " "), (r.commit or "-")[:8],
                      f"{f['parameters']:,}" if f.get("parameters") else "-",
                      f"{f['weight_bytes']:,}" if f.get("weight_bytes") else "-", ",".join(f.get("dtypes") or []) or "-",
                      str(f.get("quantization") or "-"), str(f.get("license") or "-"), str(f.get("gated") or "no"), status))  # fmt: skip
    sys.stdout.write(_table(lines, markdown=fmt == "markdown"))
    return 0


def diff_command(run_a: int | None, run_b: int | None, db: str | None, name: str | None, fmt: str) -> int:
    store = _view_store_or_none(db)
    if store is None:
        return USAGE
    with store:
        try:
            old, new = _pick_runs(store, run_a, run_b, name)
        except (StoreError, UsageError) as exc:
            _err(str(exc))
            return USAGE
        changes = list(diff_runs(store, old, new))
    if fmt == "json":
        sys.stdout.write(json.dumps({"from": report._run(old), "to": report._run(new),
                                     "changes": [report._change(c) for c in changes]}, indent=1) + "\n")  # fmt: skip
        return 0
    title = f"changes from run {old.id} to run {new.id} ({new.name}): {len(changes)}"
    bullet = "- " if fmt == "markdown" else "  "
    sys.stdout.write("\n".join([title, *(bullet + report.change_text(c) for c in changes)]) + "\n")
    return 0


def _pick_runs(store: Store, run_a: int | None, run_b: int | None, name: str | None) -> tuple[RunInfo, RunInfo]:
    if run_b is not None:
        new = store.run(run_b)
    else:
        latest = store.runs(name, limit=1)
        if not latest:
            raise UsageError(f"no finished audit runs in {store.url}")
        new = latest[0]
    if run_a is not None:
        old = store.run(run_a)
        if run_b is None and old.id == new.id:
            raise UsageError(f"run {old.id} is the latest run: give an older one")
        return (old, new) if old.id < new.id else (new, old)
    before = store.previous_run(new)
    if before is None:
        raise UsageError(f"run {new.id} ({new.name}) has no earlier finished run to compare with")
    return before, new


def _table(rows: Sequence[Sequence[str]], markdown: bool = False) -> str:
    if markdown:
        out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return "\n".join(out) + "\n"
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows) + "\n"
