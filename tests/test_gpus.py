"""GPU catalogue, name/size parsing, fit check."""

from __future__ import annotations

import pytest

from cardscan.errors import ErrorCode, ScanError
from cardscan.estimate.fit import engine_budget
from cardscan.estimate.gpus import Gpu, catalogue, parse_gpu
from cardscan.units import GIB


def test_catalogue_has_30_plus_with_sold_and_usable_memory() -> None:
    cards = catalogue()
    assert len(cards) >= 30
    assert {g.kind for g in cards} >= {"consumer", "workstation", "datacenter", "apple"}
    for g in cards:
        assert 0 < g.usable_bytes <= g.memory_bytes, g.name


@pytest.mark.parametrize("text", ["rtx4090", "RTX 4090", "rtx-4090", "NVIDIA GeForce RTX 4090", "4090"])
def test_names_ignore_case_spaces_dashes(text: str) -> None:
    assert parse_gpu(text).name == "RTX 4090 24GB"


def test_h100_driver_total() -> None:
    for text in ("H100 80GB", "h100"):
        g = parse_gpu(text)
        assert g.name == "H100 SXM 80GB"
        assert g.memory_bytes == 80 * GIB and g.usable_bytes / GIB == pytest.approx(79.19, abs=0.01)


def test_apple_usable_fraction() -> None:
    g = parse_gpu("m4 max")
    assert g.kind == "apple" and g.usable_bytes == int(0.75 * 128 * GIB)


@pytest.mark.parametrize(("text", "usable_gib"), [("24GB", 24 * 0.985), ("23.5GiB", 23.5), ("80G", 80 * 0.985)])
def test_sizes(text: str, usable_gib: float) -> None:
    g = parse_gpu(text)
    assert g.kind == "custom" and g.usable_bytes / GIB == pytest.approx(usable_gib, abs=1e-6)


def test_unknown_name_lists_close_names() -> None:
    with pytest.raises(ScanError) as err:
        parse_gpu("h1000")
    assert err.value.code == ErrorCode.BAD_INPUT and "H100" in err.value.message


def test_engine_budgets() -> None:
    g = Gpu("x", 10 * GIB, 10 * GIB)
    assert engine_budget(g, "vllm", 0.9) == 9 * GIB
    assert engine_budget(g, "llama.cpp") == 9 * GIB  # 1024 MiB fit margin
    assert engine_budget(g, "generic") == 10 * GIB
