"""The `cardscan` command: typer wiring only. Everything it shows comes from `cardscan.scan` and `cardscan.render`.

Imports stay lazy so `cardscan --help` starts fast (no parsers, estimators, rich tables or HTTP stack on that path).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Optional

import typer
from typer import _click as click
from typer.core import TyperGroup

if TYPE_CHECKING:
    from cardscan.options import ScanOptions
    from cardscan.result import ScanResult


class _DefaultToScan(TyperGroup):
    """`cardscan ORG/NAME` means `cardscan scan ORG/NAME`: the first word picks a command only when it names one
    (`cardscan gpus`); anything else (a repo id, a path, an option) goes to the default command, `scan`."""

    default_command = "scan"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in _HELP:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The scan command's help (what most people want), then the other commands."""
        scan = self.commands[self.default_command]
        scan.format_help(click.Context(scan, info_name=ctx.info_name, parent=None), formatter)
        others = [(name, cmd.get_short_help_str(80)) for name, cmd in self.commands.items() if cmd is not scan]
        if others:
            with formatter.section("Commands (a repo named like one: `cardscan scan NAME` or `cardscan hf.co/NAME`)"):
                formatter.write_dl(others)


_HELP = ("-h", "--help")
app = typer.Typer(
    cls=_DefaultToScan,
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": list(_HELP)},
)


def _format_choices() -> type[Enum]:
    """`--format` choices: the renderer table's names (adding a renderer module adds a choice)."""
    from cardscan.render import FORMATS

    return Enum("Format", {name: name for name in FORMATS}, type=str)  # type: ignore[return-value]


Format = _format_choices()


def _engine_choices() -> type[Enum]:
    """`--engine` choices: the engine registry's names (adding an engine module adds a choice)."""
    from cardscan.estimate.engines import ENGINES

    return Enum("Engine", {name: name for name in ENGINES}, type=str)  # type: ignore[return-value]


Engine = _engine_choices()


class Optimizer(str, Enum):
    """Keys of cardscan.estimate.training.OPTIMIZERS (a test keeps them in step)."""

    adamw = "adamw"
    adamw_fp32_grads = "adamw_fp32_grads"
    adamw_8bit = "adamw_8bit"
    sgd = "sgd"
    lion = "lion"


class Mode(str, Enum):
    inference = "inference"
    full = "full"
    lora = "lora"
    qlora = "qlora"


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"cardscan {version('cardscan')}")
        raise typer.Exit()


