"""Results → the JSON contract documented in docs/json-output.md (a list, one object per input, in input order)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cardscan.result import SCHEMA_VERSION, ScanResult, to_jsonable

__all__ = ["SCHEMA_VERSION", "render", "result_object", "to_jsonable"]


def result_object(r: ScanResult) -> dict[str, Any]:
    """One result as the documented object (the same as `r.to_dict()`)."""
    return r.to_dict()


def render(results: Sequence[ScanResult]) -> str:
    """The whole document."""
    return json.dumps([result_object(r) for r in results], indent=2, ensure_ascii=False) + "\n"
