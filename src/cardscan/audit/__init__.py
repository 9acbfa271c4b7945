"""`cardscan audit`: a catalogue checked against a policy on a schedule, with history and what changed.

targets.py (what to audit) → runner.py (incremental scans, one commit per repo) → store.py (SQLite / PostgreSQL)
→ policy.py (rules on stored results) → diff.py (what changed) → report.py (terminal, markdown, json, JUnit, html).
"""

from __future__ import annotations


def cardscan_version() -> str:
    """Installed cardscan version (recorded with each run)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cardscan")
    except PackageNotFoundError:
        return "0"
