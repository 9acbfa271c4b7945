"""GPU catalogue (data/gpus.toml) and parsing a user's GPU text. A GPU is a row of the TOML file; `register()` adds
one at run time (tests, a team's private cards)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from cardscan.errors import ErrorCode, ScanError
from cardscan.units import GIB

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]

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
    show: tuple[str, ...] = ()
    """Display sets the card belongs to (DISPLAY_SETS): matrix, summary."""


# Display sets a catalogue row can be flagged with (`show = [...]` in gpus.toml).
DISPLAY_SETS = ("matrix", "summary")
_EXTRA: list[Gpu] = []


def _norm(text: str) -> str:
    text = re.sub(r"[\s_\-]+", "", text.lower())
    for word in _NOISE:
        text = text.removeprefix(word)
    return text


def _row_to_gpu(row: dict[str, Any], apple_fraction: float, est_fraction: float) -> Gpu:
    sold = int(row["memory_gb"] * GIB)
    if row["kind"] == "apple":
        usable, source = int(sold * row.get("usable_fraction", apple_fraction)), "apple-fraction"
    elif "usable_gib" in row:
        usable, source = int(row["usable_gib"] * GIB), row.get("usable_source", "")
    else:
        usable, source = int(sold * est_fraction), "estimate"
    aliases, show = tuple(row.get("aliases", ())), tuple(row.get("show", ()))
    return Gpu(row["name"], sold, usable, row["vendor"], row["kind"], aliases, source, show)


@cache
def _data() -> dict[str, Any]:
    text = resources.files("cardscan.data").joinpath("gpus.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@cache
def _builtin() -> tuple[Gpu, ...]:
    data = _data()
    return tuple(_row_to_gpu(r, data["apple_usable_fraction"], data["estimate_fraction"]) for r in data["gpu"])


def catalogue() -> tuple[Gpu, ...]:
    """All accelerators: data/gpus.toml in file order, then any registered at run time."""
    return (*_builtin(), *_EXTRA)


def register(gpu: Gpu) -> Gpu:
    """Add a GPU to the catalogue (its name and aliases become `--gpu` values)."""
    _EXTRA.append(gpu)
    _index.cache_clear()
    return gpu


def display_set(name: str) -> tuple[Gpu, ...]:
    """The catalogue cards flagged with `show = [name]`, smallest memory first."""
    return tuple(sorted((g for g in catalogue() if name in g.show), key=lambda g: g.memory_bytes))


@cache
def _index() -> dict[str, Gpu]:
    index: dict[str, Gpu] = {}
    for gpu in catalogue():
        for key in (gpu.name, *gpu.aliases):
            index.setdefault(_norm(key), gpu)
    return index


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(gib|gb|g)\s*$", re.IGNORECASE)
MIN_GPU_GIB, MAX_GPU_GIB = (
    0.5,
    16384,
)  # a bare size outside this is a typo, not a device  # usable/sold ratio of the vLLM-log rows of gpus.toml


def _from_size(text: str) -> Gpu | None:
    """`23.5GiB` is taken as usable memory; `24GB`/`24G` as the label on the box (usable ≈ 98.5 %)."""
    match = _SIZE.match(text)
    if not match:
        return None
    amount, unit = float(match[1]), match[2].lower()
    if not MIN_GPU_GIB <= amount <= MAX_GPU_GIB:
        raise ScanError(ErrorCode.BAD_INPUT, f"GPU size {text!r} is out of range ({MIN_GPU_GIB}–{MAX_GPU_GIB} GB)")
    sold = int(amount * GIB)
    usable = sold if unit == "gib" else int(sold * _data()["estimate_fraction"])
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
