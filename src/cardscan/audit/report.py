"""Audit outputs from the history database: terminal summary, markdown (CI job summary), json / jsonl, JUnit XML,
html, the webhook payload, and `audit_report_data` (plain data for the HTML report; shape in docs/audit.md).

Everything reads the run back from the store in repo order, so output size, not memory, grows with the catalogue.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any
from xml.sax.saxutils import quoteattr

from cardscan.audit.diff import Change, diff_runs
from cardscan.audit.store import RepoRow, RunInfo, Store
from cardscan.errors import EXIT_CODES, ErrorCode

REPORT_SCHEMA = 1
MAX_LISTED = 50  # rows of each section in the terminal and markdown summaries
TREND_RUNS = 10  # runs per repo in audit_report_data's trend
CHANGE_LABELS: dict[str, str] = {
    "new": "new repo", "removed": "removed", "commit": "new commit", "parameters": "parameters changed",
    "dtypes": "stored dtypes changed", "quantization": "quantization changed", "weight_bytes": "weight bytes changed",
    "license": "licence changed", "gated": "gating changed", "newly_violating": "newly violating",
    "fixed": "fixed", "newly_failing": "newly failing to scan", "recovered": "scans again",
}  # fmt: skip


@dataclass
class Summary:
    """A run boiled down: counts, the violations and failures (first MAX_LISTED each), and the changes."""

    run: RunInfo
    previous: RunInfo | None
    counts: dict[str, int]
    violations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    change_count: int = 0
    scan_exit: int = 0

    @property
    def changed(self) -> bool:
        """Something changed since the previous run (a first run: every repo is new)."""
        return self.change_count > 0 or (self.previous is None and self.counts.get("repos", 0) > 0)


def summarize(store: Store, run: RunInfo, previous: RunInfo | None = None, keep: int = MAX_LISTED) -> Summary:
    """Counts plus the first `keep` violations, failures and changes (the rest are counted, not kept)."""
    summary = Summary(run, previous, store.counts(run.id))
    by_value = {code.value: exit for code, exit in EXIT_CODES.items()}
    for row in store.repo_rows(run.id):
        if row.facts.get("error_code"):
            code = row.facts["error_code"]
            summary.scan_exit = max(summary.scan_exit, by_value.get(code, EXIT_CODES[ErrorCode.INTERNAL]))
            if len(summary.failures) < keep:
                summary.failures.append((row.key, code, row.facts.get("error") or ""))
        for o in row.outcomes:
            if o["status"] == "fail" and len(summary.violations) < keep:
                summary.violations.append((row.key, o))
    for change in diff_runs(store, previous, run) if previous is not None else ():
        summary.change_count += 1
        if len(summary.changes) < keep:
            summary.changes.append(change)
    summary.violations.sort(key=lambda v: (v[1]["severity"] != "error", v[0]))
    return summary


def exit_code(summary: Summary, *, strict: bool, allow_scan_errors: bool) -> int:
    """0 clean; 1 a policy error (or a warning with --strict); a scan's exit code when a repo failed to scan."""
    code = 1 if summary.counts["errors"] or (strict and summary.counts["warnings"]) else 0
    return code if allow_scan_errors else max(code, summary.scan_exit)


# --- terminal and markdown ---------------------------------------------------------------------------------------


def headline(s: Summary) -> str:
    c = s.counts
    since = f" · {s.change_count} change(s) since run {s.previous.id}" if s.previous else " · first run"
    return (
        f"audit run {s.run.id} ({s.run.name}): {c['repos']:,} repos · {c['violating']:,} violating · "
        f"{c['warning_repos']:,} with warnings · {c['failed']:,} failed to scan · {c['unchanged']:,} unchanged{since}"
    )


def render_text(s: Summary) -> str:
    """The terminal summary: violations first, then failures, then changes."""
    lines = [headline(s)]
    if s.violations:
        lines += ["", f"violations ({s.counts['errors']} errors, {s.counts['warnings']} warnings)"]
        lines += [f"  {'✗' if o['severity'] == 'error' else '!'} {repo}  [{o['rule']}]  {o['message']}"
                  for repo, o in s.violations]  # fmt: skip
        lines += _more(s.counts["errors"] + s.counts["warnings"], len(s.violations))
    if s.failures:
        lines += ["", "failed scans"] + [f"  ✗ {repo}  {code}: {msg}" for repo, code, msg in s.failures]
        lines += _more(s.counts["failed"], len(s.failures))
    if s.changes:
        lines += ["", f"changes since run {s.previous.id if s.previous else '-'}"]
        lines += [f"  {change_text(ch)}" for ch in s.changes] + _more(s.change_count, len(s.changes))
    return "\n".join(lines) + "\n"


