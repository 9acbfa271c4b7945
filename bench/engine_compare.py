"""Compare cardscan's memory estimate with figures vLLM and llama.cpp printed in public logs.

Reads tests/fixtures/engine_logs/cases.json (one case per log: source, engine, GPU, flags, config, printed numbers),
runs `estimate_memory` with the same flags and prints a markdown table: case, engine, figure, engine-printed,
cardscan, error %, target, met. `python bench/engine_compare.py` (no network). The golden tests use `figures()`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cardscan.estimate.engines import EstimateOptions, MemoryEstimate, estimate_memory
from cardscan.estimate.gpus import parse_gpu
from cardscan.parse.config import ArchFacts, arch_facts, estimate_params_from_config

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
CASES = FIXTURES / "engine_logs" / "cases.json"
GIB, MIB = 1 << 30, 1 << 20
PRINT_GIB = 0.005  # engines print GiB with 2 decimals: a printed value is ± half a hundredth
PRINT_MIB = 0.005
DTYPE_BYTES = {"bf16": 2, "fp16": 2, "fp32": 4}  # for weights derived from the config's parameter count


@dataclass(frozen=True)
class Figure:
    """One engine-printed number next to cardscan's estimate of it."""

    case: str
    """Case id in cases.json."""
    engine: str
    """vllm or llama.cpp."""
    figure: str
    """Which number: weights_gib, kv_bytes_per_token, kv_available_gib, kv_tokens, max_concurrency, kv_size_mib."""
    printed: float
    """What the engine printed (kv_bytes_per_token: available ÷ tokens, implied by the two printed lines)."""
    ours: float
    """cardscan's estimate, same unit."""
    target: str
    """The accuracy target (docs/memory-model.md §12 of the spec)."""
    met: bool
    """Whether cardscan is within the target."""

    @property
    def error_pct(self) -> float:
        """Signed error of cardscan relative to the engine, in percent."""
        return (self.ours - self.printed) / self.printed * 100 if self.printed else math.inf


@dataclass(frozen=True)
class Run:
    """One case's inputs resolved, and the estimate they give."""

    case: dict[str, Any]
    """The case as stored in cases.json."""
    facts: ArchFacts
    """Architecture facts of the case's config."""
    estimate: MemoryEstimate
    """cardscan's estimate under the case's flags."""


def load_cases(path: Path = CASES) -> list[dict[str, Any]]:
    """All cases of cases.json."""
    return json.loads(path.read_text(encoding="utf-8"))["cases"]


def _weights(case: dict[str, Any], facts: ArchFacts) -> tuple[int, int]:
    """(weight bytes, params): header bytes when the case gives them, else config params × dtype bytes."""
    params = estimate_params_from_config(facts)
    spec = case["weights"]
    if "bytes" in spec:
        return int(spec["bytes"]), params
    return params * DTYPE_BYTES[spec["config_params_dtype"]], params


def _options(case: dict[str, Any]) -> EstimateOptions:
    flags = case["flags"]
    gpu = case.get("gpu")
    return EstimateOptions(
        engine=case["engine"],
        context=flags.get("context"),
        kv_dtype=flags.get("kv_dtype", "auto"),
        gpu=parse_gpu(gpu) if gpu else None,
        gpu_util=flags.get("gpu_util", 0.9),
        tp=flags.get("tp", 1),
        n_ubatch=flags.get("n_ubatch", 512),
        max_num_batched_tokens=flags.get("max_num_batched_tokens"),
    )


def run(case: dict[str, Any]) -> Run:
    """Estimate one case with its config and flags."""
    facts = arch_facts(json.loads((FIXTURES / case["config"]).read_text(encoding="utf-8")))
    weights, params = _weights(case, facts)
    return Run(case, facts, estimate_memory(facts, weights, params, _options(case)))


def _rel(printed: float, ours: float, pct: float) -> bool:
    return abs(ours - printed) <= abs(printed) * pct / 100


