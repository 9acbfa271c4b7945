"""Compare cardscan's memory estimate with figures vLLM, SGLang and llama.cpp printed in public logs.

Reads tests/fixtures/engine_logs/cases.json (one case per engine run: source, engine, version, GPU, settings, config,
printed figures, calibration / held-out split), runs `estimate_memory` with the same settings and prints a markdown
table: case, engine, figure, engine-printed, cardscan, error %, target, met, split — then the error summary per
split. Cases of an engine the estimator does not have yet (SGLang) are listed as "no engine yet", with the per-token
KV bytes (engine-independent) still checked. `python bench/engine_compare.py` (no network, < 1 s); `--split
held_out` or `--engine vllm` narrow the table. The golden tests use `load_cases()` and `figures()`.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cardscan.estimate.engines import ENGINES, EstimateOptions, MemoryEstimate, estimate_memory
from cardscan.estimate.gpus import parse_gpu
from cardscan.estimate.kv import KVPolicy, kv_cache
from cardscan.parse.config import ArchFacts, arch_facts, estimate_params_from_config

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
CASES = FIXTURES / "engine_logs" / "cases.json"
GIB, MIB = 1 << 30, 1 << 20
PRINT_GIB = 0.005  # engines print GiB with 2 decimals: a printed value is ± half a hundredth
PRINT_MIB = 0.005
DTYPE_BYTES = {"bf16": 2, "fp16": 2, "fp32": 4, "fp8": 1}  # for weights derived from the config's parameter count
NO_ENGINE = "no engine yet"


@dataclass(frozen=True)
class Figure:
    """One engine-printed number next to cardscan's estimate of it."""

    case: str
    """Case id in cases.json."""
    engine: str
    """vllm, sglang or llama.cpp."""
    figure: str
    """Which number: weights_gib, kv_bytes_per_token, kv_available_gib, kv_tokens, max_concurrency, kv_size_mib."""
    printed: float
    """What the engine printed (kv_bytes_per_token: memory ÷ tokens, implied by two printed figures)."""
    ours: float | None
    """cardscan's estimate, same unit; None where the estimator has no such engine yet."""
    target: str
    """The accuracy target (docs/accuracy.md)."""
    met: bool
    """Whether cardscan is within the target (False when there is no estimate)."""
    split: str = ""
    """calibration or held_out (cases.json)."""

    @property
    def error_pct(self) -> float:
        """Signed error of cardscan relative to the engine, in percent (nan without an estimate)."""
        if self.ours is None:
            return math.nan
        return (self.ours - self.printed) / self.printed * 100 if self.printed else math.inf


@dataclass(frozen=True)
class Run:
    """One case's inputs resolved, and the estimate they give."""

    case: dict[str, Any]
    """The case as stored in cases.json."""
    facts: ArchFacts
    """Architecture facts of the case's config."""
    estimate: MemoryEstimate
    """cardscan's estimate under the case's settings."""


def load_all_cases(path: Path = CASES) -> list[dict[str, Any]]:
    """Every case of cases.json, whatever its engine."""
    return json.loads(path.read_text(encoding="utf-8"))["cases"]


def load_cases(path: Path = CASES) -> list[dict[str, Any]]:
    """The cases of engines the estimator has (the golden tests assert these)."""
    return [c for c in load_all_cases(path) if c["engine"] in ENGINES]


def _facts(case: dict[str, Any]) -> ArchFacts:
    return arch_facts(json.loads((FIXTURES / case["config"]).read_text(encoding="utf-8")))


def _linear_split_bytes(facts: ArchFacts, params: int, linear_bytes: int, other_bytes: int) -> int:
    """Quantized linear layers at `linear_bytes`; embeddings, lm_head and norms (the rest) at `other_bytes`."""
    embed = facts.vocab_size * facts.hidden_size * (1 if facts.tie_word_embeddings else 2)
    norms = (2 * facts.num_layers + 1) * facts.hidden_size
    return (params - embed - norms) * linear_bytes + (embed + norms) * other_bytes


def _weights(case: dict[str, Any], facts: ArchFacts) -> tuple[int, int]:
    """(weight bytes, params): header bytes, the printed weights, or config params × dtype bytes."""
    params = estimate_params_from_config(facts)
    spec = case["weights"]
    if spec.get("bytes"):
        return int(spec["bytes"]), params
    if spec.get("use_printed"):  # no byte count at hand: compare the budget terms only
        return int(case["printed"]["weights_gib"] * GIB * case["flags"].get("tp", 1)), params
    dtype_bytes = DTYPE_BYTES[spec["config_params_dtype"]]
    if "linear_dtype" in spec:
        return _linear_split_bytes(facts, params, DTYPE_BYTES[spec["linear_dtype"]], dtype_bytes), params
    return params * dtype_bytes, params


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
    """Estimate one case with its config and settings."""
    facts = _facts(case)
    weights, params = _weights(case, facts)
    return Run(case, facts, estimate_memory(facts, weights, params, _options(case)))


def _rel(printed: float, ours: float, pct: float) -> bool:
    return abs(ours - printed) <= abs(printed) * pct / 100


def _tokens_agree(tokens: int, avail_gib: float, per_token: int, block: int) -> bool:
    """`tokens` is what `avail_gib` (printed, rounded) holds at `per_token` bytes, whole blocks of `block` tokens."""
    lo, hi = (avail_gib - PRINT_GIB) * GIB, (avail_gib + PRINT_GIB) * GIB
    return tokens * per_token <= hi and (tokens + block) * per_token > lo