def change_text(ch: Change) -> str:
    label = CHANGE_LABELS.get(ch.kind, ch.kind)
    if ch.kind in ("new", "removed"):
        return f"{'+' if ch.kind == 'new' else '-'} {ch.repo}: {label}"
    return f"~ {ch.repo}: {label}: {_short(ch.before)} → {_short(ch.after)}"


def render_markdown(s: Summary) -> str:
    """Short enough for a CI job summary ($GITHUB_STEP_SUMMARY)."""
    c = s.counts
    status = "❌" if c["errors"] or c["failed"] else ("⚠️" if c["warnings"] else "✅")
    out = [f"## {status} cardscan audit — run {s.run.id} (`{s.run.name}`)", "",
           "| repos | violating | warnings | failed to scan | unchanged | changes |", "|---:|---:|---:|---:|---:|---:|",
           f"| {c['repos']:,} | {c['violating']:,} | {c['warning_repos']:,} | {c['failed']:,} | {c['unchanged']:,} "
           f"| {s.change_count if s.previous else 'first run'} |"]  # fmt: skip
    if s.violations:
        out += ["", "### Violations", "", "| repo | rule | severity | finding |", "|---|---|---|---|"]
        out += [f"| `{r}` | {o['rule']} | {o['severity']} | {_md(o['message'])} |" for r, o in s.violations]
        out += _more(c["errors"] + c["warnings"], len(s.violations))
    if s.failures:
        out += ["", "### Failed scans", "", "| repo | error | message |", "|---|---|---|"]
        out += [f"| `{r}` | {code} | {_md(msg)} |" for r, code, msg in s.failures]
        out += _more(c["failed"], len(s.failures))
    if s.changes:
        out += ["", f"### Changes since run {s.previous.id if s.previous else '-'}", ""]
        out += [f"- {_md(change_text(ch))}" for ch in s.changes] + _more(s.change_count, len(s.changes))
    return "\n".join(out) + "\n"


def _more(total: int, shown: int) -> list[str]:
    return [f"  … and {total - shown} more"] if total > shown else []


def _short(value: Any) -> str:
    if isinstance(value, str) and len(value) == 40 and all(ch in "0123456789abcdef" for ch in value):
        return value[:8]
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"{value:,}"
    return "none" if value is None else str(value)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# --- json, jsonl, junit --------------------------------------------------------------------------------------------


def repo_object(row: RepoRow) -> dict[str, Any]:
    """One repo of a run in the json / jsonl outputs."""
    return {"type": "repo", "repo": row.repo, "revision": row.revision, "commit": row.commit, "ok": row.ok,
            "reused": row.reused, "errors": row.errors, "warnings": row.warnings, "facts": row.facts,
            "outcomes": row.outcomes}  # fmt: skip


def summary_object(s: Summary) -> dict[str, Any]:
    return {"type": "summary", "schema_version": REPORT_SCHEMA, "run": _run(s.run),
            "previous_run": _run(s.previous) if s.previous else None, "counts": s.counts,
            "change_count": s.change_count}  # fmt: skip


def write_json(out: IO[str], store: Store, s: Summary) -> None:
    """One JSON document, written repo by repo."""
    out.write('{"summary": ' + json.dumps(summary_object(s)) + ', "repos": [\n')
    for i, row in enumerate(store.repo_rows(s.run.id)):
        out.write((",\n" if i else "") + json.dumps(repo_object(row)))
    out.write('\n], "changes": [\n')
    changes = diff_runs(store, s.previous, s.run) if s.previous else iter(())
    for i, ch in enumerate(changes):
        out.write((",\n" if i else "") + json.dumps(_change(ch)))
    out.write("\n]}\n")