@app.command("scan")
def main(
    targets: Annotated[
        Optional[list[str]],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Argument(help="Repo ids (org/name), Hub URLs, model folders or weight files.", show_default=False),
    ] = None,
    from_file: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--from-file", "-f", help="Read targets from a file, one per line ('-' = stdin; # comments)."),
    ] = None,
    revision: Annotated[str, typer.Option("--revision", "-r", help="Branch, tag, commit or refs/pr/N.")] = "main",
    token: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Hub token (default: HF_TOKEN or the saved login).", show_default=False),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Use only the local Hugging Face cache (also HF_HUB_OFFLINE=1).")
    ] = False,
    file: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--file", help="Read this weight file (or set) instead of the automatic choice."),
    ] = None,
    context: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--context", "-c", min=1, help="Tokens per sequence (default: the model's max context)."),
    ] = None,
    batch: Annotated[int, typer.Option("--batch", "-b", min=1, help="Concurrent sequences.")] = 1,
    kv_dtype: Annotated[str, typer.Option(help="KV cache dtype: auto|bf16|fp16|fp8|q8_0|q4_0.")] = "auto",
    engine: Annotated[Engine, typer.Option(help="Whose memory rules to apply.")] = Engine["generic"],  # type: ignore[valid-type]
    gpu: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="A GPU name (rtx4090, 'H100 80GB') or a size (24GB): the verdict and capacity for it."),
    ] = None,
    gpus: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            help="GPUs of the fit matrix and fits line, comma-separated (rtx4090,a6000,h100; see `cardscan gpus`)."
        ),
    ] = None,
    gpu_util: Annotated[float, typer.Option(min=0.05, max=1.0, help="vLLM gpu_memory_utilization.")] = 0.9,
    tp: Annotated[int, typer.Option(min=1, help="Tensor-parallel GPUs.")] = 1,
    gpu_layers: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(min=0, help="llama.cpp layers on the GPU (default: all)."),
    ] = None,
    mode: Annotated[Mode, typer.Option(help="inference, or a fine-tuning mode: full, lora, qlora.")] = Mode.inference,
    lora_rank: Annotated[int, typer.Option(min=1, help="LoRA rank (lora, qlora).")] = 16,
    optimizer: Annotated[Optimizer, typer.Option(help="Optimizer for fine-tuning modes.")] = Optimizer.adamw,
    seq_len: Annotated[int, typer.Option(min=1, help="Training sequence length.")] = 2048,
    zero: Annotated[int, typer.Option(min=0, max=3, help="DeepSpeed ZeRO stage for training modes.")] = 0,
    num_gpus: Annotated[int, typer.Option(min=1, help="Data-parallel GPUs that ZeRO shards over.")] = 1,
    lora_targets: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Comma-separated modules LoRA adapts (default: q,k,v,o,gate,up,down projections)."),
    ] = None,
    no_flash_attention: Annotated[
        bool, typer.Option("--no-flash-attention", help="Training activations without flash attention.")
    ] = False,
    no_checkpointing: Annotated[
        bool, typer.Option("--no-checkpointing", help="Training without gradient checkpointing.")
    ] = False,
    output_format: Annotated[
        Optional[Format],  # type: ignore[valid-type]  # noqa: UP045 - choices built from the renderer table
        typer.Option(
            "--format", help="Output format (default: from the -o extension, else table).", show_default=False
        ),
    ] = None,
    output: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--output", "-o", help="Write to this file (.json/.csv/.md/.html pick the format; '-' = stdout)."),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, max=128, help="Repos scanned at once in a batch.")] = 32,
    deadline: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(
            help="Seconds one repo's scan may take in all: reads, retries, pages (default 300).", show_default=False
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for a Hub connection or read.")] = 10.0,
    retries: Annotated[int, typer.Option(min=0, max=10, help="Retries of a failed Hub request.")] = 4,
    debug: Annotated[bool, typer.Option("--debug", help="Log internal errors with their traceback to stderr.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """What a Hugging Face model really is and whether it fits your GPU, read from config, card and weight
    headers without downloading weights. `cardscan ORG/NAME` is short for `cardscan scan ORG/NAME`.

    Exit codes: 0 ok, 2 bad input, 3 not found, 4 gated/unauthorized, 5 network, 6 not in offline cache,
    7 malformed/unsupported, 8 no weights, 9 internal error, 130 interrupted (the worst in a batch wins).
    """
    # Everything a person can get wrong is checked before the first request, so no scan is wasted on it.
    if output is not None and str(output) == "-":  # `-o -`: stdout, as for --from-file
        output = None
    fmt = _pick_format(output_format, output)
    if output is not None:
        _check_output(output)
    all_targets = list(targets or []) + (_read_targets(from_file) if from_file else [])
    if not all_targets:
        _fail("give at least one repo id, URL or path (or --from-file)")
    gpu_names, num_gpus = _gpu_list(gpus, num_gpus)
    if debug:
        import logging

        logging.basicConfig(level=logging.DEBUG, format="cardscan: %(message)s", stream=sys.stderr)
    options = _options(
        revision=revision, token=token, offline=True if offline else None, file=file, context=context, batch=batch,
        kv_dtype=kv_dtype, engine=_value(engine), gpu=gpu, gpus=gpu_names, gpu_util=gpu_util, tp=tp,
        gpu_layers=gpu_layers, mode=mode.value, lora_rank=lora_rank, optimizer=optimizer.value, seq_len=seq_len,
        timeout=timeout, retries=retries, deadline=deadline, zero_stage=zero, num_gpus=num_gpus,
        gradient_checkpointing=not no_checkpointing,
        lora_targets=tuple(t.strip() for t in (lora_targets or "").split(",") if t.strip()),
        flash_attention=not no_flash_attention, curves=fmt == "html",
    )  # fmt: skip
    from cardscan.sources.registry import SharedSession

    if not options.is_offline():
        _check_endpoint(options.endpoint)
    session = SharedSession(pool_maxsize=max(16, 4 * workers)) if not options.is_offline() else None
    if session is not None:  # first, so the Hub's handshakes run while the scanner's modules load
        session.warm(all_targets[:workers], options)
    from cardscan.scanner import Interrupted, scan_many

    started = time.monotonic()
    with _Progress(len(all_targets)) as tick:
        try:
            results = scan_many(all_targets, options, workers=workers, on_result=tick, session=session)
        except Interrupted as stop:  # Ctrl-C or SIGTERM: still write what was scanned, then leave at once
            signal.signal(signal.SIGINT, _exit_now)  # a second Ctrl-C while writing: exit, no traceback
            results = stop.results
            sys.stderr.write(f"\ncardscan: {stop}; writing the finished results\n")
            _write(results, fmt, output)
            # Scans still running are abandoned: don't wait for their threads (a stalled server could hold them
            # for the whole read timeout), the results are written.
            _exit_now(exit_code(results))
    _batch_summary(results, time.monotonic() - started, session)
    _write(results, fmt, output)
    _done(exit_code(results))


def _write(results: Sequence[ScanResult], fmt: str, output: Path | None) -> None:
    from cardscan.render import render

    text = render(results, fmt)
    if output is not None:
        _deliver(output, text)
    else:
        _emit(text)


def _exit_now(code: object = 130, _frame: object = None) -> NoReturn:
    """Flush and end the process without joining worker threads (also a signal handler: then the code is 130)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code if isinstance(code, int) and _frame is None else 130)


def _done(code: int) -> NoReturn:
    """End a finished scan. In cardscan's own process (`run`), flush and leave without the interpreter's teardown:
    freeing every module and object one by one takes 50–70 ms of a 0.6 s cold scan on a 2-core VM, and nothing is
    left to clean up (output is written and closed, worker threads are idle); the `atexit` hooks still run. Under a
    test runner or a program that calls the app itself, the usual typer.Exit."""
    if _OWN_PROCESS:
        atexit._run_exitfuncs()  # what a normal exit runs (coverage's data file, a wrapper's hooks, log handlers)
        _exit_now(code)
    raise typer.Exit(code)


def _sigterm(_signum: int, _frame: object) -> None:
    """cron, systemd and Kubernetes stop a job with SIGTERM: treat it as Ctrl-C (finished results are kept)."""
    raise KeyboardInterrupt


@app.command("gpus")
def list_gpus(
    as_json: Annotated[bool, typer.Option("--json", help="All fields as JSON (bandwidth sources included).")] = False,
) -> None:
    """The GPU catalogue: memory, usable memory, bandwidth, sources.

    Names and aliases here are what --gpu and --gpus accept; "matrix" marks the cards shown by default."""
    import dataclasses
    import json

    from cardscan.estimate.gpus import catalogue

    if as_json:
        _emit(json.dumps([dataclasses.asdict(g) for g in catalogue()], indent=2, ensure_ascii=False) + "\n")
        return
    _emit(_gpu_table(catalogue()))


def _gpu_table(gpus: Sequence[object]) -> str:
    """Plain aligned columns (no rich: this is a list, and it must read the same in a pipe)."""
    from cardscan.estimate.gpus import Gpu, display_set
    from cardscan.units import GIB

    shown = {g.name for g in display_set("matrix")}
    header = ("name", "kind", "memory", "usable", "bandwidth", "source", "")
    rows = [header]
    for g in gpus:
        assert isinstance(g, Gpu)
        bandwidth = f"{g.bandwidth_gbs:,.0f} GB/s" if g.bandwidth_gbs else "?"
        rows.append((g.name, g.kind, f"{g.memory_bytes / GIB:g} GB", f"{g.usable_bytes / GIB:.2f} GiB", bandwidth,
                     g.usable_source or "?", "matrix" if g.name in shown else ""))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    right = {2, 3, 4}
    lines = ["  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
             for r in rows]  # fmt: skip
    lines.append("")
    lines.append("usable: what the driver reports (vLLM's 100 %), from `source`; bandwidth: the vendor's spec page")
    lines.append("(`cardscan gpus --json` names each). matrix: shown by default; pick others with --gpus a,b,c.")
    return "\n".join(lines) + "\n"


def _value(choice: object) -> str:
    """A choice's value (`--engine`'s Enum is built from the engine registry at import, so typed loosely)."""
    return str(choice.value) if isinstance(choice, Enum) else str(choice)


# ---- checks before scanning -----------------------------------------------------------------------------------

# Output file extension → the format it implies (`.txt` and others: no opinion).
EXTENSIONS = {".json": "json", ".csv": "csv", ".md": "markdown", ".markdown": "markdown", ".html": "html",
              ".htm": "html"}  # fmt: skip


def _fail(message: str) -> NoReturn:
    """A usage error: one line on stderr, exit 2, no traceback."""
    sys.stderr.write(f"cardscan: error: {message}\n")
    raise typer.Exit(2)


def _check_endpoint(given: str | None) -> None:
    """The Hub endpoint (HF_ENDPOINT) must be an http(s) URL with a host: said once, before any scan starts, rather
    than as the same network error on every repo of a batch."""
    from urllib.parse import urlsplit

    from cardscan.sources.http import redact
    from cardscan.sources.hub import endpoint_from_env

    url = endpoint_from_env(given)
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 1) > 0
    except ValueError:  # a bad port or bracketed host
        ok = False
    if not ok:
        _fail(f"the Hub endpoint {redact(url)!r} (HF_ENDPOINT) is not an http(s) URL with a host")


def _pick_format(given: Enum | None, output: Path | None) -> str:
    """--format, else the -o extension, else table; an extension that contradicts --format is an error."""
    implied = EXTENSIONS.get(output.suffix.lower()) if output is not None else None
    if given is not None and implied is not None and given.value != implied:
        _fail(f"--format {given.value} contradicts -o {output} (a .{implied} name); drop one of them")
    return given.value if given is not None else implied or "table"


def _check_output(path: Path) -> None:
    """The output path can be written: its folder exists and takes a new file (probed), or the file takes writes."""
    if path.is_dir():
        _fail(f"-o {path}: is a folder; give a file name")
    parent = path.parent
    if not parent.is_dir():
        _fail(
            f"-o {path}: folder {parent} does not exist"
            if not parent.exists()
            else f"-o {path}: {parent} is not a folder"
        )
    try:
        if path.exists():
            with open(path, "ab"):  # opening for append changes nothing, but fails where writing would
                pass
        else:
            fd, probe = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".probe")
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        _fail(f"-o {path}: cannot write there ({exc.strerror or exc})")