def _weights_fig(r: Run, printed: dict) -> Figure | None:
    if "weights_gib" not in printed or r.case["weights"].get("use_printed"):
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
    return Figure(
        r.case["id"], r.case["engine"], name, float(printed), float(ours), target, met, r.case.get("split", "")
    )


_SINGLE: tuple[Callable[[Run, dict], Figure | None], ...] = (_weights_fig, _per_token_fig, _kv_size_fig)


def _pool_bytes_agree(tokens: int, k_gib: float, v_gib: float, per_token: int) -> bool:
    """SGLang's K and V buffers hold tokens + 1 rows (a padding slot); each size is printed with 2 decimals."""
    lo, hi = (k_gib + v_gib - 2 * PRINT_GIB) * GIB, (k_gib + v_gib + 2 * PRINT_GIB) * GIB
    return lo <= (tokens + 1) * per_token <= hi


def _sglang_figs(case: dict[str, Any]) -> list[Figure]:
    """SGLang case: the per-token bytes are checked with cardscan's KV formula; the rest waits for an engine."""
    printed, split, cid = case["printed"], case.get("split", ""), case["id"]
    figs = [Figure(cid, "sglang", name, float(printed[name]), None, NO_ENGINE, False, split)
            for name in ("weights_gib", "kv_tokens") if name in printed]  # fmt: skip
    if {"kv_tokens", "k_size_gib", "v_size_gib"} <= printed.keys():
        facts = _facts(case)
        per_token = kv_cache(facts, KVPolicy(tp=case["flags"].get("tp", 1))).bytes_per_token
        tokens, k_gib, v_gib = printed["kv_tokens"], printed["k_size_gib"], printed["v_size_gib"]
        met = _pool_bytes_agree(tokens, k_gib, v_gib, per_token)
        implied = (k_gib + v_gib) * GIB / (tokens + 1)
        figs.append(Figure(cid, "sglang", "kv_bytes_per_token", implied, float(per_token), "exact (print rounding)",
                           met, split))  # fmt: skip
    return figs


def case_figures(case: dict[str, Any]) -> list[Figure]:
    """Every printed figure of one case next to cardscan's value."""
    if case["engine"] not in ENGINES:
        return _sglang_figs(case) if case["engine"] == "sglang" else []
    r = run(case)
    printed = case["printed"]
    figs = [f for f in (fn(r, printed) for fn in _SINGLE) if f is not None]
    figs.extend(_budget_figs(r, printed))
    return figs


def figures(cases: list[dict[str, Any]] | None = None) -> list[Figure]:
    """All figures of all cases (default: the estimator's engines, as the golden tests use), in file order."""
    return [f for case in (load_cases() if cases is None else cases) for f in case_figures(case)]


def _fmt(value: float | None, figure: str) -> str:
    if value is None:
        return "—"
    if figure in ("kv_tokens", "kv_bytes_per_token"):
        return f"{value:,.0f}"
    return f"{value:,.2f}" if figure in ("max_concurrency", "kv_size_mib") else f"{value:,.3f}"


def _met(f: Figure) -> str:
    if f.ours is None:
        return NO_ENGINE
    return "yes" if f.met else "**no**"


def table(figs: list[Figure]) -> str:
    """Markdown table of figures: case, engine, figure, engine-printed, cardscan, error %, target, met, split."""
    lines = [
        "| case | engine | figure | engine printed | cardscan | error % | target | met | split |",
        "|---|---|---|---:|---:|---:|---|---|---|",
    ]
    for f in figs:
        err = "—" if f.ours is None else f"{f.error_pct:+.2f}"
        cells = (f.case, f.engine, f.figure, _fmt(f.printed, f.figure), _fmt(f.ours, f.figure), err, f.target,
                 _met(f), f.split)  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(figs: list[Figure]) -> str:
    """Per split and figure: how many estimated figures met the target, and the mean and worst |error %|."""
    lines = ["| split | figure | figures | met | mean abs error % | worst error % |", "|---|---|---:|---:|---:|---:|"]
    keys = sorted({(f.split, f.figure) for f in figs if f.ours is not None})
    for split, name in keys:
        group = [f for f in figs if f.split == split and f.figure == name and f.ours is not None]
        errors = [f.error_pct for f in group]
        worst = max(errors, key=abs)
        mean = sum(abs(e) for e in errors) / len(errors)
        lines.append(f"| {split} | {name} | {len(group)} | {sum(f.met for f in group)} | {mean:.2f} | {worst:+.2f} |")
    return "\n".join(lines)


def _select(cases: list[dict[str, Any]], split: str | None, engine: str | None) -> list[dict[str, Any]]:
    return [c for c in cases if (split is None or c["split"] == split) and (engine is None or c["engine"] == engine)]


def main(argv: list[str] | None = None) -> None:
    """Print the comparison table and the per-split summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--split", choices=("calibration", "held_out"))
    parser.add_argument("--engine", choices=("vllm", "sglang", "llama.cpp"))
    args = parser.parse_args(argv)
    figs = figures(_select(load_all_cases(), args.split, args.engine))
    print(table(figs))
    estimated = [f for f in figs if f.ours is not None]
    print(f"\n{sum(f.met for f in estimated)} of {len(estimated)} estimated figures within target; "
          f"{len(figs) - len(estimated)} printed figures have no engine yet.\n")  # fmt: skip
    print(summary(figs))


if __name__ == "__main__":
    main()
