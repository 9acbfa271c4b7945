"""The README and docs/api.md work as printed: every usage example runs against the bundled Hub emulator, the sample
output is what a 100-column terminal shows, and the Python examples run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# The emulator's token that its gated fixtures approve (tests/fixtures/hub/meta-llama/*/repo.json).
TEST_TOKEN = "hf_approved"


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, re.S)


def _usage_lines() -> list[str]:
    usage = README.split("## Usage", 1)[1]
    (block, *_) = _blocks(usage, "bash")
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def _env(tmp_path: Path, endpoint: str) -> dict[str, str]:
    shim = tmp_path / "bin"
    shim.mkdir()
    cardscan = shim / "cardscan"
    cardscan.write_text(f'#!/bin/sh\nexec {sys.executable} -m cardscan "$@"\n')
    cardscan.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "COLUMNS", "NO_COLOR", "FORCE_COLOR"))}
    return {
        **env, "PATH": f"{shim}{os.pathsep}{env.get('PATH', '')}", "PYTHONPATH": str(ROOT / "src"),
        "HF_ENDPOINT": endpoint, "HF_TOKEN": TEST_TOKEN, "HF_HOME": str(tmp_path / "hf"), "COLUMNS": "100",
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }  # fmt: skip


def test_usage_starts_the_emulator_with_its_token() -> None:
    lines = _usage_lines()
    assert lines[0].startswith("python -m cardscan.testing --root tests/fixtures/hub --port 8080")
    assert lines[1] == "export HF_ENDPOINT=http://127.0.0.1:8080"
    assert lines[2] == f"export HF_TOKEN={TEST_TOKEN}"


def test_every_usage_example_runs_against_the_emulator(hub, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Each line after the set-up runs in a shell, from a folder that looks like the repository root."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    (work / "tests").symlink_to(ROOT / "tests")
    env = _env(tmp_path, hub.url)
    ran = 0
    for line in _usage_lines()[3:]:
        if line.startswith("hf ") and shutil.which("hf") is None:
            pytest.skip("huggingface_hub's `hf` CLI is not installed")
        done = subprocess.run(["bash", "-c", line], cwd=work, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        assert "Traceback" not in done.stderr, line
        ran += 1
    assert ran >= 10
    assert (work / "scan.csv").read_text().startswith("input,repo_id,")


def test_sample_output_is_what_a_100_column_terminal_shows() -> None:
    sample = README.split("$ cardscan examples/llama-2-7b\n", 1)[1].split("```", 1)[0]
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env |= {"COLUMNS": "100", "PYTHONPATH": str(ROOT / "src"), "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [sys.executable, "-m", "cardscan", "examples/llama-2-7b"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == sample


def test_readme_python_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    (block,) = _blocks(README, "python")
    exec(compile(block, "README.md", "exec"), {})


def test_api_doc_example_runs(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    (block,) = _blocks((ROOT / "docs" / "api.md").read_text(encoding="utf-8"), "python")
    exec(compile(block, "docs/api.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "6738415616" and printed[2] == "RTX 4090 24GB True 4096 0"
