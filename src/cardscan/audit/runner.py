"""One audit run: for each target, reuse the stored result when its commit has not moved, else scan it; evaluate the
policy on the stored data; commit the repo. Targets stream through a bounded pool, so memory stays flat in the list
length, and every database write happens on the calling thread (one connection, one writer).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any

from cardscan.audit.diff import facts_of
from cardscan.audit.policy import Outcome, Policy, apply_ignores, judge, outcome_dict, rules_digest
from cardscan.audit.store import RunInfo, Store
from cardscan.audit.targets import Target
from cardscan.errors import ScanError
from cardscan.options import ScanOptions

CONFIG_LIMIT = 4 << 20
HEAD_FACTOR = 4  # freshness checks in flight per scan worker  # config.json of the largest models is far below this


@dataclass(frozen=True)
class RepoDone:
    """One finished target, as handed to the output stream."""

    target: Target
    """What was audited."""
    reused: bool
    """True when the stored result was reused (commit unchanged)."""
    facts: dict[str, Any]
    """The figures diff and history compare."""
    outcomes: list[Outcome]
    """The policy's verdicts."""
    requests: int
    """HTTP requests this target cost in this run."""


@dataclass
class Tally:
    """Running totals of one audit (what the progress line and the summary show)."""

    done: int = 0
    failed: int = 0
    unchanged: int = 0
    scanned: int = 0
    resumed: int = 0
    requests: int = 0
    retries: int = 0
    """Requests retried after 429 / 5xx / resets (a sign of the Hub's rate limits)."""
    started: float = field(default_factory=time.monotonic)

    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0


@dataclass(frozen=True)
class _Work:
    """What a worker hands back: a reused result id or a new record, plus its request cost."""

    target: Target
    reused_id: int | None
    record: dict[str, Any] | None
    requests: int
    retries: int = 0


def run_audit(
    store: Store,
    run: RunInfo,
    targets: Iterable[Target],
    policy: Policy,
    options: ScanOptions,
    *,
    full: bool = False,
    workers: int = 8,
    session: Any = None,
    on_repo: Callable[[RepoDone, Tally], None] | None = None,
) -> Tally:
    """Audit every target into `run` (targets the run already holds are skipped: that is how a rerun resumes)."""
    tally = Tally()
    config = None if options.is_offline() else hub_config(options)
    inflight: set[Future[_Work]] = set()
    # Freshness checks are one small request each: they run HEAD_FACTOR× wider than the scans, which a semaphore
    # keeps at `workers` (an unchanged catalogue is bound by round trips, a changed one by scans).
    threads = max(1, workers) * HEAD_FACTOR
    scans = threading.BoundedSemaphore(max(1, workers))
    cap = threads * 2
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="cardscan-audit")
    try:
        for target in _pending(store, run, targets, tally):
            previous = None if full or target.revision == "local" else store.last_good(target.repo_id, target.revision)
            inflight.add(pool.submit(_work, target, previous, options, session, config, scans))
            if len(inflight) >= cap:
                finished, inflight = _drain(inflight, FIRST_COMPLETED)
                _commit_all(store, run, policy, finished, tally, on_repo)
        while inflight:  # the tail: still commit each repo as soon as it finishes
            finished, inflight = _drain(inflight, FIRST_COMPLETED)
            _commit_all(store, run, policy, finished, tally, on_repo)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return tally


def _pending(store: Store, run: RunInfo, targets: Iterable[Target], tally: Tally) -> Iterator[Target]:
    """Targets this run has not committed yet (each once)."""
    for target in targets:
        if store.done(run.id, target.repo_id, target.revision):
            tally.resumed += 1
            continue
        yield target


def _drain(inflight: set[Future[_Work]], how: str) -> tuple[set[Future[_Work]], set[Future[_Work]]]:
    done, rest = wait(inflight, return_when=how)
    return set(done), set(rest)


def _commit_all(
    store: Store,
    run: RunInfo,
    policy: Policy,
    finished: set[Future[_Work]],
    tally: Tally,
    on_repo: Callable[[RepoDone, Tally], None] | None,
) -> None:
    digest = rules_digest(policy)
    for future in finished:
        work = future.result()
        target = work.target
        record, facts, judged, cache = work.record, None, None, None
        if work.reused_id is not None:
            facts, cached = store.reused(work.reused_id, digest)
            judged = [Outcome(**o) for o in cached] if cached is not None else None
            if judged is None:
                record = store.record(work.reused_id)
        if facts is None:
            facts = facts_of(record or {})
        if judged is None:
            judged = judge(policy, record or {})
            cache = (digest, [outcome_dict(o) for o in judged])
        outcomes = apply_ignores(policy, target.key, judged)
        store.commit_repo(run.id, target.repo_id, target.revision, work.record, work.reused_id, facts,
                          [outcome_dict(o) for o in outcomes], cache)  # fmt: skip
        tally.done += 1
        tally.failed += facts["error_code"] is not None
        tally.unchanged += work.reused_id is not None
        tally.scanned += work.record is not None
        tally.requests += work.requests
        tally.retries += work.retries
        if on_repo is not None:
            on_repo(RepoDone(target, work.reused_id is not None, facts, outcomes, work.requests), tally)


