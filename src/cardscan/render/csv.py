"""Results → CSV, one row per input, for batch scans loaded into a spreadsheet or pandas.

The column order is a contract (docs/output-formats.md): new columns go at the end. Byte figures are integers in
bytes, unknown values are empty cells, lists are `;`-joined.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

from cardscan.result import ScanResult

Cell = str | int | float | None


def _attr(*path: str) -> Callable[[ScanResult], Any]:
    """Getter for a dotted attribute path on a result; None as soon as a link is missing."""

    def get(r: ScanResult) -> Any:
        value: Any = r
        for name in path:
            value = getattr(value, name, None)
            if value is None:
                return None
        return value

    return get


def _precision(table: str, key: str) -> Callable[[ScanResult], Cell]:
    return lambda r: getattr(r, table).get(key)


def _agreement(field: str) -> Callable[[ScanResult], Cell]:
    return lambda r: next((a.status for a in r.agreement if a.field == field), None)


def _by_dtype(r: ScanResult) -> Cell:
    by_dtype = r.parameters.by_dtype if r.parameters else {}
    return ";".join(f"{k}={v}" for k, v in by_dtype.items()) or None


def _card_dtypes(r: ScanResult) -> Cell:
    return ";".join(r.card.dtypes) if r.card is not None and r.card.present else None


def _fits_gpus(r: ScanResult) -> Cell:
    return ";".join(f.gpu.name for f in r.fits if f.fits) if r.fits else None


def _bpw(r: ScanResult) -> Cell:
    bpw = r.weights.bits_per_weight if r.weights else None
    return round(bpw, 4) if bpw is not None else None


# Column name → how to read it from a result, in output order.
COLUMNS: dict[str, Callable[[ScanResult], Cell]] = {
    "input": _attr("input"),
    "repo_id": _attr("repo_id"),
    "revision": _attr("revision"),
    "commit": _attr("commit"),
    "status": lambda r: "ok" if r.ok else "error",
    "error_code": _attr("error", "code"),
    "error_message": _attr("error", "message"),
    "architecture": _attr("model", "architecture"),
    "model_type": _attr("model", "model_type"),
    "max_context": _attr("model", "max_context"),
    "params_total": _attr("parameters", "total"),
    "params_active": _attr("parameters", "active"),
    "params_source": _attr("parameters", "source"),
    "params_by_dtype": _by_dtype,
    "stored_elements": _attr("parameters", "stored_elements"),
    "weights_bytes": _attr("weights", "bytes"),
    "bits_per_weight": _bpw,
    "quant_method": _attr("quantization", "method"),
    "quant_bits": _attr("quantization", "bits"),
    "quant_group_size": _attr("quantization", "group_size"),
    "card_parameters": _attr("card", "parameters"),
    "card_dtypes": _card_dtypes,
    "agreement_parameters": _agreement("parameters"),
    "agreement_dtype": _agreement("dtype"),
    "agreement_quantization": _agreement("quantization"),
    "context": _attr("memory", "context"),
    "batch": _attr("memory", "batch"),
    "kv_dtype": _attr("memory", "kv_dtype"),
    "engine": _attr("memory", "engine"),
    "tp": _attr("memory", "tp"),
    "kv_bytes_per_token": _attr("memory", "kv_bytes_per_token"),
    "memory_weights_bytes": _attr("memory", "weights_bytes"),
    "kv_cache_bytes": _attr("memory", "kv_cache_bytes"),
    "activations_bytes": _attr("memory", "activations_bytes"),
    "overhead_bytes": _attr("memory", "overhead_bytes"),
    "total_bytes": _attr("memory", "total_bytes"),
    "weights_fp32_bytes": _precision("precision_bytes", "fp32"),
    "weights_bf16_fp16_bytes": _precision("precision_bytes", "bf16/fp16"),
    "weights_int8_fp8_bytes": _precision("precision_bytes", "int8/fp8"),
    "weights_int4_fp4_bytes": _precision("precision_bytes", "int4/fp4"),
    "quick_rule_bf16_fp16_bytes": _precision("rule_of_thumb_bytes", "bf16/fp16"),
    "fits_gpus": _fits_gpus,
    "max_context_fit": _attr("capacity", "max_context"),
    "max_batch_fit": _attr("capacity", "max_batch"),
    "cheapest_precision_fit": _attr("capacity", "cheapest_precision"),
    "min_tp_fit": _attr("capacity", "min_tp"),
}


def row(r: ScanResult) -> dict[str, Cell]:
    """One result as {column: value} in COLUMNS order (None for unknown)."""
    return {name: get(r) for name, get in COLUMNS.items()}


def render(results: Sequence[ScanResult]) -> str:
    """Header row, then one row per result in input order."""
    buffer = io.StringIO()
    # "\n" line ends: the text goes to stdout or a file opened in text mode; every CSV reader accepts them.
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for r in results:
        writer.writerow({k: "" if v is None else v for k, v in row(r).items()})
    return buffer.getvalue()