def _read_targets(path: Path) -> list[str]:
    """Targets from a text file (or stdin): one per line, `#` comments; a missing or binary file is a usage error."""
    if str(path) == "-":
        text = sys.stdin.read()
    else:
        if path.is_dir():
            _fail(f"--from-file {path}: is a folder, not a list of repos")
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            _fail(f"--from-file {path}: no such file")
        except OSError as exc:
            _fail(f"--from-file {path}: cannot read it ({exc.strerror or exc})")
        try:
            if b"\0" in data:
                raise UnicodeDecodeError("utf-8", data, 0, 1, "NUL byte")
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            _fail(f"--from-file {path}: not a text file (expected one repo id, URL or path per line)")
    from cardscan.sources.registry import target_problem

    entries = [(n, line.split("#", 1)[0].strip()) for n, line in enumerate(text.splitlines(), 1)]
    entries = [(n, t) for n, t in entries if t]
    # Every line is checked before anything is scanned; the bad ones are reported together, up front, with their
    # line numbers. They are never scanned (each becomes a bad_input result, so nothing in the list goes missing
    # and the exit code says 2), and the valid lines still run.
    bad = [(n, t, why) for n, t in entries if (why := target_problem(t)) is not None]
    if bad:
        shown = "\n".join(f"  line {n}: {t[:80]!r}: {why}" for n, t, why in bad[:20])
        more = f"\n  … and {len(bad) - 20:,} more" if len(bad) > 20 else ""
        sys.stderr.write(f"cardscan: --from-file {path}: {len(bad):,} invalid line(s), not scanned:\n{shown}{more}\n")
    return [t for _, t in entries]


