"""Per-field precision and recall of the model-card parser on the labelled corpus of real cards.

`python bench/card_eval.py` prints the table, writes `bench/results/card_eval.md` / `.json`, and with `--docs` also
replaces the table in `docs/card-hints.md`. `evaluate()` is what `tests/test_card_corpus.py` calls.

Precision = right claims / claims made (a wrong claim is worse than none); recall = labelled claims found.
Counts match within 5 % (a rounded `7B` against a stated 7.24B is the same claim); labels that are lists accept any
of their values, and a list holding null marks the field optional (no recall is owed).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fixtures" / "cards"
DOCS = ROOT / "docs" / "card-hints.md"
TABLE_START, TABLE_END = "<!-- card-eval:start -->", "<!-- card-eval:end -->"
COUNT_FIELDS = ("parameters", "active_parameters", "effective_parameters")


@dataclass
class FieldScore:
    """Tallies for one field."""

    claimed: int = 0
    """Claims the parser made."""
    right: int = 0
    """Claims that match the label."""
    owed: int = 0
    """Labelled claims the parser should find."""
    found: int = 0
    """Owed claims it found."""
    wrong: list[str] = field(default_factory=list)
    """`repo: said X, label Y` for every wrong claim."""
    missed: list[str] = field(default_factory=list)
    """Repos whose owed claim was not found."""

    def precision(self) -> float | None:
        return self.right / self.claimed if self.claimed else None

    def recall(self) -> float | None:
        return self.found / self.owed if self.owed else None


def _predictions(info: object) -> dict[str, object]:
    """The CardInfo values scored, by label name."""
    quant = getattr(info, "quantization", None)
    return {
        "parameters": getattr(info, "parameters", None),
        "active_parameters": getattr(info, "active_parameters", None),
        "experts": getattr(info, "experts", None),
        "effective_parameters": getattr(info, "effective_parameters", None),
        "quant_method": getattr(quant, "method", None),
        "quant_scheme": getattr(quant, "scheme", None),
        "quant_bits": getattr(quant, "bits", None),
        "quant_tool": getattr(quant, "tool", None),
        "dtypes": list(getattr(info, "dtypes", ()) or ()),
    }


def _same(fld: str, said: object, label: object) -> bool:
    if label is None or said is None:
        return False
    if fld in COUNT_FIELDS:
        return abs(float(said) - float(label)) <= 0.05 * float(label)  # type: ignore[arg-type]
    if fld == "quant_bits":
        return abs(float(said) - float(label)) < 0.01  # type: ignore[arg-type]
    return said == label


def _score(score: FieldScore, fld: str, repo: str, said: object, label: object) -> None:
    accepted = label if isinstance(label, list) else [label]
    optional = None in accepted
    if said is not None:
        score.claimed += 1
        if any(_same(fld, said, a) for a in accepted):
            score.right += 1
        else:
            score.wrong.append(f"{repo}: said {said!r}, label {label!r}")
    if not optional:
        score.owed += 1
        if said is not None and any(_same(fld, said, a) for a in accepted):
            score.found += 1
        else:
            score.missed.append(repo)


def _score_dtypes(score: FieldScore, repo: str, said: list, label: list) -> None:
    for d in said:
        score.claimed += 1
        if d is not None and d in label:
            score.right += 1
        else:
            score.wrong.append(f"{repo}: said {d!r}, label {label!r}")
    for d in [] if None in label else label:  # a list holding null: nothing owed
        score.owed += 1
        score.found += d in said
        if d not in said:
            score.missed.append(f"{repo}:{d}")


def evaluate(
    parse: Callable[..., object] | None = None, corpus: Path = CORPUS, split: str | None = None
) -> dict[str, FieldScore]:
    """Score `parse(text, repo_id)` (default: `cardscan.parse.card.parse_card`) on every labelled card, or on one
    split: `dev` (the cards the parser was built against) or `heldout` (labelled before the parser saw them)."""
    if parse is None:
        from cardscan.parse.card import parse_card

        parse = parse_card
    labels: Mapping[str, dict] = json.loads((corpus / "labels.json").read_text())
    scores: dict[str, FieldScore] = {}
    for repo, truth in labels.items():
        if split is not None and truth.get("split", "dev") != split:
            continue
        info = parse((corpus / "corpus" / truth["file"]).read_bytes(), repo)
        for fld, said in _predictions(info).items():
            score = scores.setdefault(fld, FieldScore())
            if fld == "dtypes":
                _score_dtypes(score, repo, said, truth.get("dtypes") or [])  # type: ignore[arg-type]
            else:
                _score(score, fld, repo, said, truth.get(fld))
    return scores


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def table(scores: Mapping[str, FieldScore], title: str) -> str:
    """Markdown table of the scores."""
    lines = [
        title,
        "",
        "| field | claims made | right | precision | labelled | found | recall |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for fld, s in scores.items():
        lines.append(
            f"| `{fld}` | {s.claimed} | {s.right} | {_pct(s.precision())} | {s.owed} | {s.found} | {_pct(s.recall())} |"
        )
    return "\n".join(lines)


def _write_docs(text: str) -> None:
    doc = DOCS.read_text()
    block = f"{TABLE_START}\n{text}\n{TABLE_END}"
    pattern = re.compile(re.escape(TABLE_START) + r".*?" + re.escape(TABLE_END), re.S)
    if not pattern.search(doc):
        raise SystemExit(f"{DOCS} has no {TABLE_START} … {TABLE_END} block")
    DOCS.write_text(pattern.sub(lambda _: block, doc))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", action="store_true", help="also rewrite the table in docs/card-hints.md")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every wrong claim and every miss")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    labels = json.loads((CORPUS / "labels.json").read_text())
    n_held = sum(1 for t in labels.values() if t.get("split") == "heldout")
    scores = evaluate()
    text = table(scores, f"All {len(labels)} real cards (`tests/fixtures/cards/`), `python bench/card_eval.py`:")
    held = table(
        evaluate(split="heldout"), f"The {n_held} held-out cards alone (labelled before the parser was run on them):"
    )
    from cardscan.parse.card import parse_card

    names = table(
        evaluate(lambda _text, repo: parse_card(None, repo)),
        "The repo names alone (`parse_card(None, repo_id)`, all cards; recall counts what only the card says as missed):",
    )
    text = f"{text}\n\n{held}\n\n{names}"
    print(text)
    if args.verbose:
        for fld, s in scores.items():
            for w in s.wrong:
                print(f"WRONG {fld}: {w}")
            for m in s.missed:
                print(f"MISSED {fld}: {m}")
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "card_eval.md").write_text(text + "\n")
    summary = {f: {"precision": s.precision(), "recall": s.recall(), "wrong": s.wrong, "missed": s.missed}
               for f, s in scores.items()}  # fmt: skip
    (results / "card_eval.json").write_text(json.dumps(summary, indent=1) + "\n")
    if args.docs:
        _write_docs(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