def jsonl_repo_line(
    repo: str, revision: str, facts: Mapping[str, Any], outcomes: Sequence[Mapping[str, Any]], reused: bool
) -> str:
    """The line written the moment a repo finishes (`--format jsonl`)."""
    errors = sum(1 for o in outcomes if o["status"] == "fail" and o["severity"] == "error")
    warnings = sum(1 for o in outcomes if o["status"] == "fail" and o["severity"] == "warning")
    obj = {"type": "repo", "repo": repo, "revision": revision, "commit": facts.get("commit"),
           "ok": facts.get("error_code") is None, "reused": reused, "errors": errors, "warnings": warnings,
           "facts": facts, "outcomes": outcomes}  # fmt: skip
    return json.dumps(obj) + "\n"


def write_jsonl_tail(out: IO[str], store: Store, s: Summary) -> None:
    """After the streamed repo lines: one line per change, then the summary."""
    for ch in diff_runs(store, s.previous, s.run) if s.previous else ():
        out.write(json.dumps({"type": "change", **_change(ch)}) + "\n")
    out.write(json.dumps(summary_object(s)) + "\n")


def write_junit(out: IO[str], store: Store, s: Summary, *, strict: bool = False) -> None:
    """JUnit XML: one test case per repo × rule (class = repo, name = rule); failures carry the rule's figures.

    A repo that could not be scanned and has no `scan_succeeds` rule gets a `scan` test case with an <error>.
    """
    tests = failures = errors = skipped = 0
    for row in store.repo_rows(s.run.id):
        cases = list(_cases(row, strict))
        tests += len(cases)
        failures += sum(1 for c in cases if c[0] == "failure")
        errors += sum(1 for c in cases if c[0] == "error")
        skipped += sum(1 for c in cases if c[0] == "skipped")
    name = quoteattr(f"cardscan audit {s.run.name}")
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(f'<testsuites name={name} tests="{tests}" failures="{failures}" errors="{errors}">\n')
    out.write(f'  <testsuite name={name} tests="{tests}" failures="{failures}" errors="{errors}" '
              f'skipped="{skipped}" timestamp={quoteattr(s.run.started_at[:19])}>\n')  # fmt: skip
    for row in store.repo_rows(s.run.id):
        for kind, rule, message, detail in _cases(row, strict):
            out.write(f"    <testcase classname={quoteattr(row.key)} name={quoteattr(rule)}")
            if kind == "pass":
                out.write("/>\n")
                continue
            out.write(">\n")
            if kind == "skipped":
                out.write(f"      <skipped message={quoteattr(message)}/>\n")
            else:
                out.write(f"      <{kind} message={quoteattr(message)} type={quoteattr(rule)}>")
                out.write(html.escape(detail, quote=False) + f"</{kind}>\n")
            out.write("    </testcase>\n")
    out.write("  </testsuite>\n</testsuites>\n")


def _cases(row: RepoRow, strict: bool) -> Iterator[tuple[str, str, str, str]]:
    """(kind, rule, message, detail) per test case of one repo; kind: pass | failure | error | skipped."""
    rules = {o["rule"] for o in row.outcomes}
    judged = any(o["status"] in ("fail", "ignored") and "error_code" in o["figures"] for o in row.outcomes)
    if not row.ok and not judged:  # a failed scan no rule judged is still a CI error
        code = row.facts.get("error_code")
        yield "error", "scan", f"{code}: {row.facts.get('error')}", json.dumps({"error_code": code})
    for o in row.outcomes:
        detail = json.dumps({"rule": o["rule"], "severity": o["severity"], "figures": o["figures"]}, indent=1)
        if o["status"] == "fail" and (o["severity"] == "error" or strict):
            yield "failure", o["rule"], o["message"], detail
        elif o["status"] in ("skip", "ignored") or o["status"] == "fail":
            yield "skipped", o["rule"], f"{o['status'] if o['status'] != 'fail' else 'warning'}: {o['message']}", ""
        else:
            yield "pass", o["rule"], o["message"], ""
    if not rules and row.ok:
        yield "pass", "scan", "scanned", ""


# --- data for the HTML report (issue 10) and a minimal html rendering -----------------------------------------------