def _gpu_list(gpus: str | None, num_gpus: int) -> tuple[tuple[str, ...], int]:
    """--gpus a,b,c → names; a bare number keeps its old meaning (ZeRO's data-parallel GPUs, now --num-gpus)."""
    if gpus is None:
        return (), num_gpus
    if gpus.strip().isdigit():
        sys.stderr.write(f"cardscan: --gpus {gpus.strip()} read as --num-gpus {gpus.strip()} (--gpus now names GPUs)\n")
        return (), int(gpus)
    names = tuple(n.strip() for n in gpus.split(",") if n.strip())
    if not names:
        _fail("--gpus: give GPU names or sizes, comma-separated (see `cardscan gpus`)")
    return names, num_gpus


# ScanOptions field → the CLI flag that sets it, for usage errors that name what the user typed.
_FLAGS = {"zero_stage": "--zero", "num_gpus": "--num-gpus", "kv_dtype": "--kv-dtype", "gpu_util": "--gpu-util",
          "gpu_layers": "--gpu-layers", "lora_rank": "--lora-rank", "seq_len": "--seq-len"}  # fmt: skip


def _options(**values: object) -> ScanOptions:
    """Build ScanOptions; its validation (one table of ranges and names) becomes a usage error, exit 2."""
    from cardscan.options import ScanOptions

    try:
        return ScanOptions(**values)  # type: ignore[arg-type]
    except ValueError as exc:
        field, _, message = str(exc).partition(": ")
        _fail(f"{_FLAGS.get(field, '--' + field.replace('_', '-'))}: {message or exc}")


