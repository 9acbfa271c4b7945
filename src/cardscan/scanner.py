"""The public entry point: `scan("org/name")` → `ScanResult`. Wires sources → fetch → parse → estimate, and turns every
failure into a result with a reason, so one bad repo never ends a batch."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path

from cardscan.errors import ErrorCode, ScanError
from cardscan.fetch import Fetched, fetch
from cardscan.result import Failure, IOReport, ScanResult
from cardscan.select import select_weights
from cardscan.sources.base import IOStats, Source

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")
_HUB_URL = re.compile(
    r"^(?:https?://)?(?:huggingface\.co|hf\.co)/(?P<id>[^/?#]+(?:/[^/?#]+)?)(?:/(?:tree|blob)/(?P<rev>[^/?#]+))?"
)
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class ScanOptions:
    """What to scan and how to estimate; the CLI's options, one to one."""

    revision: str = "main"
    """Branch, tag, commit sha or `refs/pr/N`."""
    token: str | None = None
    """Hub token; None → HF_TOKEN or the saved token."""
    endpoint: str | None = None
    """Hub endpoint; None → HF_ENDPOINT or https://huggingface.co."""
    offline: bool | None = None
    """Resolve repo ids from the local HF cache only; None → HF_HUB_OFFLINE."""
    file: str | None = None
    """Force one weight file (or set) instead of the automatic choice."""
    context: int | None = None
    """Tokens per sequence for the KV cache; None → the model's maximum context."""
    batch: int = 1
    """Concurrent sequences."""
    kv_dtype: str = "auto"
    """KV cache element type (auto = the model's compute dtype)."""
    engine: str = "generic"
    """generic | vllm | llama.cpp | transformers."""
    gpu: str | None = None
    """A catalogue GPU name or a size (`24GB`) to check fit and capacity against."""
    gpu_util: float = 0.9
    """vLLM `gpu_memory_utilization`."""
    tp: int = 1
    """Tensor-parallel degree."""
    gpu_layers: int | None = None
    """llama.cpp `--n-gpu-layers` (None = all)."""
    mode: str = "inference"
    """inference | full | lora | qlora."""
    lora_rank: int = 16
    """LoRA rank for lora/qlora."""
    optimizer: str = "adamw"
    """Optimizer for fine-tuning modes."""
    seq_len: int = 2048
    """Training sequence length."""
    gradient_checkpointing: bool = True
    """Recompute activations in the backward pass (training modes)."""
    lora_targets: tuple[str, ...] = ()
    """Modules LoRA adapts (empty: the Llama-style attention + MLP projections)."""
    flash_attention: bool = True
    """Training activations with flash attention (no s² attention matrix)."""
    zero_stage: int = 0
    """DeepSpeed ZeRO stage (0–3) for training modes: optimizer, gradients, weights sharded over `num_gpus`."""
    num_gpus: int = 1
    """Data-parallel GPUs for ZeRO sharding."""
    timeout: float = 10.0
    """Seconds to wait for a Hub connection or a read before retrying."""
    retries: int = 4
    """Retries after a failed Hub request (429, 5xx, reset, timeout), with backoff honouring Retry-After."""

    def is_offline(self) -> bool:
        """--offline, else HF_HUB_OFFLINE."""
        if self.offline is not None:
            return self.offline
        return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def scan(target: str, options: ScanOptions | None = None, *, session=None, depth: int = 0) -> ScanResult:
    """Scan one repo id, Hub URL, local folder or weight file. Never raises for a per-repo problem."""
    options = options or ScanOptions()
    started = time.perf_counter()
    stats = IOStats()
    repo_id, revision = target, options.revision
    listing = None
    try:
        source, repo_id, revision = open_source(target, options, session)
        stats = source.stats
        listing = source.listing()
        result = _scan_listing(source, listing, target, options, session, depth)
    except ScanError as exc:
        commit = listing.commit if listing else None
        result = ScanResult(
            target, repo_id, revision, commit, error=Failure(exc.code.value, _with_public(exc, listing))
        )
    except Exception as exc:
        result = ScanResult(
            target, repo_id, revision, None, error=Failure(ErrorCode.INTERNAL.value, f"{type(exc).__name__}: {exc}")
        )
    seconds = round(time.perf_counter() - started, 4)
    io = IOReport(stats.requests, stats.bytes_read, stats.retries, seconds, **stats.buckets())
    return _with_io(result, io)


