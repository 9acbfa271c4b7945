"""Analytic (±1%) vs meta-device (exact) parameter counts vs published totals, for every fixture config.

Evidence for the "within 1% from config.json alone" claim; its output is pasted into docs/meta-count.md.
Run: python scripts/check_config_counts.py [CONFIG_DIR]   (meta column needs `pip install cardscan[meta]`)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cardscan.parse.config import arch_facts, estimate_params_from_config
from cardscan.parse.meta_count import MetaCount, meta_parameter_count

CONFIGS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "configs"

# Published totals: Hub safetensors "Model size" sums / model cards, as pinned in tests/test_corpus.py DENSE,
# tests/test_config.py KNOWN_TOTALS and shared/spec/quant-formats.md (gpt-oss-20b §mxfp4).
PUBLISHED = {
    "meta-llama__Llama-2-7b-hf": 6_738_415_616,
    "meta-llama__Llama-3.1-8B": 8_030_261_248,
    "mistralai__Mistral-7B-v0.1": 7_241_732_096,
    "mistralai__Mixtral-8x7B-v0.1": 46_702_792_704,
    "Qwen__Qwen3-30B-A3B": 30_532_122_624,
    "Qwen__Qwen3-8B": 8_190_735_360,
    "Qwen__Qwen2-0.5B": 494_032_768,
    "google__gemma-2-2b": 2_614_341_888,
    "google__gemma-3-1b-it": 999_885_952,
    "openai-community__gpt2": 124_439_808,
    "TinyLlama__TinyLlama-1.1B-Chat-v1.0": 1_100_048_384,
    "openai__gpt-oss-20b": 20_914_757_184,
    "microsoft__phi-2": 2_779_683_840,
    # Header sum without layer 61 (MTP), router bias included ("671B + 14B MTP", DeepSeek README_WEIGHTS).
    "deepseek-ai__DeepSeek-V3": 671_026_419_200,
}

COLUMNS = ("config", "analytic", "meta", "published", "analytic err", "meta err", "meta class")


def _err(got: int | None, truth: int | None) -> str:
    if got is None or truth is None:
        return "–"
    if got == truth:
        return "exact"
    return f"{100 * (got - truth) / truth:+.4g}% ({got - truth:+,})"


def _num(n: int | None) -> str:
    return "–" if n is None else f"{n:,}"


def row(name: str, config: dict, meta: MetaCount | None) -> tuple[str, ...]:
    """One table row; the truth for the analytic error is the published total, else the meta count."""
    try:
        analytic = estimate_params_from_config(arch_facts(config))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        analytic = None
    exact = meta.total if meta else None
    truth = PUBLISHED.get(name, exact)
    return (
        name,
        _num(analytic),
        _num(exact),
        _num(PUBLISHED.get(name)),
        _err(analytic, truth),
        _err(exact, PUBLISHED.get(name)),
        meta.architecture if meta else "(not built)",
    )


def main(folder: Path = CONFIGS) -> None:
    configs = {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
    metas = {name: meta_parameter_count(config) for name, config in configs.items()}
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for name, config in configs.items():
        print("| " + " | ".join(row(name, config, metas[name])) + " |")
    print("\nanalytic err: against published when known, else against meta. meta err: against published.")
    print("\nmeta notes:")
    for name, meta in metas.items():
        for note in meta.notes if meta else ("not built (see docs/meta-count.md)",):
            print(f"- {name}: {note}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else CONFIGS)