# ---- writing results ------------------------------------------------------------------------------------------


def _emit(text: str) -> None:
    """Write to stdout in an encoding the console takes (✓/✗ → ASCII when it cannot); a closed pipe is not an error."""
    from cardscan.render.units import ascii_fallback

    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        text = ascii_fallback(text).encode(encoding, errors="replace").decode(encoding, errors="replace")
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `cardscan … | head`: the reader has gone; stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _deliver(path: Path, text: str) -> None:
    """Write `text` to `path` atomically; if that fails after scanning, keep the results in a temp file (or stdout)
    and say where, then exit 2."""
    try:
        write_atomic(path, text)
        return
    except OSError as exc:
        reason = exc.strerror or str(exc)
    try:
        fd, spare = tempfile.mkstemp(prefix="cardscan-", suffix=path.suffix or ".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        _fail(f"could not write {path} ({reason}); the results are in {spare}")
    except OSError:
        _emit(text)
        _fail(f"could not write {path} ({reason}); the results were written to stdout above")


def write_atomic(path: Path, text: str) -> None:
    """A temp file beside `path`, renamed over it, so a reader never sees half a report. Devices and pipes
    (/dev/stdout, a FIFO) are written directly: renaming over them would replace them."""
    if path.exists() and not path.is_file():
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _Progress:
    """A progress bar on stderr for batches on a terminal (done, failed, rate, ETA: rich.progress); silent otherwise
    (pipes, CI, single scans)."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.live = total > 1 and sys.stderr.isatty()
        self.bar: Any = None

    def __enter__(self) -> Callable[[int, ScanResult], None]:
        if self.live:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )  # fmt: skip

            self.bar = Progress(
                TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
                TextColumn("{task.fields[failed]} failed"),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                console=Console(stderr=True), transient=True,
            )  # fmt: skip
            self.bar.start()
            self.task = self.bar.add_task("scan", total=self.total, failed=0)
        return self.tick

    def tick(self, _index: int, result: ScanResult) -> None:
        self.done += 1
        self.failed += 0 if result.ok else 1
        if self.bar is not None:
            self.bar.update(self.task, advance=1, failed=self.failed)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _batch_summary(results: Sequence[ScanResult], seconds: float, session: Any) -> None:
    """One line on stderr after a batch: how many, how fast, and how long the Hub's rate limits held it back."""
    if len(results) < 2:
        return
    failed = sum(not r.ok for r in results)
    line = f"cardscan: {len(results):,} scanned in {seconds:.1f} s ({len(results) / max(seconds, 1e-9):.1f}/s), {failed:,} failed"
    made = session.made() if session is not None else None
    limiter = getattr(made, "limiter", None)  # the batch's shared RateLimiter (sources/ratelimit.py)
    if limiter is not None:
        report = limiter.report()
        if report.total_waited_s > 0 or any(report.limited.values()):
            limited = sum(report.limited.values())
            line += (
                f"; waited {report.total_waited_s:.1f} s on Hub rate limits (bucket {report.bound}), {limited} × 429"
            )
    sys.stderr.write(line + "\n")


def exit_code(results: Sequence[ScanResult]) -> int:
    """0 when every scan succeeded, else the largest exit code among the failures."""
    from cardscan.errors import EXIT_CODES, ErrorCode

    by_value = {code.value: exit for code, exit in EXIT_CODES.items()}
    codes = [by_value.get(r.error.code, EXIT_CODES[ErrorCode.INTERNAL]) for r in results if r.error is not None]
    return max(codes, default=0)


_OWN_PROCESS = False
"""True once `run` (the console script, `python -m cardscan`) started: the process is cardscan's alone."""


def run() -> None:
    """Console-script entry point."""
    global _OWN_PROCESS
    _OWN_PROCESS = True
    signal.signal(signal.SIGTERM, _sigterm)
    app()


from cardscan.audit.cli import register  # noqa: E402 - after `main`, which stays the default command

register(app)
