"""SGLang engine: mem_fraction_static default rules per release, the token pool, the reserve it leaves.

Rules from python/sglang/srt/server_args.py and model_runner.py `profile_max_num_token` (docs/engines-research.md
§2); the log checks are in tests/test_engine_golden.py (cases sg-*).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cardscan.estimate.engines import ENGINES, EstimateOptions, estimate_memory
from cardscan.estimate.engines.sglang import tier
from cardscan.estimate.fit import fits
from cardscan.estimate.gpus import parse_gpu
from cardscan.parse.config import arch_facts, estimate_params_from_config

CONFIGS = Path(__file__).parent / "fixtures" / "configs"
GIB, MIB = 1 << 30, 1 << 20
LLAMA = arch_facts(json.loads((CONFIGS / "meta-llama__Llama-3.1-8B.json").read_text()))
PARAMS = estimate_params_from_config(LLAMA)
WEIGHTS = PARAMS * 2


def test_releases_are_registered() -> None:
    assert {"sglang", "sglang:0.4.7", "sglang:0.4"} <= ENGINES.keys()
    assert ENGINES["sglang"].layout == "pool"


@pytest.mark.parametrize(
    ("gpu", "tp", "chunked", "graph_bs", "fraction"),
    [
        ("rtx4090", 1, 2048, 24, 0.847),  # the source comment's example: 3,760 MiB reserved of 24,564
        ("H100 80GB", 1, 8192, 256, 0.836),  # 13,440 MiB reserved (≥ 10 GiB on cards over 60 GiB)
        ("rtx 5080", 1, 2048, 8, 0.772),  # 512 + 3,072 + 16 + 128 = 3,728 MiB of 16,384
        ("rtx4090", 4, 2048, 80, 0.827),  # TP 4: graph bs 80 (160 MiB), + 512 MiB for tp/8
    ],
)
def test_current_default_fraction(gpu: str, tp: int, chunked: int, graph_bs: int, fraction: float) -> None:
    g = parse_gpu(gpu)
    assert tier(g, tp) == (chunked, graph_bs)
    assert ENGINES["sglang"].default_fraction(g, tp) == fraction  # type: ignore[attr-defined]


def test_older_default_fractions() -> None:
    """0.4.7–0.5.2: (2.8 + tp/10) GiB reserved under 35 GiB (RTX 4090 → 0.879, as sg-llama-3.1-8b-24gb logged);
    ≤ 0.4.6: by TP (0.88 at TP 1, 0.85 at TP 4 as sg-qwq-32b-4xl4-tp4 logged)."""
    mid, old = ENGINES["sglang:0.4.7"], ENGINES["sglang:0.4"]
    assert mid.default_fraction(parse_gpu("rtx4090"), 1) == 0.879  # type: ignore[attr-defined]
    assert mid.default_fraction(parse_gpu("H100 80GB"), 1) == 0.875  # type: ignore[attr-defined]  # 10 GiB of 80
    assert [old.default_fraction(None, tp) for tp in (1, 2, 4, 8, 16)] == [0.88, 0.87, 0.85, 0.81, 0.79]  # type: ignore[attr-defined]
    assert ENGINES["sglang"].default_fraction(None, 1) == 0.88  # type: ignore[attr-defined]  # GPU unknown


def test_token_pool_worked_case_h100() -> None:
    """rest = free at start × fraction − weights − load-time extras; tokens = rest // (128 KiB per token)."""
    h100 = parse_gpu("H100 80GB")
    e = estimate_memory(LLAMA, WEIGHTS, PARAMS, EstimateOptions(engine="sglang", context=8192, gpu=h100))
    free = h100.usable_bytes - int(0.37 * GIB)
    rest = int(free * 0.836) - WEIGHTS - int(0.10 * GIB)
    assert e.kv_budget_bytes == rest and e.kv_tokens == rest // 131_072
    assert e.max_concurrency == pytest.approx(e.kv_tokens / 8192) and e.fits_one_request
    # everything outside the static share is SGLang's reserve: total = weights + KV + (1 − f)·free + start-up
    reserve = e.activations_bytes + e.overhead_bytes
    assert reserve == pytest.approx(free * (1 - 0.836) + 0.37 * GIB + 0.10 * GIB, abs=2)
    assert any("figures for SGLang ≥ 0.5.3" in n for n in e.notes)


def test_explicit_fraction_and_refusal() -> None:
    g = parse_gpu("rtx4090")
    opts = EstimateOptions(engine="sglang", gpu=g, mem_fraction_static=0.7)
    e = estimate_memory(LLAMA, WEIGHTS, PARAMS, opts)
    assert e.kv_budget_bytes == int((g.usable_bytes - int(0.37 * GIB)) * 0.7) - WEIGHTS - int(0.10 * GIB)
    assert e.context == 131072 and not e.fits_one_request and e.max_context_fit == e.kv_tokens
    assert not fits(e, g).fits


def test_without_a_gpu_the_reserve_rule_is_charged() -> None:
    e = estimate_memory(LLAMA, WEIGHTS, PARAMS, EstimateOptions(engine="sglang", context=4096))
    assert e.kv_tokens is None and e.kv_budget_bytes is None
    assert e.activations_bytes == (4096 * 1.5 + 1024 / 8) * MIB  # max(chunked 4096, 2048) × 1.5 MiB + tp/8 GiB
    assert e.total_bytes == e.weights_bytes + e.kv_cache_bytes + e.activations_bytes + e.overhead_bytes


def test_tp_splits_weights_and_kv_heads() -> None:
    e = estimate_memory(LLAMA, WEIGHTS, PARAMS, EstimateOptions(engine="sglang", context=4096, tp=4))
    assert e.weights_bytes == -(-WEIGHTS // 4) and e.kv_bytes_per_token == 131_072 // 4
