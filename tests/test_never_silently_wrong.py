"""Unknown is said, never shown as 0: nothing measured is `no_weights` (exit 8); options out of range never reach
the estimator; a config-only repo is compared with what its config declares, not with "not quantized"."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardscan import interpret
from cardscan.options import ScanOptions
from cardscan.scanner import scan
from tests.test_kinds import run as scan_files

ROOT = Path(__file__).resolve().parents[1]


def test_a_folder_with_nothing_readable_is_no_weights_exit_8(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"\x08\x07" * 8)
    (tmp_path / "notes.txt").write_text("hello")
    r = scan(str(tmp_path))
    assert not r.ok and r.error is not None and r.error.code == "no_weights"
    assert "model (onnx)" in r.error.message
    cli = subprocess.run([sys.executable, "-m", "cardscan", str(tmp_path), "--format", "csv"], capture_output=True)
    assert cli.returncode == 8 and b"Traceback" not in cli.stderr


def test_a_formula_that_finds_no_fields_gives_unknown_not_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interpret, "meta_parameter_count", lambda config: None)  # as without the [meta] extra
    config = {"model_type": "mystery", "architectures": ["MysteryForCausalLM"], "width": 64, "depth": 2}
    r = scan_files({"config.json": json.dumps(config).encode()})
    assert not r.ok and r.error is not None and r.error.code == "no_weights"
    assert r.parameters is None or r.parameters.total is None


def test_a_config_only_fp8_repo_is_not_called_unquantized(monkeypatch: pytest.MonkeyPatch) -> None:
    config = json.loads((ROOT / "tests/fixtures/configs/Qwen__Qwen3-30B-A3B-FP8.json").read_text())
    card = b"---\ntags: [fp8]\n---\n# Qwen3-30B-A3B-FP8\nThis repo holds the FP8 version of Qwen3-30B-A3B.\n"
    r = scan_files({"config.json": json.dumps(config).encode(), "README.md": card})
    quant = next(a for a in r.agreement if a.field == "quantization")
    assert quant.status != "differs", quant
    assert any("as config.json declares it" in n for n in r.notes)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(context=st.integers(-(2**70), 2**70), batch=st.integers(-(2**70), 2**70), tp=st.integers(-10, 10**7))
def test_options_out_of_range_never_reach_the_estimator(context: int, batch: int, tp: int) -> None:
    try:
        options = ScanOptions(context=context, batch=batch, tp=tp)
    except ValueError:
        return
    r = scan(str(ROOT / "examples" / "llama-2-7b"), options)
    assert r.ok and r.memory is not None
    assert r.memory.context > 0 and r.memory.kv_cache_bytes >= 0 and r.memory.total_bytes > 0


def test_no_ok_result_shows_zero_or_negative_figures() -> None:
    """Every ok result of the example corpus: counts, memory terms and contexts are positive or absent."""
    for target in ("examples/llama-2-7b",):
        r = scan(str(ROOT / target), ScanOptions(gpu="rtx4090"))
        assert r.ok and r.parameters is not None and (r.parameters.total or 0) > 0
        m = r.memory
        assert m is not None and m.context > 0 and m.weights_bytes > 0 and m.total_bytes > 0
        assert min(m.kv_cache_bytes, m.activations_bytes, m.overhead_bytes) >= 0
        assert all(v > 0 for v in r.precision_bytes.values())


def test_every_format_shows_the_same_agreement_rows_without_a_card(tmp_path: Path) -> None:
    """A repo without a README whose name claims a size: table and markdown show the name's check JSON reports."""
    from cardscan.render import render

    folder = tmp_path / "Llama-2-13b-test"
    folder.mkdir()
    for f in ROOT.joinpath("examples", "llama-2-7b").iterdir():
        if f.name != "README.md":
            (folder / f.name).write_bytes(f.read_bytes())
    r = scan(str(folder))
    differs = [a for a in r.agreement if a.status == "differs"]
    assert differs and differs[0].field == "parameters" and "name says 13B" in differs[0].note
    for fmt in ("table", "markdown", "json"):
        assert "name says 13B" in render([r], fmt), fmt
    assert ",differs," in render([r], "csv")  # csv carries the status column
