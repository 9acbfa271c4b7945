"""Every path a person can take ends in a clear message: one line, the documented exit code, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cardscan.cli as cli
from cardscan.cli import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = str(ROOT / "examples" / "llama-2-7b")
runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), env=env or {})


def assert_clean(result, code: int, message: str) -> None:  # type: ignore[no-untyped-def]
    """Exit code, the message on stderr as one line, and no traceback anywhere."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert message in result.output
    if code == 2:
        (line,) = [x for x in result.stderr.splitlines() if x.strip()]
        assert line.startswith("cardscan: error: ")


@pytest.fixture
def no_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Usage errors must be found before the first scan."""

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("scanned before checking the command line")

    monkeypatch.setattr("cardscan.scanner.scan_many", boom)


def test_output_into_a_missing_folder(tmp_path: Path, no_scan: None) -> None:
    out = tmp_path / "nope" / "report.json"
    assert_clean(invoke(EXAMPLE, "-o", str(out)), 2, "does not exist")
    assert not out.parent.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_output_to_an_unwritable_place(no_scan: None) -> None:
    assert_clean(invoke(EXAMPLE, "-o", "/proc/cardscan-report.json"), 2, "cannot write there")


def test_output_is_a_folder(tmp_path: Path, no_scan: None) -> None:
    assert_clean(invoke(EXAMPLE, "-o", str(tmp_path)), 2, "is a folder")


def test_output_under_a_file(tmp_path: Path, no_scan: None) -> None:
    (tmp_path / "file").write_text("x")
    assert_clean(invoke(EXAMPLE, "-o", str(tmp_path / "file" / "out.csv")), 2, "is not a folder")


def test_from_file_missing(tmp_path: Path, no_scan: None) -> None:
    assert_clean(invoke("--from-file", str(tmp_path / "models.txt")), 2, "no such file")


def test_from_file_binary(tmp_path: Path, no_scan: None) -> None:
    binary = tmp_path / "models.bin"
    binary.write_bytes(b"\x00\x01\x02\xffGGUF")
    assert_clean(invoke("--from-file", str(binary)), 2, "not a text file")


def test_from_file_folder(tmp_path: Path, no_scan: None) -> None:
    assert_clean(invoke("--from-file", str(tmp_path)), 2, "is a folder")


def test_format_contradicting_the_extension(tmp_path: Path, no_scan: None) -> None:
    assert_clean(invoke(EXAMPLE, "--format", "csv", "-o", str(tmp_path / "r.json")), 2, "contradicts")


def test_unknown_gpus_name(no_scan: None) -> None:
    assert_clean(invoke(EXAMPLE, "--gpus", "rtx4090,potato9000"), 2, "--gpus: unknown GPU 'potato9000'")


def test_no_targets(no_scan: None) -> None:
    assert_clean(invoke("--format", "json"), 2, "give at least one repo id")


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("report.json", lambda t: json.loads(t)[0]["status"] == "ok"),
        ("report.csv", lambda t: t.startswith("input,repo_id,")),
        ("report.md", lambda t: t.startswith("# cardscan report")),
        ("report.html", lambda t: t.lstrip().lower().startswith("<!doctype html")),
    ],
)
def test_extension_picks_the_format(tmp_path: Path, name: str, check) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / name
    result = invoke(EXAMPLE, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert check(out.read_text(encoding="utf-8"))
    assert [p.name for p in tmp_path.iterdir()] == [name]  # the temp file was renamed into place


def test_write_failure_after_scanning_keeps_the_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(path: Path, text: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli, "write_atomic", full)
    result = invoke(EXAMPLE, "-o", str(tmp_path / "r.json"))
    assert_clean(result, 2, "No space left on device")
    spare = Path(result.stderr.rsplit("the results are in ", 1)[1].strip())
    try:
        assert json.loads(spare.read_text())[0]["status"] == "ok"
    finally:
        spare.unlink()


def test_write_failure_with_no_temp_space_goes_to_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli, "write_atomic", full)
    monkeypatch.setattr(cli, "_check_output", lambda path: None)  # the disk fills up only after the check
    monkeypatch.setattr(cli.tempfile, "mkstemp", full)
    result = invoke(EXAMPLE, "-o", str(tmp_path / "r.json"))
    assert_clean(result, 2, "written to stdout above")
    assert json.loads(result.stdout)[0]["status"] == "ok"


def test_offline_miss_suggests_a_command_that_fills_the_cache(tmp_path: Path) -> None:
    result = invoke("org/not-cached", "--offline", "--format", "json", env={"HF_HOME": str(tmp_path)})
    assert_clean(result, 6, "hf download org/not-cached config.json")


def test_renamed_repo_says_so_and_scans_the_new_name(hub) -> None:  # type: ignore[no-untyped-def]
    env = {"HF_ENDPOINT": hub.url, "HF_TOKEN": "hf_approved"}
    result = invoke("old-org/old-name", "--format", "json", env=env)
    assert result.exit_code == 0, result.output
    (doc,) = json.loads(result.stdout)
    assert doc["repo_id"] == "meta-llama/Llama-2-7b-hf"
    assert any("old-org/old-name was renamed to meta-llama/Llama-2-7b-hf" in w for w in doc["warnings"])


def test_401_names_both_possibilities(hub) -> None:  # type: ignore[no-untyped-def]
    result = invoke("org/does-not-exist", "--format", "json", env={"HF_ENDPOINT": hub.url, "HF_TOKEN": ""})
    assert_clean(result, 3, "not found")
    assert "or it is private" in result.output and "HF_TOKEN" in result.output


def test_lone_shard_uses_the_config_beside_it() -> None:
    result = invoke(str(Path(EXAMPLE) / "model-00001-of-00002.safetensors"), "--format", "json")
    assert result.exit_code == 0, result.output
    (doc,) = json.loads(result.stdout)
    assert doc["model"]["architecture"] == "LlamaForCausalLM" and doc["memory"]["kv_bytes_per_token"] == 524_288


def test_gpus_subcommand_and_a_repo_called_gpus(tmp_path: Path) -> None:
    listing = invoke("gpus")
    assert listing.exit_code == 0 and "RTX 4090 24GB" in listing.stdout and "GB/s" in listing.stdout
    env = {"HF_HOME": str(tmp_path)}
    for args in (("scan", "gpus"), ("hf.co/gpus",)):
        result = invoke(*args, "--offline", env=env)
        assert_clean(result, 6, "gpus is not in the local Hugging Face cache")


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    full = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "100", **env}
    return subprocess.run([sys.executable, "-m", "cardscan", *args], capture_output=True, env=full, timeout=60)


def test_a_console_that_cannot_encode_the_symbols_gets_ascii() -> None:
    done = _run(EXAMPLE, PYTHONIOENCODING="ascii")
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode("ascii")
    assert "Traceback" not in done.stderr.decode() and "verdict" in text and "+ 4,096" in text


def test_a_closed_pipe_is_not_an_error() -> None:
    reader = subprocess.Popen(["head", "-n", "1"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    full = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    writer = subprocess.run(
        [sys.executable, "-m", "cardscan", EXAMPLE, EXAMPLE, EXAMPLE, "--format", "json"],
        stdout=reader.stdin, stderr=subprocess.PIPE, env=full, timeout=60,
    )  # fmt: skip
    assert reader.stdin is not None
    reader.stdin.close()
    reader.wait(timeout=10)
    assert b"Traceback" not in writer.stderr


def test_output_dash_is_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(EXAMPLE, "-o", "-", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)[0]["status"] == "ok"
    assert not list(tmp_path.iterdir())  # no file called "-"


@pytest.mark.parametrize("endpoint", ["http://[bad", "ftp://mirror.example", "http://:99999/", "https://u:secret@[x/"])
def test_a_malformed_hub_endpoint_is_a_usage_error_before_any_scan(endpoint: str) -> None:
    """HF_ENDPOINT that is not an http(s) URL with a host: exit 2 and one line (no password), not an error per repo."""
    got = CliRunner().invoke(app, ["org/a", "org/b"], env={"HF_ENDPOINT": endpoint})
    assert got.exit_code == 2, got.output
    assert "HF_ENDPOINT" in got.output and "secret" not in got.output and "Traceback" not in got.output
    assert "org/a" not in got.output  # nothing was scanned
