"""The table as a person sees it: cardscan run inside real tmux panes of 60, 80, 100 and 160 columns.

Each pane's text (`tmux capture-pane -p`) must start with the verdict, fit the pane, and break lines only between
words: every word on screen is a word of the same report printed 400 columns wide. Skipped when tmux is missing,
unless CARDSCAN_REQUIRE_TMUX=1 (CI sets it so a missing tmux is a failure, not a silent skip).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from cardscan.render.units import tokens_short

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = str(ROOT / "examples" / "llama-2-7b")
ARGS = (EXAMPLE, "--gpu", "rtx4090", "--context", "8192", "--engine", "vllm")
MARK = "__cardscan_done__"

if shutil.which("tmux") is None:
    if os.environ.get("CARDSCAN_REQUIRE_TMUX") == "1":
        raise RuntimeError("CARDSCAN_REQUIRE_TMUX=1 but tmux is not installed (apt-get install -y tmux)")
    pytest.skip("tmux is not installed", allow_module_level=True)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TMUX")}
    return {**env, "PYTHONPATH": str(ROOT / "src"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "xterm-256color"}


def in_tmux(width: int, *args: str) -> list[str]:
    """Run `python -m cardscan ARGS` in a detached tmux pane `width` columns wide; the pane's lines."""
    socket = f"cardscan-test-{uuid.uuid4().hex[:8]}"
    command = " ".join(shlex.quote(a) for a in (sys.executable, "-m", "cardscan", *args))
    script = f"{command}; echo {MARK}; sleep 30"
    tmux = ["tmux", "-u", "-L", socket]
    subprocess.run([*tmux, "new-session", "-d", "-x", str(width), "-y", "50", script], env=_env(), check=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            shown = subprocess.run(
                [*tmux, "capture-pane", "-p", "-S", "-500"],
                env=_env(), capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            if MARK in shown or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        subprocess.run([*tmux, "kill-server"], env=_env(), capture_output=True)
    lines = shown.split(MARK, 1)[0].rstrip("\n").splitlines()
    return [line.rstrip() for line in lines]


def _wide_words(*args: str) -> set[str]:
    env = {**_env(), "COLUMNS": "400"}
    done = subprocess.run(
        [sys.executable, "-m", "cardscan", *args], env=env, capture_output=True, text=True, timeout=60
    )
    words = set(done.stdout.split())
    # Narrow panes write matrix contexts compactly (8,192 → 8.2k): those are whole words too.
    numbers = (int(w.replace(",", "")) for w in words if re.fullmatch(r"\d{1,3}(,\d{3})*", w))
    return words | {tokens_short(n, compact=True) for n in numbers}


@pytest.fixture(scope="module")
def words() -> set[str]:
    return _wide_words(*ARGS)


@pytest.mark.parametrize("width", [60, 80, 100, 160])
def test_pane(width: int, words: set[str]) -> None:
    lines = in_tmux(width, *ARGS)
    assert lines and lines[0] == EXAMPLE, lines[:3]
    # The verdict comes first: as a labelled row (≥ 80 columns) or a label above its text (narrow).
    if width >= 80:
        assert lines[1].startswith("verdict") and "fits RTX 4090 24GB at fp16 up to" in lines[1]
    else:
        assert lines[1] == "verdict" and lines[2].startswith("  fits RTX 4090 24GB at fp16")
    assert all(len(line) <= width for line in lines), max(lines, key=len)
    broken = [w for line in lines for w in line.split() if w not in words]
    assert not broken, f"words broken across lines at {width} columns: {broken[:10]}"


def test_no_fixed_width_cap() -> None:
    """At 160 columns the memory line is not wrapped at 120 as it once was."""
    lines = in_tmux(160, *ARGS)
    assert max(len(line) for line in lines) > 120
