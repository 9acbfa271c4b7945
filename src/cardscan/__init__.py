"""cardscan: what a Hugging Face model really is and whether it fits your GPU, without downloading weights.

    from cardscan import scan, ScanOptions
    result = scan("meta-llama/Llama-2-7b-hf", ScanOptions(gpu="rtx4090"))
    result.verdict, result.parameters.total, result.memory.total_bytes, result.to_dict()

A failed repo is a `ScanResult` whose `error.code` is an `ErrorCode` value (never an exception); `scan_many` raises
only `Interrupted` (Ctrl-C), which carries the finished results. See docs/api.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "EXIT_CODES",
    "ErrorCode",
    "Failure",
    "Interrupted",
    "ScanOptions",
    "ScanResult",
    "Verdict",
    "scan",
    "scan_many",
]

if TYPE_CHECKING:
    from cardscan.errors import EXIT_CODES, ErrorCode
    from cardscan.estimate.verdict import Verdict
    from cardscan.options import ScanOptions
    from cardscan.result import Failure, ScanResult
    from cardscan.scanner import Interrupted, scan, scan_many

# Public name → the module that defines it. Imported on first use: `import cardscan` (and the CLI's --help) must not
# pull in the scanner's dependencies.
_HOMES = {
    "scan": "cardscan.scanner",
    "scan_many": "cardscan.scanner",
    "Interrupted": "cardscan.scanner",
    "ScanOptions": "cardscan.options",
    "ScanResult": "cardscan.result",
    "Failure": "cardscan.result",
    "ErrorCode": "cardscan.errors",
    "EXIT_CODES": "cardscan.errors",
    "Verdict": "cardscan.estimate.verdict",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        from importlib import import_module

        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'cardscan' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
