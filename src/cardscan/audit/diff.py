"""What changed between two runs: new and removed repos, moved commits, changed figures, new and fixed violations.

Both runs are streamed in repo order and merged, so a diff of 100,000 repos holds two rows at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cardscan.audit.policy import licence, quant_method
from cardscan.audit.store import RepoRow, RunInfo, Store

# Facts compared between runs (one home: facts_of writes them, diff reads them, history shows them).
COMPARED = ("parameters", "dtypes", "quantization", "weight_bytes", "license", "gated")


@dataclass(frozen=True)
class Change:
    """One difference for one repo between two runs."""

    repo: str
    """`repo` or `repo@revision`."""
    kind: str
    """new | removed | commit | parameters | dtypes | quantization | weight_bytes | license | gated |
    newly_violating | fixed | newly_failing | recovered."""
    before: Any
    """Value in the older run (None for new repos)."""
    after: Any
    """Value in the newer run (None for removed repos)."""


def facts_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """The small figures of a stored record that diff, history and trends compare."""
    r = record.get("result") or {}
    params = r.get("parameters") or {}
    weights = r.get("weights") or {}
    err = r.get("error") or {}
    gated = (record.get("hub") or {}).get("gated")
    return {
        "commit": r.get("commit"),
        "error_code": err.get("code"),
        "error": err.get("message"),
        "parameters": params.get("total"),
        "dtypes": sorted(params.get("by_dtype") or {}),
        "quantization": quant_method(r) if r.get("status") == "ok" else None,
        "weight_bytes": weights.get("bytes"),
        "format": weights.get("format"),
        "license": licence(r),
        "gated": gated if gated is not None else ("yes" if err.get("code") == "gated" else None),
    }


def diff_runs(store: Store, old: RunInfo | None, new: RunInfo) -> Iterator[Change]:
    """Every change from `old` to `new` (everything is `new` when there is no older run)."""
    before = store.repo_rows(old.id) if old is not None else iter(())
    after = store.repo_rows(new.id)
    a, b = next(before, None), next(after, None)
    while a is not None or b is not None:
        if b is None or (a is not None and (a.repo, a.revision) < (b.repo, b.revision)):
            assert a is not None
            yield Change(a.key, "removed", a.commit, None)
            a = next(before, None)
        elif a is None or (b.repo, b.revision) < (a.repo, a.revision):
            yield Change(b.key, "new", None, b.commit)
            b = next(after, None)
        else:
            yield from compare(a, b)
            a, b = next(before, None), next(after, None)


def compare(a: RepoRow, b: RepoRow) -> Iterator[Change]:
    """Changes of one repo present in both runs."""
    if a.ok and not b.ok:
        yield Change(b.key, "newly_failing", None, b.facts.get("error_code"))
    elif b.ok and not a.ok:
        yield Change(b.key, "recovered", a.facts.get("error_code"), None)
    if a.commit != b.commit and a.commit and b.commit:
        yield Change(b.key, "commit", a.commit, b.commit)
    if a.ok and b.ok:
        for name in COMPARED:
            if a.facts.get(name) != b.facts.get(name):
                yield Change(b.key, name, a.facts.get(name), b.facts.get(name))
    old_rules, new_rules = _violated(a), _violated(b)
    if new_rules - old_rules:
        yield Change(b.key, "newly_violating", sorted(old_rules) or None, sorted(new_rules - old_rules))
    if old_rules - new_rules:
        yield Change(b.key, "fixed", sorted(old_rules - new_rules), sorted(new_rules) or None)


def _violated(row: RepoRow) -> set[str]:
    return {o["rule"] for o in row.outcomes if o["status"] == "fail"}
