"""Why a scan failed: stable error codes, their exit codes, and the internal exception that carries them."""

from __future__ import annotations

from enum import Enum


class ErrorCode(str, Enum):
    """A machine-readable failure reason; the value is what JSON output carries."""

    NOT_FOUND = "not_found"
    GATED = "gated"
    UNAUTHORIZED = "unauthorized"
    REVISION_NOT_FOUND = "revision_not_found"
    NO_WEIGHTS = "no_weights"
    NETWORK = "network"
    RATE_LIMITED = "rate_limited"
    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    RANGE_UNSUPPORTED = "range_unsupported"
    OFFLINE_MISS = "offline_miss"
    UNSUPPORTED = "unsupported"
    BAD_INPUT = "bad_input"
    INTERNAL = "internal"
    INTERRUPTED = "interrupted"


# Exit codes are part of the CLI contract (README "Exit codes"); the worst one in a batch wins.
EXIT_CODES: dict[ErrorCode, int] = {
    ErrorCode.BAD_INPUT: 2,
    ErrorCode.NOT_FOUND: 3,
    ErrorCode.REVISION_NOT_FOUND: 3,
    ErrorCode.GATED: 4,
    ErrorCode.UNAUTHORIZED: 4,
    ErrorCode.NETWORK: 5,
    ErrorCode.RATE_LIMITED: 5,
    ErrorCode.RANGE_UNSUPPORTED: 5,
    ErrorCode.OFFLINE_MISS: 6,
    ErrorCode.MALFORMED: 7,
    ErrorCode.TOO_LARGE: 7,  # a file over a parse budget (cardscan.parse.limits): as unusable as a malformed one
    ErrorCode.UNSUPPORTED: 7,
    ErrorCode.NO_WEIGHTS: 8,
    ErrorCode.INTERNAL: 9,
    ErrorCode.INTERRUPTED: 130,  # the shell convention for SIGINT
}


class ScanError(Exception):
    """Raised inside one scan; the scanner turns it into an error result, so it never ends a batch."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class FormatError(ValueError):
    """A weight-file header or metadata block that cannot be parsed (parsers raise only this)."""