def _scan_listing(source: Source, listing, target: str, options: ScanOptions, session, depth: int) -> ScanResult:
    # Parsers, estimators and repo-kind handling load only when a scan runs (CLI start-up stays fast).
    from cardscan import kinds
    from cardscan.interpret import interpret

    folders = kinds.pipeline_folders(source, listing) if not options.file else None
    if folders:
        return kinds.scan_pipeline(source, listing, folders, target, options)
    fetched = fetch(source, listing, select_weights(listing, options.file))
    result = kinds.add_sentence_modules(source, fetched, interpret(target, fetched, options), target, options)
    adapter = kinds.adapter_of(fetched, result)
    if adapter is None:
        return result
    result = replace(result, adapter=adapter)
    if adapter.base_model and depth == 0:
        # The base is scanned like any repo (same options and connection pool); only one level deep.
        base = scan(adapter.base_model, replace(options, revision="main", file=None), session=session, depth=1)
        note = f"PEFT adapter on {adapter.base_model}: inference memory = base model + {adapter.bytes or 0:,} adapter bytes"
        result = replace(result, base=base, notes=(*result.notes, note))
    return result


def scan_many(
    targets: Sequence[str],
    options: ScanOptions | None = None,
    *,
    workers: int = 8,
    session=None,
    on_result: Callable[[int, ScanResult], None] | None = None,
) -> list[ScanResult]:
    """Scan many inputs concurrently over one connection pool; results come back in input order."""
    options = options or ScanOptions()
    # One connection pool for the whole batch, made only when some target is remote.
    remote = any(not Path(t).expanduser().exists() for t in targets)
    if session is None and remote and not options.is_offline():
        from cardscan.sources.http import make_session

        session = make_session()
    results: list[ScanResult | None] = [None] * len(targets)
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="cardscan-scan")
    try:
        futures = {pool.submit(scan, t, options, session=session): i for i, t in enumerate(targets)}
        for future in as_completed(futures):
            i = futures[future]
            results[i] = future.result()
            if on_result:
                on_result(i, results[i])
    except KeyboardInterrupt:
        # Keep what is done: queued scans are cancelled, running ones are abandoned (they end on their own).
        pool.shutdown(wait=False, cancel_futures=True)
        raise Interrupted(_fill_interrupted(targets, results, options)) from None
    pool.shutdown()
    return [r for r in results if r is not None]


class Interrupted(Exception):
    """A batch stopped by Ctrl-C; `results` holds every finished scan and an `interrupted` error for the rest."""

    def __init__(self, results: list[ScanResult]) -> None:
        super().__init__(f"interrupted after {sum(r.ok for r in results)} of {len(results)} scans")
        self.results = results


def _fill_interrupted(targets: Sequence[str], results: list, options: ScanOptions) -> list[ScanResult]:
    failure = Failure(ErrorCode.INTERRUPTED.value, "the batch was interrupted before this scan finished")
    return [
        r if r is not None else ScanResult(t, t, options.revision, None, error=failure)
        for t, r in zip(targets, results, strict=True)
    ]


def open_source(target: str, options: ScanOptions, session=None) -> tuple[Source, str, str]:
    """Pick the source for an input: a local path, the HF cache (offline) or the Hub."""
    path = Path(target).expanduser()
    if path.exists():
        from cardscan.sources.local import LocalSource

        return LocalSource(path), str(path), "local"
    repo_id, revision = parse_target(target, options.revision)
    if options.is_offline():
        from cardscan.sources.cache import cache_source

        return cache_source(repo_id, revision), repo_id, revision
    from cardscan.sources.hub import HubConfig, HubSource

    config = replace(
        HubConfig.from_env(token=options.token, endpoint=options.endpoint),
        timeout=options.timeout,
        max_retries=options.retries,
    )
    return HubSource(repo_id, revision, session=session, config=config), repo_id, revision


def parse_target(target: str, revision: str) -> tuple[str, str]:
    """A repo id (`org/name`, `gpt2`) or a Hub URL → (repo id, revision); anything else is a bad input."""
    m = _HUB_URL.match(target.strip())
    if m:
        return m.group("id"), m.group("rev") or revision
    if target.startswith(("./", "../", "/", "~")) or target.endswith((".safetensors", ".gguf", ".bin")):
        raise ScanError(ErrorCode.BAD_INPUT, f"no such file or folder: {target}")
    if not _REPO_ID.match(target) or ".." in target:
        raise ScanError(ErrorCode.BAD_INPUT, f"not a repo id, URL or existing path: {target!r}")
    return target, revision


def _with_public(exc: ScanError, listing) -> str:
    """A gated repo still shows its public model info: say what the Hub itself counts while access is pending."""
    hub = listing.hub_parameters if listing is not None else None
    if exc.code not in (ErrorCode.GATED, ErrorCode.UNAUTHORIZED) or not hub:
        return exc.message
    from cardscan.render.units import count

    total = sum(hub.values())
    by_dtype = ", ".join(f"{k} {count(v)}" for k, v in sorted(hub.items(), key=lambda kv: -kv[1]))
    return f"{exc.message}. Meanwhile the Hub's public metadata counts {count(total)} stored elements ({by_dtype})"


def _with_io(result: ScanResult, io: IOReport) -> ScanResult:
    return replace(result, io=io)


__all__ = ["Fetched", "ScanOptions", "scan", "scan_many"]