def _tokens_agree(tokens: int, avail_gib: float, per_token: int, block: int) -> bool:
    """`tokens` is what `avail_gib` (printed, rounded) holds at `per_token` bytes, whole blocks of `block` tokens."""
    lo, hi = (avail_gib - PRINT_GIB) * GIB, (avail_gib + PRINT_GIB) * GIB
    return tokens * per_token <= hi and (tokens + block) * per_token > lo


def _weights_fig(r: Run, printed: dict) -> Figure | None:
    if "weights_gib" not in printed:
        return None
    ours = r.estimate.weights_bytes / GIB
    return _fig(r, "weights_gib", printed["weights_gib"], ours, "±1 %", _rel(printed["weights_gib"], ours, 1))


def _per_token_fig(r: Run, printed: dict) -> Figure | None:
    if "kv_tokens" not in printed or "kv_available_gib" not in printed:
        return None
    tokens, avail, ours = printed["kv_tokens"], printed["kv_available_gib"], r.estimate.kv_bytes_per_token
    block = r.case["flags"].get("block_size", 16)
    met = _tokens_agree(tokens, avail, ours, block)
    return _fig(r, "kv_bytes_per_token", avail * GIB / tokens, ours, "exact (print rounding)", met)


def _budget_figs(r: Run, printed: dict) -> Iterator[Figure]:
    est = r.estimate
    if est.kv_budget_bytes is None:
        return
    pairs = (
        ("kv_available_gib", est.kv_budget_bytes / GIB),
        ("kv_tokens", est.kv_tokens),
        ("max_concurrency", est.max_concurrency),
    )
    for name, ours in pairs:
        if name in printed and ours is not None:
            yield _fig(r, name, printed[name], float(ours), "±5 %", _rel(printed[name], float(ours), 5))


def _kv_size_fig(r: Run, printed: dict) -> Figure | None:
    if "kv_size_mib" not in printed:
        return None
    ours = r.estimate.kv_cache_bytes / MIB
    met = abs(ours - printed["kv_size_mib"]) <= PRINT_MIB
    return _fig(r, "kv_size_mib", printed["kv_size_mib"], ours, "exact", met)


def _fig(r: Run, name: str, printed: float, ours: float, target: str, met: bool) -> Figure:
    return Figure(r.case["id"], r.case["engine"], name, float(printed), float(ours), target, met)


_SINGLE: tuple[Callable[[Run, dict], Figure | None], ...] = (_weights_fig, _per_token_fig, _kv_size_fig)


def case_figures(case: dict[str, Any]) -> list[Figure]:
    """Every printed figure of one case next to cardscan's value."""
    r = run(case)
    printed = case["printed"]
    figs = [f for f in (fn(r, printed) for fn in _SINGLE) if f is not None]
    figs.extend(_budget_figs(r, printed))
    return figs


def figures(cases: list[dict[str, Any]] | None = None) -> list[Figure]:
    """All figures of all cases, in file order."""
    return [f for case in cases or load_cases() for f in case_figures(case)]


def _fmt(value: float, figure: str) -> str:
    if figure in ("kv_tokens", "kv_bytes_per_token"):
        return f"{value:,.0f}"
    return f"{value:,.2f}" if figure in ("max_concurrency", "kv_size_mib") else f"{value:,.3f}"


def table(figs: list[Figure]) -> str:
    """Markdown table of figures: case, engine, figure, engine-printed, cardscan, error %, target, met."""
    lines = [
        "| case | engine | figure | engine printed | cardscan | error % | target | met |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    for f in figs:
        cells = (f.case, f.engine, f.figure, _fmt(f.printed, f.figure), _fmt(f.ours, f.figure),
                 f"{f.error_pct:+.2f}", f.target, "yes" if f.met else "**no**")  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    """Print the comparison table for every case."""
    figs = figures()
    print(table(figs))
    print(f"\n{sum(f.met for f in figs)} of {len(figs)} figures within target.")


if __name__ == "__main__":
    main()
