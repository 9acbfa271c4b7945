import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cardscan.cli import app

EXAMPLE = str(Path(__file__).resolve().parents[1] / "examples" / "llama-2-7b")
runner = CliRunner()


def invoke(*args: str, env: dict | None = None):
    return runner.invoke(app, list(args), env=env or {})


def test_help_lists_exit_codes():
    result = invoke("--help")
    assert result.exit_code == 0
    assert "Exit codes" in result.output


def test_example_table():
    result = invoke(EXAMPLE)
    assert result.exit_code == 0, result.output
    assert "6.74B (6,738,415,616)" in result.output
    assert "from header" in result.output


def test_example_json_contract_keys():
    result = invoke(EXAMPLE, "--format", "json", "--context", "8192", "--batch", "2")
    assert result.exit_code == 0, result.output
    (doc,) = json.loads(result.output)
    for key in ("input", "repo_id", "revision", "commit", "status", "error", "model", "parameters", "weights",
                "quantization", "card", "agreement", "rule_of_thumb_bytes", "memory", "fits"):  # fmt: skip
        assert key in doc
    assert doc["status"] == "ok" and doc["error"] is None
    assert doc["parameters"]["total"] == 6_738_415_616
    assert doc["parameters"]["source"] == "header"
    assert doc["memory"]["context"] == 8192 and doc["memory"]["batch"] == 2
    # Llama-2-7B MHA fp16: 32 layers × 2 × 32 heads × 128 × 2 B = 524,288 B/token.
    assert doc["memory"]["kv_cache_bytes"] == 524_288 * 8192 * 2
    assert doc["rule_of_thumb_bytes"]["bf16/fp16"] == 6_738_415_616 * 4
    assert doc["card"]["parameters"] == 7_000_000_000
    assert doc["agreement"]["parameters"]["status"] == "consistent"


def test_batch_keeps_input_order_and_worst_exit_code(tmp_path):
    targets = tmp_path / "list.txt"
    targets.write_text(f"# comment\n{EXAMPLE}\n./no/such/folder\n{EXAMPLE}\n")
    result = invoke("--from-file", str(targets), "--format", "json")
    assert result.exit_code == 2  # bad_input is the worst failure here
    assert "line 3: './no/such/folder'" in result.stderr  # reported up front, with its line number
    docs = json.loads(result.stdout)
    assert [d["status"] for d in docs] == ["ok", "error", "ok"]
    assert docs[1]["error"]["code"] == "bad_input"


def test_offline_miss_exit_code(tmp_path):
    result = invoke("org/not-cached", "--offline", "--format", "json", env={"HF_HOME": str(tmp_path)})
    assert result.exit_code == 6
    assert json.loads(result.output)[0]["error"]["code"] == "offline_miss"


def test_unknown_gpu_is_a_usage_error():
    result = invoke(EXAMPLE, "--gpu", "potato9000")
    assert result.exit_code == 2


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_output_file(tmp_path, fmt):
    out = tmp_path / f"out.{fmt}"
    result = invoke(EXAMPLE, "--format", fmt, "-o", str(out))
    assert result.exit_code == 0 and out.read_text()


def test_optimizer_choices_match_the_training_table():
    from cardscan.cli import Optimizer
    from cardscan.estimate.training import OPTIMIZERS

    assert {o.value for o in Optimizer} == set(OPTIMIZERS)


def test_fine_tuning_with_zero_sharding_is_smaller_per_gpu():
    one = json.loads(invoke(EXAMPLE, "--mode", "full", "--format", "json").output)[0]["training"]
    eight = json.loads(invoke(EXAMPLE, "--mode", "full", "--zero", "3", "--num-gpus", "8", "--format", "json").output)
    assert eight[0]["training"]["total_bytes"] < one["total_bytes"] / 4
    legacy = invoke(EXAMPLE, "--mode", "full", "--zero", "3", "--gpus", "8", "--format", "json")
    assert "read as --num-gpus 8" in legacy.stderr
    assert json.loads(legacy.stdout)[0]["training"] == eight[0]["training"]
    assert invoke(EXAMPLE, "--mode", "lora", "--optimizer", "bogus").exit_code == 2


def test_ctrl_c_keeps_finished_results():
    from cardscan.scanner import Interrupted, scan_many

    def stop(index, result):
        raise KeyboardInterrupt

    with pytest.raises(Interrupted) as info:
        scan_many([EXAMPLE, EXAMPLE, EXAMPLE], workers=1, on_result=stop)
    codes = [r.error.code if r.error else "ok" for r in info.value.results]
    assert codes[0] == "ok" and set(codes[1:]) <= {"ok", "interrupted"}
    assert len(info.value.results) == 3


def test_lora_targets_and_rank_give_exact_trainable_params():
    out = invoke(EXAMPLE, "--mode", "lora", "--lora-rank", "8", "--lora-targets", "q_proj,v_proj", "--format", "json")
    # Llama-2-7B: 32 layers × 2 modules × r·(4096 + 4096)
    assert json.loads(out.output)[0]["training"]["trainable_params"] == 32 * 2 * 8 * 8192


def test_to_dict_is_the_json_output():
    from cardscan import ScanOptions, scan
    from cardscan.render import render

    r = scan(EXAMPLE)
    assert json.loads(json.dumps(r.to_dict())) == json.loads(render([r], "json"))[0]
    assert r.to_dict()["verdict"]["gpus"]
    capacity = scan(EXAMPLE, ScanOptions(gpu="rtx4090")).to_dict()["capacity"]
    assert capacity["least_lossy_precision"] == capacity["cheapest_precision"] == "bf16"  # the old key is kept


def test_public_names_are_exported():
    import cardscan
    from cardscan import EXIT_CODES, ErrorCode, Interrupted, ScanOptions, ScanResult, Verdict, scan, scan_many

    assert EXIT_CODES[ErrorCode.OFFLINE_MISS] == 6 and issubclass(Interrupted, Exception)
    assert all(callable(f) for f in (scan, scan_many)) and ScanOptions and ScanResult and Verdict
    assert set(cardscan.__all__) <= set(dir(cardscan))
    assert (Path(cardscan.__file__).parent / "py.typed").exists()


def test_help_lists_the_gpus_command_and_gpus_json():
    assert "gpus" in invoke("--help").output
    rows = json.loads(invoke("gpus", "--json").stdout)
    h100 = next(g for g in rows if g["name"] == "H100 SXM 80GB")
    assert h100["bandwidth_gbs"] == 3350 and h100["bandwidth_source"] and "matrix" in h100["show"]
    assert all(g["bandwidth_gbs"] for g in rows)


_OWN = """
import atexit, sys
atexit.register(lambda: print("exit hook ran", file=sys.stderr))
from cardscan.cli import run
sys.argv = ["cardscan", *sys.argv[1:]]
run()
"""


@pytest.mark.parametrize(("target", "code"), [(EXAMPLE, 0), ("org/not-cached", 6)])
def test_own_process_ends_fast_with_all_output_hooks_and_the_exit_code(target: str, code: int) -> None:
    """The console script skips the interpreter's teardown after a scan: the whole output still arrives through a
    pipe, the exit code is the documented one, and `atexit` hooks (coverage, wrappers) still run."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(Path(EXAMPLE).parent / "no-such-cache")}
    proc = subprocess.run(
        [sys.executable, "-c", _OWN, target, "--format", "json"], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == code, proc.stderr
    (result,) = json.loads(proc.stdout)
    assert result["status"] == ("ok" if code == 0 else "error")
    assert "exit hook ran" in proc.stderr and "Traceback" not in proc.stderr
