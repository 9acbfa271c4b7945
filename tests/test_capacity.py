"""Capacity searches on one GPU and the fit matrix."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from cardscan.estimate.capacity import best_precision, fit_matrix, max_batch, max_context, smallest_tp
from cardscan.estimate.engines import EstimateOptions, estimate_memory
from cardscan.estimate.fit import fits
from cardscan.estimate.gpus import Gpu, parse_gpu
from cardscan.parse.config import arch_facts, estimate_params_from_config

CONFIGS = Path(__file__).parent / "fixtures" / "configs"
LLAMA = arch_facts(json.loads((CONFIGS / "meta-llama__Llama-3.1-8B.json").read_text()))
PARAMS = estimate_params_from_config(LLAMA)
W = PARAMS * 2
RTX4090 = parse_gpu("rtx4090")


def _fits(opts: EstimateOptions, gpu: Gpu = RTX4090, weights: int = W) -> bool:
    return fits(estimate_memory(LLAMA, weights, PARAMS, opts), gpu).fits


def test_max_context_is_the_boundary() -> None:
    s = max_context(LLAMA, W, PARAMS, EstimateOptions(), RTX4090)
    assert s is not None and 1 < s < 131072
    assert _fits(EstimateOptions(context=s)) and not _fits(EstimateOptions(context=s + 1))


def test_max_context_none_when_weights_alone_do_not_fit() -> None:
    assert max_context(LLAMA, W, PARAMS, EstimateOptions(), parse_gpu("RTX 3060")) is None


def test_max_context_capped_at_model_max() -> None:
    assert max_context(LLAMA, W, PARAMS, EstimateOptions(), parse_gpu("H200")) == 131072


def test_max_batch_is_the_boundary() -> None:
    opts = EstimateOptions(context=8192)
    b = max_batch(LLAMA, W, PARAMS, opts, RTX4090)
    assert b is not None and _fits(replace(opts, batch=b)) and not _fits(replace(opts, batch=b + 1))


def test_best_precision_and_smallest_tp() -> None:
    opts = EstimateOptions(context=8192)
    assert best_precision(LLAMA, PARAMS, opts, parse_gpu("RTX 3060")) == "fp8"
    assert best_precision(LLAMA, PARAMS, opts, RTX4090) == "bf16"
    assert smallest_tp(LLAMA, W, PARAMS, opts, parse_gpu("RTX 3060")) == 2
    assert smallest_tp(LLAMA, W, PARAMS, opts, RTX4090) == 1


def test_fit_matrix_shape() -> None:
    rows = fit_matrix(LLAMA, PARAMS, EstimateOptions(context=8192))
    assert [r.precision for r in rows] == ["bf16", "fp8", "int4"]
    assert all(len(r.fits) == 6 for r in rows)
    by_gpu = {f.gpu.name: f.fits for f in rows[0].fits}
    assert by_gpu["H100 SXM 80GB"] and not by_gpu["RTX 3060 12GB"]


def test_resolve_never_reads_context_or_batch() -> None:
    """The capacity searches size options for a GPU once and then vary context and batch: that is only right while
    every engine's resolve() ignores them."""
    from cardscan.estimate.engines import ENGINES
    from cardscan.estimate.gpus import display_set

    for name, engine in ENGINES.items():
        for gpu in display_set("matrix"):
            base = EstimateOptions(engine=name, gpu=gpu)
            for change in ({"context": 777}, {"batch": 5}, {"context": 131072, "batch": 64}):
                assert engine.resolve(replace(base, **change)) == replace(engine.resolve(base), **change), (
                    name,
                    change,
                )
