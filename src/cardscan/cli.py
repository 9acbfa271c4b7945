"""The `cardscan` command: typer wiring only. Everything it shows comes from `cardscan.scan` and `cardscan.render`.

Imports stay lazy so `cardscan --help` starts fast (no parsers, estimators, rich tables or HTTP stack on that path).
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
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


@app.command()
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
        typer.Option(help="A GPU name (rtx4090, 'H100 80GB') or a size (24GB) to check fit and capacity."),
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
    gpus: Annotated[int, typer.Option(min=1, help="Data-parallel GPUs that ZeRO shards over.")] = 1,
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
    output_format: Annotated[Format, typer.Option("--format", help="Output format.")] = Format["table"],
    output: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--output", "-o", help="Write to this file instead of stdout."),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Repos scanned at once in a batch.")] = 8,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for a Hub connection or read.")] = 10.0,
    retries: Annotated[int, typer.Option(min=0, max=10, help="Retries of a failed Hub request.")] = 4,
    debug: Annotated[bool, typer.Option("--debug", help="Log internal errors with their traceback to stderr.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """What a Hugging Face model really is and whether it fits your GPU, read from config, card and weight
    headers without downloading weights.

    Exit codes: 0 ok, 2 bad input, 3 not found, 4 gated/unauthorized, 5 network, 6 not in offline cache,
    7 malformed/unsupported, 8 no weights, 9 internal error, 130 interrupted (the worst in a batch wins).
    """
    all_targets = list(targets or []) + (_read_targets(from_file) if from_file else [])
    if not all_targets:
        raise typer.BadParameter("give at least one repo id, URL or path (or --from-file)")
    if debug:
        import logging

        logging.basicConfig(level=logging.DEBUG, format="cardscan: %(message)s", stream=sys.stderr)
    from cardscan.scanner import ScanOptions, scan_many

    options = _options(
        ScanOptions,
        revision=revision, token=token, offline=True if offline else None, file=file, context=context, batch=batch,
        kv_dtype=kv_dtype, engine=engine.value, gpu=gpu, gpu_util=gpu_util, tp=tp, gpu_layers=gpu_layers,
        mode=mode.value, lora_rank=lora_rank, optimizer=optimizer.value, seq_len=seq_len, timeout=timeout, retries=retries,
        zero_stage=zero, num_gpus=gpus, gradient_checkpointing=not no_checkpointing,
        lora_targets=tuple(t.strip() for t in (lora_targets or "").split(",") if t.strip()),
        flash_attention=not no_flash_attention, curves=output_format.value == "html",
    )  # fmt: skip
    from cardscan.scanner import Interrupted

    with _progress(len(all_targets)) as tick:
        try:
            results = scan_many(all_targets, options, workers=workers, on_result=tick)
        except Interrupted as stop:  # Ctrl-C: still write what was scanned
            results = stop.results
            sys.stderr.write(f"\ncardscan: {stop}; writing the finished results\n")
    from cardscan.render import render

    text = render(results, output_format.value)
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    raise typer.Exit(exit_code(results))


# ScanOptions field → the CLI flag that sets it, for usage errors that name what the user typed.
_FLAGS = {"zero_stage": "--zero", "num_gpus": "--gpus", "kv_dtype": "--kv-dtype", "gpu_util": "--gpu-util",
          "gpu_layers": "--gpu-layers", "lora_rank": "--lora-rank", "seq_len": "--seq-len"}  # fmt: skip


def _options(factory: Any, **values: Any) -> Any:
    """Build ScanOptions; its validation (one table of ranges and names) becomes a usage error, exit 2."""
    try:
        return factory(**values)
    except ValueError as exc:
        field = str(exc).split(":", 1)[0]
        hint = _FLAGS.get(field, "--" + field.replace("_", "-"))
        raise typer.BadParameter(str(exc).split(": ", 1)[-1], param_hint=hint) from None


def _read_targets(path: Path) -> list[str]:
    text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


class _progress:
    """A progress line on stderr for batches on a terminal; silent otherwise (pipes, CI, single scans)."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.live = total > 1 and sys.stderr.isatty()

    def __enter__(self):
        return self.tick

    def tick(self, _index: int, result) -> None:
        self.done += 1
        self.failed += 0 if result.ok else 1
        if self.live:
            sys.stderr.write(f"\rscanned {self.done}/{self.total} ({self.failed} failed)")
            sys.stderr.flush()

    def __exit__(self, *exc) -> None:
        if self.live:
            sys.stderr.write("\n")


def exit_code(results) -> int:
    """0 when every scan succeeded, else the largest exit code among the failures."""
    from cardscan.errors import EXIT_CODES, ErrorCode

    by_value = {code.value: exit for code, exit in EXIT_CODES.items()}
    codes = [by_value.get(r.error.code, EXIT_CODES[ErrorCode.INTERNAL]) for r in results if r.error is not None]
    return max(codes, default=0)


def run() -> None:
    """Console-script entry point."""
    app()


from cardscan.audit.cli import register  # noqa: E402 - after `main`, which stays the default command

register(app)
