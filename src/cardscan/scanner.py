"""The public entry point: `scan("org/name")` → `ScanResult`. Drives the one-way pipeline for each repo —
source → select → fetch → parse (interpret) for the top level and each part → combine → estimate — and turns every
failure into a result with a reason, so one bad repo never ends a batch. Rendering is the caller's (cli.py)."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path
from typing import Any

from cardscan import parts
from cardscan.combine import combine, with_base
from cardscan.errors import ErrorCode, ScanError
from cardscan.estimate.stage import estimate
from cardscan.fetch import Fetched, fetch
from cardscan.interpret import Parsed, interpret
from cardscan.options import ScanOptions
from cardscan.result import Failure, IOReport, ScanResult
from cardscan.select import Selection, select_weights
from cardscan.sources.base import IOStats, Listing, Source
from cardscan.sources.registry import open_source
from cardscan.sources.sub import SubSource
from cardscan.units import count

log = logging.getLogger("cardscan")


def scan(target: str, options: ScanOptions | None = None, *, session: Any = None, depth: int = 0) -> ScanResult:
    """Scan one repo id, Hub URL, local folder or weight file. Never raises for a per-repo problem."""
    options = options or ScanOptions()
    started = time.perf_counter()
    stats = IOStats()
    repo_id, revision = target, options.revision
    listing = None
    try:
        source, repo_id, revision = open_source(target, options, session)
        stats = source.stats
        listing = source.listing()
        result = _scan_listing(source, listing, target, options, session, depth)
        if listing.repo_id.lower() != repo_id.lower():  # the Hub redirected a renamed repo to its new name
            renamed = f"{repo_id} was renamed to {listing.repo_id}; scanned {listing.repo_id} (use the new name)"
            result = replace(result, warnings=(renamed, *result.warnings))
    except ScanError as exc:
        commit = listing.commit if listing else None
        result = ScanResult(
            target, repo_id, revision, commit, error=Failure(exc.code.value, _with_public(exc, listing))
        )
    except Exception as exc:  # a bug in cardscan: one failed result with its traceback, never a dead batch
        log.debug("internal error scanning %s", target, exc_info=True)
        detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        failure = Failure(ErrorCode.INTERNAL.value, f"{type(exc).__name__}: {exc}", detail)
        result = ScanResult(target, repo_id, revision, None, error=failure)
    io = IOReport(stats.requests, stats.bytes_read, stats.retries, round(time.perf_counter() - started, 4))
    return _with_io(result, io)


def _scan_listing(
    source: Source, listing: Listing, target: str, options: ScanOptions, session: Any, depth: int
) -> ScanResult:
    """select → fetch → parse for the top level and each part the repo is made of, combine, then estimate once."""
    fetched = _fetch_top(source, listing, options)
    found = parts.detect(fetched)
    top = interpret(target, fetched)
    part_results = [(part, parsed) for part in found.parts if (parsed := _parse_part(source, part, target)) is not None]
    combined = combine(top, found, part_results)
    if found.adapter is not None and found.adapter.base_model and depth == 0:
        # The base is scanned like any repo (same options and connection pool); only one level deep.
        base = scan(found.adapter.base_model, replace(options, revision="main", file=None), session=session, depth=1)
        combined = with_base(combined, base)
    return estimate(combined, options)


def _fetch_top(source: Source, listing: Listing, options: ScanOptions) -> Fetched:
    """A diffusers pipeline has no top-level weights: read its side files only (model_index.json names the parts);
    if model_index.json turns out unreadable, the repo is read as an ordinary one."""
    if not options.file and parts.is_pipeline(listing):
        fetched = fetch(source, listing, Selection(None, (), "diffusers pipeline"))
        if parts.detect(fetched).kind == "diffusers":
            return fetched
    return fetch(source, listing, select_weights(listing, options.file))


def _parse_part(source: Source, part: parts.Part, target: str) -> Parsed | None:
    """One part folder read like a repo of its own; None when it holds no weights (schedulers, pooling)."""
    sub = SubSource(source, part.folder)
    sub_listing = sub.listing()
    selection = select_weights(sub_listing)
    if selection.chosen is None:
        return None
    return interpret(f"{target}/{part.folder}", fetch(sub, sub_listing, selection))


def scan_many(
    targets: Sequence[str],
    options: ScanOptions | None = None,
    *,
    workers: int = 8,
    session: Any = None,
    on_result: Callable[[int, ScanResult], None] | None = None,
) -> list[ScanResult]:
    """Scan many inputs concurrently over one connection pool; results come back in input order."""
    options = options or ScanOptions()
    # One connection pool for the whole batch, made only when some target is remote.
    remote = any(not Path(t).expanduser().exists() for t in targets)
    if session is None and remote and not options.is_offline():
        from cardscan.sources.http import make_session

        session = make_session()
    results: list[ScanResult | None] = [None] * len(targets)
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="cardscan-scan")
    try:
        futures = {pool.submit(scan, t, options, session=session): i for i, t in enumerate(targets)}
        for future in as_completed(futures):
            i = futures[future]
            results[i] = future.result()
            if on_result:
                on_result(i, results[i])
    except KeyboardInterrupt:
        # Keep what is done: queued scans are cancelled, running ones are abandoned (they end on their own).
        pool.shutdown(wait=False, cancel_futures=True)
        raise Interrupted(_fill_interrupted(targets, results, options)) from None
    pool.shutdown()
    return [r for r in results if r is not None]


class Interrupted(Exception):
    """A batch stopped by Ctrl-C; `results` holds every finished scan and an `interrupted` error for the rest."""

    def __init__(self, results: list[ScanResult]) -> None:
        super().__init__(f"interrupted after {sum(r.ok for r in results)} of {len(results)} scans")
        self.results = results


def _fill_interrupted(
    targets: Sequence[str], results: list[ScanResult | None], options: ScanOptions
) -> list[ScanResult]:
    failure = Failure(ErrorCode.INTERRUPTED.value, "the batch was interrupted before this scan finished")
    return [
        r if r is not None else ScanResult(t, t, options.revision, None, error=failure)
        for t, r in zip(targets, results, strict=True)
    ]


def _with_public(exc: ScanError, listing: Listing | None) -> str:
    """A gated repo still shows its public model info: say what the Hub itself counts while access is pending."""
    hub = listing.hub_parameters if listing is not None else None
    if exc.code not in (ErrorCode.GATED, ErrorCode.UNAUTHORIZED) or not hub:
        return exc.message
    total = sum(hub.values())
    by_dtype = ", ".join(f"{k} {count(v)}" for k, v in sorted(hub.items(), key=lambda kv: -kv[1]))
    return f"{exc.message}. Meanwhile the Hub's public metadata counts {count(total)} stored elements ({by_dtype})"


def _with_io(result: ScanResult, io: IOReport) -> ScanResult:
    return replace(result, io=io)


__all__ = ["Fetched", "Interrupted", "ScanOptions", "scan", "scan_many"]
