"""`cardscan audit`, `cardscan history`, `cardscan diff`: typer wiring only, heavy imports inside the commands.

`register(app)` adds the three commands to cardscan's app; `cardscan ORG/NAME …` keeps working because the app's group
sends an argument list that does not start with a command name to `scan` (cli._DefaultToScan).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

EXIT_HELP = """Exit codes: 0 nothing violates; 1 a policy error (warnings only with --strict); 2 bad input or usage
(invalid target lines, policy errors, a run of the same catalogue already in progress); 3–9 a repo could not be
scanned (cardscan's scan codes, the worst wins; --allow-scan-errors ignores them); 130 interrupted (rerun to
resume)."""


class AuditFormat(str, Enum):
    table = "table"
    markdown = "markdown"
    json = "json"
    jsonl = "jsonl"
    junit = "junit"
    html = "html"


class Sort(str, Enum):
    downloads = "downloads"
    likes = "likes"
    lastModified = "lastModified"


class ViewFormat(str, Enum):
    table = "table"
    markdown = "markdown"
    json = "json"


def register(app: typer.Typer) -> None:
    """Add `audit`, `history` and `diff` to cardscan's app (its group sends any other first word to `scan`)."""
    settings = app.info.context_settings
    for info in app.registered_commands:
        if info.context_settings is None:
            info.context_settings = settings
        if info.epilog is None:
            info.epilog = "Scheduled audits: cardscan audit --help · cardscan history --help · cardscan diff --help"
    app.command("audit", context_settings=settings, epilog=EXIT_HELP)(audit)
    app.command("history", context_settings=settings)(history)
    app.command("diff", context_settings=settings)(diff)


def audit(
    targets: Annotated[
        Optional[list[str]],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Argument(help="Repo ids (org/name or org/name@revision), Hub URLs or local folders.", show_default=False),
    ] = None,
    from_file: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--from-file", "-f", help="Targets file, one per line (org/name[@rev]; '-' = stdin; # comments)."),
    ] = None,
    column: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Read the targets from this column of a CSV --from-file."),
    ] = None,
    author: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--author", help="Audit every model of this user/org on the Hub (repeatable)."),
    ] = None,
    search: Annotated[Optional[str], typer.Option(help="Hub listing: repo ids containing this text.")] = None,  # noqa: UP045
    filter_: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--filter", help="Hub listing: only models with this tag (text-generation, gguf…; repeatable)."),
    ] = None,
    sort: Annotated[Optional[Sort], typer.Option(help="Hub listing order (descending).")] = None,  # noqa: UP045
    limit: Annotated[Optional[int], typer.Option(min=1, help="Hub listing: at most this many models.")] = None,  # noqa: UP045
    shard: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Audit only shard I of N (I/N, 0-based; a stable split by repo id hash)."),
    ] = None,
    policy: Annotated[Optional[Path], typer.Option(help="Policy YAML (docs/policy.md).")] = None,  # noqa: UP045
    ignore_file: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="Accepted exceptions: repo, rule, reason, expires (docs/policy.md)."),
    ] = None,
    db: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="History database: sqlite:///path (default: user data dir) or postgresql://…"),
    ] = None,
    name: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Run name (default: derived from the targets and shard); resume and diff match on it."),
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Re-read every repo, even when its commit has not moved.")
    ] = False,
    output_format: Annotated[AuditFormat, typer.Option("--format", help="Output format.")] = AuditFormat.table,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file.")] = None,  # noqa: UP045
    junit: Annotated[Optional[Path], typer.Option(help="Also write JUnit XML here.")] = None,  # noqa: UP045
    summary: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="Also write the markdown summary here (e.g. $GITHUB_STEP_SUMMARY)."),
    ] = None,
    notify: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="POST a JSON summary (Slack-compatible `text`) here when something changed or violates."),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail the audit too (exit 1).")] = False,
    allow_scan_errors: Annotated[
        bool, typer.Option("--allow-scan-errors", help="Repos that cannot be scanned do not set the exit code.")
    ] = False,
    revision: Annotated[str, typer.Option("--revision", "-r", help="Revision for targets without @rev.")] = "main",
    token: Annotated[Optional[str], typer.Option(help="Hub token (default: HF_TOKEN).", show_default=False)] = None,  # noqa: UP045
    workers: Annotated[int, typer.Option(min=1, max=128, help="Repos read at once.")] = 32,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for a Hub connection or read.")] = 10.0,
    retries: Annotated[int, typer.Option(min=0, max=10, help="Retries of a failed Hub request.")] = 4,
) -> None:
    """Audit a catalogue against a policy, record history, and report what changed since the last run."""
    from cardscan.audit.command import AuditArgs, run_command

    args = AuditArgs(
        targets=tuple(targets or ()), files=tuple(from_file or ()), column=column, authors=tuple(author or ()),
        search=search, filters=tuple(filter_ or ()), sort=sort.value if sort else None, limit=limit, shard=shard,
        policy=policy, ignore_file=ignore_file, db=db, name=name, full=full, fmt=output_format.value, output=output,
        junit=junit, summary=summary, notify=notify, strict=strict, allow_scan_errors=allow_scan_errors,
        revision=revision, token=token, workers=workers, timeout=timeout, retries=retries,
    )  # fmt: skip
    raise typer.Exit(run_command(args))


def history(
    repo: Annotated[str, typer.Argument(help="Repo id (org/name or org/name@revision).")],
    db: Annotated[Optional[str], typer.Option(help="History database URL.")] = None,  # noqa: UP045
    output_format: Annotated[ViewFormat, typer.Option("--format", help="Output format.")] = ViewFormat.table,
    limit: Annotated[int, typer.Option(min=1, help="Most recent runs to show.")] = 30,
) -> None:
    """One repo's figures across audit runs: commit, parameters, weights, licence, violations."""
    from cardscan.audit.command import history_command

    raise typer.Exit(history_command(repo, db, output_format.value, limit))


def diff(
    run_a: Annotated[Optional[int], typer.Argument(help="Older run (default: the one before RUN_B).")] = None,  # noqa: UP045
    run_b: Annotated[Optional[int], typer.Argument(help="Newer run (default: the latest).")] = None,  # noqa: UP045
    db: Annotated[Optional[str], typer.Option(help="History database URL.")] = None,  # noqa: UP045
    name: Annotated[Optional[str], typer.Option(help="Only runs of this name.")] = None,  # noqa: UP045
    output_format: Annotated[ViewFormat, typer.Option("--format", help="Output format.")] = ViewFormat.table,
) -> None:
    """What changed between two audit runs (default: the last two finished runs)."""
    from cardscan.audit.command import diff_command

    raise typer.Exit(diff_command(run_a, run_b, db, name, output_format.value))