def audit_report_data(store: Store, run: RunInfo, previous: RunInfo | None = None) -> dict[str, Any]:
    """Plain data for an HTML report: tiles, one row per repo, the diff and each repo's trend (docs/audit.md)."""
    previous = previous if previous is not None else store.previous_run(run)
    s = summarize(store, run, previous)
    c = s.counts
    rows = []
    for row in store.repo_rows(run.id):
        rows.append({**repo_object(row), "key": row.key,
                     "trend": [_trend_point(r_run, r) for r_run, r in store.history(row.repo, row.revision, TREND_RUNS)]})  # fmt: skip
    return {
        "schema_version": REPORT_SCHEMA,
        "run": _run(run),
        "previous_run": _run(previous) if previous else None,
        "tiles": [
            {"id": "repos", "label": "Repos audited", "value": c["repos"]},
            {"id": "violating", "label": "Violating (errors)", "value": c["violating"], "tone": "bad"},
            {"id": "warnings", "label": "With warnings", "value": c["warning_repos"], "tone": "warn"},
            {"id": "failed", "label": "Failed to scan", "value": c["failed"], "tone": "bad"},
            {"id": "unchanged", "label": "Unchanged (reused)", "value": c["unchanged"], "tone": "neutral"},
            {"id": "changes", "label": "Changes since last run", "value": s.change_count, "tone": "neutral"},
        ],
        "rows": rows,
        "diff": [_change(ch) for ch in (diff_runs(store, previous, run) if previous else ())],
    }


def _trend_point(run: RunInfo, row: RepoRow) -> dict[str, Any]:
    f = row.facts
    return {"run_id": run.id, "started_at": run.started_at, "commit": row.commit, "ok": row.ok,
            "parameters": f.get("parameters"), "weight_bytes": f.get("weight_bytes"), "errors": row.errors,
            "warnings": row.warnings}  # fmt: skip


def render_html(data: dict[str, Any]) -> str:
    """A minimal self-contained page from audit_report_data (the full report is cardscan's HTML renderer's job)."""
    esc = html.escape
    tiles = "".join(f"<div class=tile><b>{t['value']:,}</b><br>{esc(t['label'])}</div>" for t in data["tiles"])
    rows = "".join(
        f"<tr><td>{esc(r['key'])}</td><td>{'ok' if r['ok'] else esc(str(r['facts'].get('error_code')))}</td>"
        f"<td>{r['errors']}</td><td>{r['warnings']}</td><td>"
        + "<br>".join(esc(f"[{o['rule']}] {o['message']}") for o in r["outcomes"] if o["status"] == "fail")
        + "</td></tr>"
        for r in data["rows"]
    )
    diff = "".join(f"<li>{esc(d['repo'])}: {esc(d['kind'])}</li>" for d in data["diff"])
    run = data["run"]
    return (
        "<!doctype html><meta charset=utf-8><title>cardscan audit</title><style>body{font-family:sans-serif}"
        ".tile{display:inline-block;padding:8px 16px;margin:4px;border:1px solid #ccc}td{padding:2px 8px}</style>"
        f"<h1>cardscan audit run {run['id']} ({esc(run['name'])})</h1>{tiles}"
        f"<h2>Repos</h2><table><tr><th>repo</th><th>scan</th><th>errors</th><th>warnings</th><th>findings</th></tr>"
        f"{rows}</table><h2>Changes</h2><ul>{diff}</ul>\n"
    )


def notify_payload(s: Summary) -> dict[str, Any] | None:
    """The webhook body (Slack-compatible `text`), or None when nothing changed and nothing violates."""
    if not (s.changed or s.counts["errors"] or s.counts["warnings"] or s.counts["failed"]):
        return None
    text = headline(s)
    extra = [
        f"{'✗' if o['severity'] == 'error' else '!'} {r} [{o['rule']}] {o['message']}" for r, o in s.violations[:10]
    ]
    extra += [change_text(ch) for ch in s.changes[:10]]
    return {"text": "\n".join([text, *extra]), "cardscan": summary_object(s)}


def _run(run: RunInfo) -> dict[str, Any]:
    return {"id": run.id, "name": run.name, "status": run.status, "started_at": run.started_at,
            "finished_at": run.finished_at, "spec": run.spec}  # fmt: skip


def _change(ch: Change) -> dict[str, Any]:
    return {"repo": ch.repo, "kind": ch.kind, "before": ch.before, "after": ch.after}
