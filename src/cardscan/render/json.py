"""Results → the JSON contract documented in docs/json-output.md (a list, one object per input, in input order)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from enum import Enum
from typing import Any

from cardscan.result import ScanResult

SCHEMA_VERSION = 1


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums, tuples and dicts → plain JSON values (floats rounded for stable diffs)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value) if not f.name.startswith("_")
        }
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float):
        return round(value, 4)
    return value


def result_object(r: ScanResult) -> dict[str, Any]:
    """One result as the documented object; every documented key is always present (null when unknown)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "input": r.input,
        "repo_id": r.repo_id,
        "revision": r.revision,
        "commit": r.commit,
        "status": "ok" if r.ok else "error",
        "error": to_jsonable(r.error),
        "model": to_jsonable(r.model),
        "parameters": to_jsonable(r.parameters),
        "weights": to_jsonable(r.weights),
        "quantization": to_jsonable(r.quantization),
        "card": _card(r.card),
        "agreement": {a.field: to_jsonable(a) for a in r.agreement},
        "precision_bytes": r.precision_bytes,
        "rule_of_thumb_bytes": r.rule_of_thumb_bytes,
        "memory": to_jsonable(r.memory),
        "fits": [_fit(f) for f in r.fits],
        "variants": to_jsonable(r.variants),
        "adapter": to_jsonable(r.adapter),
        "base": result_object(r.base) if r.base is not None else None,
        "components": to_jsonable(r.components),
        "fit_matrix": [_fit_row(row) for row in r.fit_matrix],
        "capacity": _capacity(r.capacity),
        "training": to_jsonable(r.training),
        "notes": list(r.notes),
        "warnings": list(r.warnings),
        "io": to_jsonable(r.io),
        "verdict": to_jsonable(r.verdict),
    }


def _fit(fit: Any) -> dict[str, Any]:
    """A GPU fit without repeating the whole catalogue entry."""
    g = fit.gpu
    return {"gpu": g.name, "memory_bytes": g.memory_bytes, "usable_bytes": g.usable_bytes, "fits": fit.fits,
            "free_bytes": fit.free_bytes, "utilization": round(fit.utilization, 4)}  # fmt: skip


def _fit_row(row: Any) -> dict[str, Any]:
    return {
        "precision": row.precision,
        "weights_bytes": row.weights_bytes,
        "fits": {f.gpu.name: f.fits for f in row.fits},
        "max_context": {f.gpu.name: n for f, n in zip(row.fits, row.max_context, strict=False)},
    }


def _capacity(capacity: Any) -> dict[str, Any] | None:
    """Capacity; `cheapest_precision` is the old name of `least_lossy_precision`, kept (schema v1 never renames)."""
    if capacity is None:
        return None
    out: dict[str, Any] = to_jsonable(capacity)
    out["cheapest_precision"] = capacity.least_lossy_precision
    return out


def _card(card: Any) -> dict[str, Any] | None:
    return to_jsonable(card) if card is not None else {"present": False}


def render(results: Sequence[ScanResult]) -> str:
    """The whole document."""
    return json.dumps([result_object(r) for r in results], indent=2, ensure_ascii=False) + "\n"