def _work(
    target: Target,
    previous: tuple[int, str | None, dict[str, Any]] | None,
    options: ScanOptions,
    session: Any,
    config: Any,
    scans: threading.BoundedSemaphore,
) -> _Work:
    """Decide reuse or scan for one target (runs on a worker thread; never touches the database)."""
    # A repo never stored will be scanned whatever its head says: its head call is the scan's whole model info,
    # handed to the scan, so it costs one API request instead of two.
    head, cost = (None, (0, 0)) if target.revision == "local" else _head(target, session, config, previous is None)
    if previous is not None and head is not None and head.get("sha") == previous[1]:
        gated_before = previous[2].get("gated")
        if head.get("gated") is None or head.get("gated") == gated_before:
            return _Work(target, previous[0], None, *cost)
    listed = head.pop("item", None) if head is not None else None
    if listed is not None:
        target = replace(target, listed=listed)
    with scans:
        return _scan(target, head, options, session, cost)


def _head(target: Target, session: Any, config: Any, full: bool) -> tuple[dict[str, Any] | None, tuple[int, int]]:
    """The repo's current commit and gating: from the listing (free) or one model-info call (the whole of it, kept
    under `item`, when `full`)."""
    if target.sha is not None:
        return {"sha": target.sha, "gated": target.gated}, (0, 0)
    if config is None:  # offline
        return None, (0, 0)
    from cardscan.sources.http import HubStats
    from cardscan.sources.listing import repo_head

    stats = HubStats()
    try:
        head = repo_head(session, config, target.repo_id, target.revision, stats, full=full)
    except ScanError:
        return None, (stats.requests, stats.retries)  # the scan will meet the same problem and report it properly
    found = {"sha": head.sha, "gated": head.gated, "last_modified": head.last_modified, "item": head.item}
    return found, (stats.requests, stats.retries)


def _scan(
    target: Target, head: dict[str, Any] | None, options: ScanOptions, session: Any, cost: tuple[int, int]
) -> _Work:
    from cardscan.render.json import result_object
    from cardscan.scanner import scan
    from cardscan.sources.http import HubSession

    handing = target.listed is not None and isinstance(session, HubSession)
    if handing:
        session.offer_listed(target.repo_id, target.revision, target.listed)  # the scan's model info, already paid
    try:
        result = scan(target.repo_id, replace(options, revision=target.revision), session=session)
    finally:
        if handing:
            session.take_listed(target.repo_id, target.revision)  # unused when the scan failed before asking
    config, config_cost = (None, 0)
    if result.ok and result.model is not None:
        config, config_cost = _config_json(target, result.commit, options, session)
    hub = {k: v for k, v in (head or {}).items() if k != "sha"}
    record = {"result": result_object(result), "hub": hub, "config": config}
    requests = cost[0] + config_cost + (result.io.requests if result.io else 0)
    return _Work(target, None, record, requests, cost[1] + (result.io.retries if result.io else 0))


def _config_json(
    target: Target, commit: str | None, options: ScanOptions, session: Any
) -> tuple[dict[str, Any] | None, int]:
    """config.json at the scanned commit, kept so a policy's GPU-fit rule can be re-estimated without a re-read."""
    import json

    from cardscan.sources.registry import open_source

    pinned = replace(options, revision=commit or target.revision)
    try:
        source, _, _ = open_source(target.repo_id, pinned, session)
        data = source.read_file("config.json", CONFIG_LIMIT)
        doc = json.loads(data) if data else None
    except (ScanError, ValueError, OSError):
        return None, 0
    requests = getattr(getattr(source, "stats", None), "requests", 0)
    return (doc if isinstance(doc, dict) else None), requests


def hub_config(options: ScanOptions) -> Any:
    """The Hub config for listing and head requests, looked up once per run (HF_TOKEN, HF_ENDPOINT)."""
    from cardscan.sources.hub import HubConfig

    return replace(
        HubConfig.from_env(token=options.token, endpoint=options.endpoint),
        timeout=options.timeout,
        max_retries=options.retries,
    )
