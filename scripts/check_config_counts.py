"""Config-only parameter counts (parse/config.py `count_from_config`) against transformers on the meta device, for
every real config.json in tests/fixtures/configs: the evidence behind each family's "exact" / "approximate" label.

    python scripts/check_config_counts.py            # rebuild every config with transformers (`cardscan[meta]`),
                                                     # write tests/fixtures/configs/meta_counts.json, print the tables
    python scripts/check_config_counts.py --cached   # no torch needed: read the meta counts from that JSON

The printed markdown is pasted into docs/accuracy.md (section "Config-only counts"). A *silent miss* is a config
whose figure is labelled exact but differs from transformers, or labelled approximate but off by more than its
stated bound; the goal is none.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cardscan.parse.config import ConfigCount, count_from_config
from cardscan.parse.families import family
from cardscan.parse.meta_count import meta_parameter_count

CONFIGS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "configs"
META_JSON = CONFIGS / "meta_counts.json"

# Published totals (Hub safetensors header sums) where we know them: a check on the meta count itself.
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
    # Header sum without layer 61 (MTP), router bias included ("671B + 14B MTP", DeepSeek-V3 README_WEIGHTS.md).
    "deepseek-ai__DeepSeek-V3": 671_026_419_200,
}


def load_configs(folder: Path = CONFIGS) -> dict[str, dict[str, Any]]:
    """Every fixture config by file stem (meta_counts.json excluded)."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json")) if p != META_JSON}


def why_not_built(config: Mapping) -> str:
    """Why transformers cannot build a config here."""
    if not isinstance(config.get("model_type"), str):
        return "no model_type"
    if "auto_map" in config:
        return "remote code (trust_remote_code)"
    return "not buildable by the installed transformers"


def meta_entry(config: Mapping) -> dict[str, Any]:
    """The meta-device count of one config as stored in meta_counts.json."""
    meta = meta_parameter_count(config)
    if meta is None:
        return {"built": False, "why": why_not_built(config)}
    # Checkpoints store some transformers buffers as tensors (DeepSeek's router bias): compare with both together.
    return {
        "built": True,
        "total": meta.total + meta.buffer_elements,
        "parameters": meta.total,
        "buffers": meta.buffer_elements,
        "architecture": meta.architecture,
        "transformers": meta.transformers_version,
    }


def relative_error(got: int | None, truth: int | None) -> float | None:
    """(got − truth) / truth, None when either is missing."""
    if got is None or not truth:
        return None
    return (got - truth) / truth


def verdict(count: ConfigCount, err: float | None) -> str:
    """ok / silent miss / no number / not checkable, for one config."""
    if count.total is None:
        return "no number"
    if err is None:
        return "not checkable"
    bound = 0.0 if count.exact else (count.expected_error or 0.0)
    return "ok" if abs(err) <= bound + 1e-12 else "SILENT MISS"


def _pct(err: float | None) -> str:
    if err is None:
        return "–"
    return "0" if err == 0 else f"{100 * err:+.3g}%"


def _num(n: int | None) -> str:
    return "–" if n is None else f"{n:,}"


def rows(configs: Mapping[str, Mapping], metas: Mapping[str, Mapping]) -> list[dict[str, Any]]:
    """One record per config: formula, label, meta count, error, verdict."""
    out = []
    for name, config in configs.items():
        count = count_from_config(config)
        meta = metas.get(name) or {"built": False, "why": "not computed"}
        # Transformers' count is the truth; where it cannot build the config, the published total if we know one.
        truth = meta.get("total") if meta.get("built") else PUBLISHED.get(name)
        err = relative_error(count.total, truth)
        model_type = str(config.get("model_type") or "–")
        out.append({
            "name": name, "model_type": model_type, "count": count, "meta": meta, "truth": truth, "err": err,
            "verdict": verdict(count, err), "published": PUBLISHED.get(name),
        })  # fmt: skip
    return out


def config_table(records: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| config | model_type | formula | label | transformers (meta) | error | verdict |",
        "|---|---|---:|---|---:|---:|---|",
    ]
    for r in records:
        meta = r["meta"]
        truth = _num(r["truth"]) if meta.get("built") else f"not built: {meta.get('why')}"
        if not meta.get("built") and r["published"]:
            truth += f"; published {_num(r['published'])}"
        lines.append(
            f"| {r['name']} | {r['model_type']} | {_num(r['count'].total)} | {r['count'].label} | {truth} "
            f"| {_pct(r['err'])} | {r['verdict']} |"
        )
    return lines


def family_table(records: list[dict[str, Any]]) -> list[str]:
    by_family: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        row = family(r["model_type"])
        by_family[row.model_type if row else f"{r['model_type']} (no row)"].append(r)
    lines = [
        "| family | configs | checked | largest error | label | silent misses |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for name in sorted(by_family):
        group = by_family[name]
        errs = [r["err"] for r in group if r["err"] is not None]
        worst = max(errs, key=abs) if errs else None
        labels = sorted({r["count"].label for r in group})
        misses = sum(r["verdict"] == "SILENT MISS" for r in group)
        lines.append(f"| {name} | {len(group)} | {len(errs)} | {_pct(worst)} | {', '.join(labels)} | {misses} |")
    return lines


def summary(records: list[dict[str, Any]]) -> list[str]:
    counts: dict[str, int] = defaultdict(int)
    for r in records:
        counts[r["verdict"]] += 1
    over = sum(1 for r in records if r["verdict"] == "SILENT MISS" and r["err"] is not None and abs(r["err"]) > 0.01)
    parts = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()) if k != "SILENT MISS")
    return [f"{len(records)} configs — {parts}; silent misses: {counts['SILENT MISS']} ({over} over 1%)"]


def main(argv: list[str]) -> int:
    configs = load_configs()
    if "--cached" in argv:
        metas = json.loads(META_JSON.read_text())
    else:
        metas = {name: meta_entry(config) for name, config in configs.items()}
        META_JSON.write_text(json.dumps(metas, indent=1, sort_keys=True) + "\n")
    records = rows(configs, metas)
    print("\n".join([*summary(records), "", *family_table(records), "", *config_table(records)]))
    return 1 if any(r["verdict"] == "SILENT MISS" for r in records) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
