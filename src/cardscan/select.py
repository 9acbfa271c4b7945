"""Which weight files describe the model: one set is chosen, every other set in the repo is listed as an alternative.

Repos often hold the same weights several times (sharded safetensors and `consolidated.safetensors`,
`pytorch_model*.bin`, `*.fp16.safetensors`, an `original/` folder, ONNX exports, many GGUF quants).
Counting more than one set doubles the model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from cardscan.sources.base import Listing, RepoFile

# `model-00001-of-00004.safetensors`, `model.fp16-00001-of-00002.safetensors`, `Q4_K_M-00001-of-00003.gguf`.
_SHARD = re.compile(r"^(?P<stem>.+?)-(?P<part>\d{1,6})-of-(?P<count>\d{1,6})(?P<ext>\.[A-Za-z0-9]+)$")

# File formats we can read headers of, by extension.
WEIGHT_FORMATS: dict[str, str] = {
    ".safetensors": "safetensors",
    ".gguf": "gguf",
    ".bin": "torch",
    ".pt": "torch",
    ".pth": "torch",
}
# Weight formats we recognise but do not parse: listed as alternatives so the user sees them.
OTHER_WEIGHT_FORMATS: dict[str, str] = {
    ".onnx": "onnx",
    ".onnx_data": "onnx",
    ".msgpack": "flax",
    ".h5": "tf",
    ".tflite": "tflite",
    ".ckpt": "ckpt",
    ".mlmodel": "coreml",
    ".nemo": "nemo",
}
# Lower rank wins. Stems that are copies of the main weights in another layout rank after the main set.
_STEM_RANK: dict[str, int] = {
    "model": 0,
    "pytorch_model": 0,
    "diffusion_pytorch_model": 0,
    "adapter_model": 1,
    "consolidated": 5,
}
_FORMAT_RANK: dict[str, int] = {"safetensors": 0, "gguf": 1, "torch": 2}
# Folders that hold copies or exports of the weights, never the main set.
_COPY_DIRS = ("original/", "onnx/", "openvino/", "coreml/", "tflite/", "metal/", "flax_model/")
# Stem suffixes that mark a precision variant (`model.fp16.safetensors`).
_VARIANT = re.compile(r"\.(fp16|bf16|fp32|int8|int4)$")


@dataclass(frozen=True)
class WeightSet:
    """One complete copy of the weights: a single file or all shards of one."""

    name: str
    """A label: the stem, e.g. `model`, `model.fp16`, `consolidated`, `Q4_K_M`."""
    format: str
    """safetensors, gguf, torch, or an unparsed format (onnx, flax…)."""
    files: tuple[str, ...]
    """Repo-relative paths, in shard order."""
    bytes: int | None
    """Sum of the file sizes when the listing knows them."""
    index: str | None = None
    """The shard index (`*.safetensors.index.json`) when the repo has one."""


@dataclass(frozen=True)
class Selection:
    """The weight set a scan reads, and the others it skips."""

    chosen: WeightSet | None
    """The set whose headers are read; None when the repo has no weights we can read."""
    alternatives: tuple[WeightSet, ...]
    """Every other set, never counted."""
    reason: str
    """Why this set was chosen (shown in notes)."""


def select_weights(listing: Listing, forced: str | None = None) -> Selection:
    """Group the repo's weight files into sets and choose one (or the one named by `--file`)."""
    sets = _group(listing.files)
    if forced:
        chosen = _forced(sets, listing, forced)
        return Selection(chosen, tuple(s for s in sets if s is not chosen), f"--file {forced}")
    readable = [s for s in sets if s.format in _FORMAT_RANK]
    if not readable:
        return Selection(None, tuple(sets), "no safetensors, GGUF or PyTorch weights in the repo")
    chosen = min(readable, key=_rank)
    return Selection(chosen, tuple(s for s in sets if s is not chosen), _reason(chosen, sets))


def _forced(sets: list[WeightSet], listing: Listing, forced: str) -> WeightSet:
    for s in sets:
        if forced in s.files or forced == s.name:
            return s
    entry = listing.file(forced)
    ext = _ext(forced)
    fmt = WEIGHT_FORMATS.get(ext) or OTHER_WEIGHT_FORMATS.get(ext) or "unknown"
    return WeightSet(forced, fmt, (forced,), entry.size if entry else None)


def _rank(s: WeightSet) -> tuple[bool, int, int, bool, int, int, str]:
    in_copy_dir = s.files[0].startswith(_COPY_DIRS)
    depth = s.files[0].count("/")
    stem = s.name.rsplit("/", 1)[-1]
    variant = bool(_VARIANT.search(stem))
    return (in_copy_dir, depth, _FORMAT_RANK[s.format], variant, _STEM_RANK.get(stem, 3), _gguf_rank(s), s.name)


# Among many GGUF quants, default to the one most people run; `--file` picks another.
_GGUF_PREFERENCE = ("Q4_K_M", "Q4_K_S", "Q5_K_M", "Q4_0", "Q8_0", "Q6_K", "BF16", "F16")


def _gguf_rank(s: WeightSet) -> int:
    if s.format != "gguf":
        return 0
    upper = s.name.upper()
    for i, label in enumerate(_GGUF_PREFERENCE):
        if label in upper:
            return i
    return len(_GGUF_PREFERENCE)


def _reason(chosen: WeightSet, sets: list[WeightSet]) -> str:
    others = len(sets) - 1
    shards = f"{len(chosen.files)} shards" if len(chosen.files) > 1 else "single file"
    tail = f"; {others} other weight set(s) listed as alternatives, not counted" if others else ""
    return f"{chosen.format} {chosen.name} ({shards}){tail}"


def _group(files: Iterable[RepoFile]) -> list[WeightSet]:
    groups: dict[tuple[str, str], list[RepoFile]] = {}
    indexes: dict[str, str] = {}
    for f in files:
        if f.path.endswith(".safetensors.index.json"):
            indexes[f.path[: -len(".safetensors.index.json")]] = f.path
            continue
        ext = _ext(f.path)
        fmt = WEIGHT_FORMATS.get(ext) or OTHER_WEIGHT_FORMATS.get(ext)
        if fmt is None or _is_not_weights(f.path):
            continue
        groups.setdefault((_stem(f.path), fmt), []).append(f)
    sets = []
    for (stem, fmt), members in sorted(groups.items()):
        members.sort(key=lambda f: f.path)
        sizes = [m.size for m in members if m.size is not None]
        total = sum(sizes) if len(sizes) == len(members) else None
        index = indexes.get(stem) if fmt == "safetensors" else None
        sets.append(WeightSet(stem, fmt, tuple(m.path for m in members), total, index))
    return sets


def _is_not_weights(path: str) -> bool:
    # Training state and tokenizer files share weight extensions but are not model weights.
    name = path.rsplit("/", 1)[-1]
    return name in {
        "training_args.bin",
        "optimizer.pt",
        "scheduler.pt",
        "rng_state.pth",
        "scaler.pt",
    } or name.startswith(("optimizer", "rng_state"))


def _ext(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return name[dot:].lower() if dot >= 0 else ""


def _stem(path: str) -> str:
    """The set a file belongs to: its path without shard numbering and extension."""
    folder, _, name = path.rpartition("/")
    m = _SHARD.match(name)
    stem = m.group("stem") if m else name[: name.rfind(".")] if "." in name else name
    if name.endswith(".pth") and stem.startswith("consolidated."):
        stem = "consolidated"  # Meta's `consolidated.00.pth`, `consolidated.01.pth` are model-parallel shards.
    return f"{folder}/{stem}" if folder else stem
