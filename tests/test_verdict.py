"""The verdict: computed in the estimate stage, put into words by render/units.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cardscan.estimate.engines import EstimateOptions, estimate_memory
from cardscan.estimate.fit import fits
from cardscan.estimate.gpus import display_set, parse_gpu
from cardscan.estimate.verdict import Model, quick_rule_reason, verdict
from cardscan.parse.config import arch_facts, estimate_params_from_config
from cardscan.render.units import gpu_verdict_text, summary_verdict_text, tokens_short
from cardscan.scanner import ScanOptions, scan

CONFIGS = Path(__file__).parent / "fixtures" / "configs"
EXAMPLE = Path(__file__).parents[1] / "examples" / "llama-2-7b"
LLAMA = arch_facts(json.loads((CONFIGS / "meta-llama__Llama-3.1-8B.json").read_text()))
PARAMS = estimate_params_from_config(LLAMA)


def _verdict(engine: str = "generic", gpus: tuple[str, ...] = ("rtx4090",), **opts: int):  # type: ignore[no-untyped-def]
    options = EstimateOptions(engine=engine, context=131072, **opts)  # type: ignore[arg-type]
    memory = estimate_memory(LLAMA, PARAMS * 2, PARAMS, options)
    return verdict(Model(LLAMA, PARAMS * 2, PARAMS, options), "bf16", memory, [parse_gpu(g) for g in gpus], True)


def test_the_issue_example_llama31_8b_on_a_4090() -> None:
    v = _verdict()
    (g,) = v.gpus
    assert not g.fits and g.max_context == 66_770
    text = gpu_verdict_text(v, g)
    assert text.startswith("fits RTX 4090 24GB at bf16 up to 66,770 tokens (batch 1); at your context 131,072:")
    assert "needs 31.5 GiB" in text and " short → use fp8 (fits to " in text and "or int4" in text
    assert text.endswith("or 2 GPUs (TP 2)")


def test_max_context_is_the_boundary_and_shortfall_matches_the_fit() -> None:
    (g,) = _verdict().gpus
    gpu = parse_gpu("rtx4090")
    at = estimate_memory(LLAMA, PARAMS * 2, PARAMS, EstimateOptions(context=g.max_context, gpu=gpu))
    beyond = estimate_memory(LLAMA, PARAMS * 2, PARAMS, EstimateOptions(context=(g.max_context or 0) + 1, gpu=gpu))
    assert fits(at, gpu).fits and not fits(beyond, gpu).fits
    assert g.short_bytes == g.needs_bytes - g.budget_bytes > 0


def test_llamacpp_suggests_gpu_layers_with_host_ram() -> None:
    (g,) = _verdict("llama.cpp").gpus
    layers = [s for s in g.suggestions if s.kind == "gpu_layers"]
    assert layers and 0 < int(layers[0].value) < LLAMA.num_layers and (layers[0].host_bytes or 0) > 0
    assert not [s for s in g.suggestions if s.kind == "tp"]


def test_batch_suggestion_when_a_smaller_batch_fits() -> None:
    options = EstimateOptions(context=8192, batch=64)
    memory = estimate_memory(LLAMA, PARAMS * 2, PARAMS, options)
    v = verdict(Model(LLAMA, PARAMS * 2, PARAMS, options), "bf16", memory, [parse_gpu("rtx4090")], True)
    batch = [s for s in v.gpus[0].suggestions if s.kind == "batch"]
    assert batch and 1 <= int(batch[0].value) < 64


def test_summary_names_fitting_and_short_cards() -> None:
    v = _verdict(gpus=("rtx3060", "rtx4090", "h100"))
    text = summary_verdict_text(v)
    assert text.startswith("fits H100 SXM 80GB at bf16 at your context 131,072 (batch 1, generic)")
    assert "RTX 4090 24GB only up to 66,770 tokens" in text and "RTX 3060 12GB not at all (→ fp8 fits to" in text


def test_display_set_has_a_consumer_a_workstation_and_a_datacenter_card() -> None:
    kinds = {g.kind for g in display_set("matrix")}
    assert {"consumer", "workstation", "datacenter"} <= kinds


def test_scan_attaches_the_verdict_and_gpus_option_picks_the_set() -> None:
    r = scan(str(EXAMPLE), ScanOptions(gpus=("rtx3060", "h100")))
    assert r.verdict is not None and [g.gpu for g in r.verdict.gpus] == ["RTX 3060 12GB", "H100 SXM 80GB"]
    assert [f.gpu.name for f in r.fit_matrix[0].fits] == ["RTX 3060 12GB", "H100 SXM 80GB"]
    assert r.fit_matrix[0].max_context == (None, 4096)
    one = scan(str(EXAMPLE), ScanOptions(gpu="rtx4090"))
    assert one.verdict is not None and [g.gpu for g in one.verdict.gpus] == ["RTX 4090 24GB"]


def test_bad_gpus_option_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"^gpus: unknown GPU"):
        ScanOptions(gpus=("potato9000",))


def test_quick_rule_reason_only_past_25_percent() -> None:
    short = estimate_memory(LLAMA, PARAMS * 2, PARAMS, EstimateOptions(context=4096))
    long = estimate_memory(LLAMA, PARAMS * 2, PARAMS, EstimateOptions(context=131072, batch=4))
    assert "second copy of the weights" in (quick_rule_reason(short) or "")
    assert "exceed the rule's allowance" in (quick_rule_reason(long) or "")
    near = estimate_memory(LLAMA, PARAMS * 2, PARAMS, EstimateOptions(context=60000))
    ratio = abs(near.quick_rule_bytes - near.total_bytes) / near.total_bytes
    assert (quick_rule_reason(near) is None) == (ratio <= 0.25)


@pytest.mark.parametrize(
    ("n", "text"), [(512, "512"), (4096, "4,096"), (12345, "12.3k"), (66770, "66.8k"), (131072, "131k")]
)
def test_tokens_short(n: int, text: str) -> None:
    assert tokens_short(n) == text
