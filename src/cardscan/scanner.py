"""The public entry point: `scan("org/name")` → `ScanResult`. Drives the one-way pipeline for each repo —
source → select → fetch → parse (interpret) for the top level and each part → combine → estimate — and turns every
failure into a result with a reason, so one bad repo never ends a batch. Rendering is the caller's (cli.py)."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
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
from cardscan.sources.registry import SharedSession, open_source
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
    seconds = round(time.perf_counter() - started, 4)
    io = IOReport(stats.requests, stats.bytes_read, stats.retries, seconds, **stats.buckets())
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
    return estimate(_measured(combined), options)


def _measured(parsed: Parsed) -> Parsed:
    """A repo where nothing could be counted is a `no_weights` failure (exit 8), not an ok result showing 0;
    what was read (card, alternatives, notes) stays in the result."""
    r = parsed.result
    if r.parameters is not None and r.parameters.total:
        return parsed
    w = r.weights
    found = ", ".join(f"{a.name} ({a.format})" for a in w.alternatives) if w else ""
    if w is not None and w.format and w.bytes:  # read but not countable (a legacy pickle): say what it is
        message = f"{w.bytes:,} bytes of {w.format} weights whose tensors cardscan cannot count"
    else:
        message = "no weights cardscan can read" + (f" (found only {found})" if found else "")
    message += " and no parameter count from config.json or the model card"
    return replace(parsed, result=replace(r, error=Failure(ErrorCode.NO_WEIGHTS.value, message)))


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


DEFAULT_WORKERS = 32  # 1,000 repos at 50 ms: 27.4 s with 8 workers, 16.1 s with 16, 12.7 s with 32 (bench/peers.py)


def iter_scan(
    targets: Iterable[str],
    options: ScanOptions | None = None,
    *,
    workers: int = DEFAULT_WORKERS,
    session: Any = None,
) -> Iterator[tuple[int, ScanResult]]:
    """Scan inputs concurrently over one connection pool, yielding (input index, result) as each finishes.

    At most `2 × workers` scans are in flight, so memory stays flat however long `targets` is (it may be a
    generator). Stopping the iteration (or Ctrl-C) cancels what has not started.
    """
    options = options or ScanOptions()
    if session is None and not options.is_offline():
        # One pool for the batch, sized to what is in flight: each scan reads several files at once.
        session = SharedSession(pool_maxsize=max(16, 4 * workers))
    if isinstance(session, SharedSession) and isinstance(targets, Sequence):
        session.warm(targets[: max(1, workers)], options)  # handshakes overlap the first model-info calls
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="cardscan-scan")
    pending: dict[Future[ScanResult], int] = {}
    try:
        for i, target in enumerate(targets):
            pending[pool.submit(scan, target, options, session=session)] = i
            if len(pending) >= 2 * max(1, workers):
                yield from _drain(pending, FIRST_COMPLETED)
        yield from _drain(pending, ALL_COMPLETED)
    finally:
        # Queued scans are cancelled; running ones are abandoned (they end on their own, bounded by the timeout).
        pool.shutdown(wait=False, cancel_futures=True)


def _drain(pending: dict[Future[ScanResult], int], until: str) -> Iterator[tuple[int, ScanResult]]:
    """Yield finished scans: the first batch that completes, or all of them."""
    while pending:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            yield pending.pop(future), future.result()
        if until == FIRST_COMPLETED:
            return


def scan_many(
    targets: Sequence[str],
    options: ScanOptions | None = None,
    *,
    workers: int = DEFAULT_WORKERS,
    session: Any = None,
    on_result: Callable[[int, ScanResult], None] | None = None,
) -> list[ScanResult]:
    """Scan many inputs concurrently over one connection pool; results come back in input order.

    Ctrl-C raises `Interrupted`, which carries every finished result and an `interrupted` error for the rest."""
    options = options or ScanOptions()
    results: list[ScanResult | None] = [None] * len(targets)
    try:
        for i, result in iter_scan(targets, options, workers=workers, session=session):
            results[i] = result
            if on_result:
                on_result(i, result)
    except KeyboardInterrupt:
        raise Interrupted(_fill_interrupted(targets, results, options)) from None
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
        r if r is not None else ScanResult(str(t), str(t), options.revision, None, error=failure)
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
