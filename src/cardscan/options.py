"""What to scan and how to estimate: `ScanOptions`, validated when built so a bad value fails before any request."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields

from cardscan.errors import ScanError
from cardscan.estimate.engines import ENGINES
from cardscan.estimate.gpus import parse_gpu
from cardscan.estimate.kv import known_kv_dtype
from cardscan.estimate.training import OPTIMIZERS
from cardscan.estimate.weights import VLLM_DEFAULT_UTIL

_TRUE = {"1", "true", "yes", "on"}

# Sane ranges for numeric options: field → (lowest, highest). One table for the API and the CLI (which turns the
# ValueError into a usage error, exit 2). The upper bounds are far past any real deployment; they exist so that
# `--context 1e12` or `--tp 1000000` is refused instead of producing figures.
RANGES: dict[str, tuple[float, float]] = {
    "context": (1, 1 << 24),
    "batch": (1, 1 << 16),
    "gpu_util": (0.05, 1.0),
    "tp": (1, 512),
    "gpu_layers": (0, 10_000),
    "lora_rank": (1, 1 << 16),
    "seq_len": (1, 1 << 24),
    "zero_stage": (0, 3),
    "num_gpus": (1, 100_000),
    "timeout": (0.1, 600.0),
    "retries": (0, 20),
    "deadline": (1.0, 86_400.0),
}
MODES = ("inference", "full", "lora", "qlora")
MAX_REVISION_CHARS = 256


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
    """A registered engine name (`cardscan.estimate.engines.ENGINES`): generic, vllm, llama.cpp, transformers."""
    gpu: str | None = None
    """A catalogue GPU name or a size (`24GB`) to check fit and capacity against."""
    gpu_util: float = VLLM_DEFAULT_UTIL
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
    """Optimizer for fine-tuning modes (`cardscan.estimate.training.OPTIMIZERS`)."""
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
    deadline: float | None = None
    """Wall-clock seconds one repo's scan may take in all (reads, retries, pages); None → no overall deadline."""
    curves: bool = False
    """Also compute memory against context per precision (the HTML report's charts; a few ms per repo)."""

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name in RANGES:
                _check_range(f.name, getattr(self, f.name))
        _check_choices(self)

    def is_offline(self) -> bool:
        """--offline, else HF_HUB_OFFLINE."""
        if self.offline is not None:
            return self.offline
        return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def _check_range(name: str, value: object) -> None:
    if value is None and name in ("context", "gpu_layers", "deadline"):
        return
    lo, hi = RANGES[name]
    number_ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number_ok or not math.isfinite(float(value)):  # type: ignore[arg-type]
        raise ValueError(f"{name}: expected a number, got {value!r}")
    if isinstance(lo, int) and isinstance(hi, int) and not isinstance(value, int):
        raise ValueError(f"{name}: expected a whole number, got {value!r}")
    if not lo <= value <= hi:  # type: ignore[operator]
        raise ValueError(f"{name}: {value:,} is out of range ({lo:,}–{hi:,})")


def _check_choices(o: ScanOptions) -> None:
    """Names checked against the tables that define them."""
    if not isinstance(o.revision, str) or not o.revision.strip() or len(o.revision) > MAX_REVISION_CHARS:
        raise ValueError(f"revision: expected a branch, tag or commit of 1–{MAX_REVISION_CHARS} characters")
    if o.engine not in ENGINES:
        raise ValueError(f"engine: unknown engine {o.engine!r}; known: {', '.join(ENGINES)}")
    if o.mode not in MODES:
        raise ValueError(f"mode: unknown mode {o.mode!r}; known: {', '.join(MODES)}")
    if o.optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer: unknown optimizer {o.optimizer!r}; known: {', '.join(OPTIMIZERS)}")
    if not known_kv_dtype(o.kv_dtype):
        raise ValueError(f"kv_dtype: unknown KV cache dtype {o.kv_dtype!r}")
    if o.gpu is not None:
        try:
            parse_gpu(o.gpu)
        except ScanError as exc:
            raise ValueError(f"gpu: {exc.message}") from None
