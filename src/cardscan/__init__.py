"""cardscan: what a Hugging Face model really is and whether it fits your GPU, without downloading weights.

from cardscan import scan
result = scan("meta-llama/Llama-2-7b-hf")
result.parameters.total, result.memory.total_bytes
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["ScanOptions", "ScanResult", "scan", "scan_many"]

if TYPE_CHECKING:
    from cardscan.result import ScanResult
    from cardscan.scanner import ScanOptions, scan, scan_many


def __getattr__(name: str):
    # Lazy: `import cardscan` (and the CLI's --help) must not pull in the scanner's dependencies.
    if name in ("scan", "scan_many", "ScanOptions"):
        from cardscan import scanner as _scan_module

        return getattr(_scan_module, name)
    if name == "ScanResult":
        from cardscan.result import ScanResult

        return ScanResult
    raise AttributeError(name)
