"""GPU catalogue (data/gpus.toml), parsing a user's GPU text, and whether an estimate fits."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from cardscan.errors import ErrorCode, ScanError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

if TYPE_CHECKING:
    from cardscan.estimate.engines import MemoryEstimate

GIB = 1 << 30
# Words users add that don't identify the card.
_NOISE = ("nvidia", "geforce", "amd", "radeon", "tesla", "apple")


@dataclass(frozen=True)
class Gpu:
    """One accelerator: how much memory it is sold with and how much the driver gives a process."""

    name: str
    """Catalogue name, e.g. "H100 SXM 80GB"."""
    memory_bytes: int
    """Memory as sold (the "80GB" label, in GiB units)."""
    usable_bytes: int
    """Total the driver reports (what vLLM's utilization multiplies); Apple: the Metal working-set share."""
    vendor: str = "custom"
    """nvidia, amd, apple or custom."""
    kind: str = "custom"
    """consumer, workstation, datacenter, apple or custom (a bare size)."""
    aliases: tuple[str, ...] = ()
    """Other names accepted by parse_gpu."""
    usable_source: str = ""
    """Where usable_bytes comes from: vllm-log, driver, estimate, apple-fraction, user."""


def _norm(text: str) -> str:
    text = re.sub(r"[\s_\-]+", "", text.lower())
    for word in _NOISE:
        text = text.removeprefix(word)
    return text


def _row_to_gpu(row: dict, apple_fraction: float, est_fraction: float) -> Gpu:
    sold = int(row["memory_gb"] * GIB)
    if row["kind"] == "apple":
        usable, source = int(sold * row.get("usable_fraction", apple_fraction)), "apple-fraction"
    elif "usable_gib" in row:
        usable, source = int(row["usable_gib"] * GIB), row.get("usable_source", "")
    else:
        usable, source = int(sold * est_fraction), "estimate"
    return Gpu(row["name"], sold, usable, row["vendor"], row["kind"], tuple(row.get("aliases", ())), source)


@cache
def catalogue() -> tuple[Gpu, ...]:
    """All accelerators of data/gpus.toml, in file order."""
    data = tomllib.loads(resources.files("cardscan.data").joinpath("gpus.toml").read_text(encoding="utf-8"))
    return tuple(_row_to_gpu(r, data["apple_usable_fraction"], data["estimate_fraction"]) for r in data["gpu"])


@cache
def _index() -> dict[str, Gpu]:
    index: dict[str, Gpu] = {}
    for gpu in catalogue():
        for key in (gpu.name, *gpu.aliases):
            index.setdefault(_norm(key), gpu)
    return index


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(gib|gb|g)\s*$", re.IGNORECASE)
ESTIMATE_FRACTION = 0.985  # usable/sold ratio of the vLLM-log rows of gpus.toml


def _from_size(text: str) -> Gpu | None:
    """`23.5GiB` is taken as usable memory; `24GB`/`24G` as the label on the box (usable ≈ 98.5 %)."""
    match = _SIZE.match(text)
    if not match:
        return None
    amount, unit = float(match[1]), match[2].lower()
    sold = int(amount * GIB)
    usable = sold if unit == "gib" else int(sold * ESTIMATE_FRACTION)
    return Gpu(f"{amount:g} {'GiB' if unit == 'gib' else 'GB'}", sold, usable, usable_source="user")


def parse_gpu(text: str) -> Gpu:
    """A catalogue GPU by name (case, spaces, dashes ignored) or a bare size such as `24GB` / `23.5GiB`."""
    sized = _from_size(text)
    if sized:
        return sized
    key = _norm(text)
    index = _index()
    if key in index:
        return index[key]
    close = difflib.get_close_matches(key, list(index), n=5, cutoff=0.5)
    names = list(dict.fromkeys(index[c].name for c in close)) or [g.name for g in catalogue()[:8]]
    raise ScanError(
        ErrorCode.BAD_INPUT, f"unknown GPU {text!r}; close names: {', '.join(names)} (or give a size like 24GB)"
    )


@dataclass(frozen=True)
class Fit:
    """Whether an estimate fits one GPU, and by how much."""

    gpu: Gpu
    """The GPU checked."""
    fits: bool
    """True when the estimate is within the engine's budget on this GPU."""
    free_bytes: int
    """Budget minus the estimate (negative: missing bytes)."""
    utilization: float
    """Estimate / usable memory."""


def engine_budget(gpu: Gpu, engine: str, gpu_util: float = 0.9) -> int:
    """Bytes an engine lets itself use on `gpu`: vLLM util·total, llama.cpp total − fit margin, others total."""
    from cardscan.estimate.weights import overhead

    if engine == "vllm":
        return int(gpu.usable_bytes * gpu_util)
    if engine == "llama.cpp":
        return gpu.usable_bytes - overhead("llamacpp_fit_margin")
    return gpu.usable_bytes


def fits(estimate: MemoryEstimate, gpu: Gpu) -> Fit:
    """Does `estimate` (per GPU) fit `gpu` under its engine's budget?"""
    budget = engine_budget(gpu, estimate.engine, estimate.gpu_util)
    free = budget - estimate.total_bytes
    return Fit(gpu, free >= 0, free, estimate.total_bytes / gpu.usable_bytes)
