"""Write the key tables of docs/json-output.md from the result dataclasses' field docstrings.

Run: python scripts/json_docs.py   (tests/test_json_contract.py fails when the file is out of date)
"""

from __future__ import annotations

import sys
from pathlib import Path

from cardscan.schema import BEGIN, END, generated

DOC = Path(__file__).resolve().parents[1] / "docs" / "json-output.md"


def updated(text: str) -> str:
    """`text` with the generated block replaced (appended when the markers are missing)."""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        return head + generated() + rest.split(END, 1)[1]
    return text.rstrip() + "\n\n## Every key\n\n" + generated() + "\n"


if __name__ == "__main__":
    new = updated(DOC.read_text(encoding="utf-8"))
    if "--check" in sys.argv:
        sys.exit(0 if new == DOC.read_text(encoding="utf-8") else 1)
    DOC.write_text(new, encoding="utf-8")
