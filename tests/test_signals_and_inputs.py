"""A job scheduler's SIGTERM keeps what finished; Ctrl-C leaves at once even while a scan hangs; a list is validated
up front; a folder walk never loops or leaves the folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cardscan.scanner import scan
from cardscan.testing.hub import HubEmulator

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "llama-2-7b"


def _cli(args: list[str], hub: HubEmulator | None = None, **kw: object) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HF_HUB_DISABLE_TELEMETRY": "1"}
    env.pop("HF_TOKEN", None)
    if hub is not None:
        env["HF_ENDPOINT"] = hub.url
    return subprocess.Popen([sys.executable, "-m", "cardscan", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kw)  # type: ignore[call-overload]  # fmt: skip


@pytest.mark.integration
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_batch_writes_what_finished_and_exits_promptly(hub: HubEmulator, tmp_path: Path, sig: int) -> None:
    """One repo answers at once, the other stalls for a minute: the signal ends the run within seconds, the finished
    result is in the output file (written whole), the stalled one is marked interrupted."""
    hub.set_fault("meta-llama/Llama-2-7b-hf", latency=60)
    out = tmp_path / "out.json"
    proc = _cli([str(EXAMPLE), "meta-llama/Llama-2-7b-hf", "--timeout", "120", "-o", str(out)], hub)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any("Llama-2-7b" in e.path for e in hub.log):
        time.sleep(0.05)
    time.sleep(0.5)
    started = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=20)
    assert time.monotonic() - started < 10, "the process waited for the stalled scan"
    assert proc.returncode == 130, err
    assert b"Traceback" not in err
    results = json.loads(out.read_text())
    assert [r["status"] for r in results] == ["ok", "error"]
    assert results[1]["error"]["code"] == "interrupted"


def test_a_list_is_validated_up_front_and_nothing_goes_missing(tmp_path: Path) -> None:
    targets = tmp_path / "list.txt"
    lines = [str(EXAMPLE), "org/ok-name", "not a repo!", "x" * 1000, "a--b/c", "# a comment", ""]
    targets.write_text("\n".join(lines) + "\n" + "\n".join(f"bad id {i}" for i in range(10_000)))
    started = time.monotonic()
    proc = _cli(["--from-file", str(targets), "--format", "csv", "--offline"])
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 6 and b"Traceback" not in err  # offline_miss (org/ok-name) is the worst
    text = err.decode()
    assert "line 3:" in text and "line 4:" in text and "line 5:" in text and "line 1:" not in text
    assert "10,003 invalid line(s), not scanned" in text
    rows = out.decode().splitlines()
    assert len(rows) == 1 + 10_005 and ",ok," in rows[1]  # every line has its row; the valid ones were scanned
    assert time.monotonic() - started < 60


def test_a_folder_walk_never_loops_or_leaves_the_folder(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    for f in EXAMPLE.iterdir():
        (model / f.name).write_bytes(f.read_bytes())
    (model / "loop").symlink_to(model, target_is_directory=True)  # a cycle
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "other.safetensors").write_bytes((EXAMPLE / "model-00002-of-00002.safetensors").read_bytes())
    (model / "escape").symlink_to(outside, target_is_directory=True)  # a way out
    started = time.monotonic()
    r = scan(str(model))
    assert time.monotonic() - started < 10
    assert r.ok and r.parameters is not None and r.parameters.total == 6_738_415_616
    names = [a.name for a in r.weights.alternatives] if r.weights else []
    assert not any("escape" in n or "loop" in n for n in names)


@pytest.mark.parametrize("target", ["", "   ", "x" * 1000, "org/" + "a" * 97, "a--b/c", "org/name.git"])
def test_inputs_the_hub_would_refuse_are_bad_input_before_any_request(target: str) -> None:
    r = scan(target)
    assert r.error is not None and r.error.code == "bad_input" and (r.io is None or r.io.requests == 0)
