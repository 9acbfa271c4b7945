"""config.json → exact parameter count, by letting transformers build the model on PyTorch's meta device.

Optional (`pip install cardscan[meta]`): torch and transformers are imported inside the call only, so importing
this module stays free. Nothing is allocated (meta tensors have shapes, no storage) and nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import threading
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cardscan.parse.families import MTP_KEYS  # layers transformers does not build (DeepSeek-V3 layer 61, GLM-4.5…)

# Tried after the checkpoint's own class (`architectures[0]`), most specific first: decoders, then bare models.
AUTO_CLASSES = ("AutoModelForCausalLM", "AutoModel")

# Key that names the repo's own Python code: never run; the count then uses transformers' native class, if any.
CUSTOM_CODE_KEY = "auto_map"


# Building touches process-wide state (environment, transformers verbosity, warning filters): one at a time.
_BUILD_LOCK = threading.Lock()


@dataclass(frozen=True)
class MetaCount:
    """Parameters of the model transformers builds from a config.json, counted on the meta device."""

    total: int
    """Unique parameters: tied weights counted once; buffers (rotary inv_freq, DeepSeek router bias) excluded."""
    by_module: dict[str, int]
    """Parameters per top-level child module (e.g. model, lm_head); a tied weight counts under the first holder."""
    architecture: str
    """Class that was built (e.g. LlamaForCausalLM)."""
    transformers_version: str
    """transformers version that built it: module layouts can change between releases."""
    notes: tuple[str, ...] = ()
    """What the count leaves out or how it was obtained (MTP layers, tied head, fallback class…)."""
    buffer_elements: int = 0
    """Elements of persistent buffers: saved in checkpoints but not parameters (e.g. DeepSeek-V3 router bias)."""


def meta_parameter_count(config: Mapping[str, Any]) -> MetaCount | None:
    """Exact parameter count of `config` built by transformers; None when torch/transformers are missing or the
    architecture cannot be built without remote code (custom `auto_map`, unknown model_type, init failure)."""
    if not _buildable(config) or not _backends_importable():
        return None
    try:
        key = json.dumps(config, sort_keys=True, separators=(",", ":"), default=_plain)
    except (TypeError, ValueError):
        return None
    found = _count_cached(key)
    # The cached value is shared: hand out a copy of its one mutable field.
    return None if found is None else dataclasses.replace(found, by_module=dict(found.by_module))


def _buildable(config: Mapping[str, Any]) -> bool:
    """Cheap refusal before importing anything: AutoConfig needs a model_type."""
    return isinstance(config, Mapping) and isinstance(config.get("model_type"), str)


def _backends_importable() -> bool:
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except (ImportError, OSError):  # OSError: a torch wheel whose shared libraries do not load
        return False
    return True


def _plain(value: Any) -> Any:
    """json.dumps fallback: nested Mappings that are not dicts; anything else by its text."""
    return dict(value) if isinstance(value, Mapping) else str(value)


@lru_cache(maxsize=128)
def _count_cached(config_json: str) -> MetaCount | None:
    """One build per distinct config: capacity searches ask for the same config many times."""
    import torch
    import transformers

    config = json.loads(config_json)
    # Not native: remote-code-only, or newer than the installed transformers.
    if config["model_type"] not in transformers.CONFIG_MAPPING:
        return None
    with _BUILD_LOCK, _offline(), _quiet(transformers):
        try:
            built = _build(config, torch, transformers)
        except Exception:  # any failure of a third-party __init__ means "cannot build": the caller falls back
            return None
    if built is None:
        return None
    model, notes = built
    total, by_module, tied = _count(model)
    notes += tied + _mtp_notes(config)
    if CUSTOM_CODE_KEY in config:
        notes.append(f"{CUSTOM_CODE_KEY} ignored (repo code never run): counted with transformers' own class")
    if config.get("quantization_config"):
        notes.append("quantization_config not applied: logical (unquantized) parameter count")
    buffers = _persistent_buffer_elements(model)
    if buffers:
        notes.append(f"{buffers:,} persistent buffer elements (in checkpoints, not parameters) excluded")
    return MetaCount(total, by_module, type(model).__name__, transformers.__version__, tuple(notes), buffers)


def _build(config: dict[str, Any], torch: Any, transformers: Any) -> tuple[Any, list[str]] | None:
    """The checkpoint's own class when transformers has it, else the Auto classes in order; on the meta device."""
    fields = {k: v for k, v in config.items() if k != "model_type"}
    cfg = transformers.AutoConfig.for_model(config["model_type"], **fields)
    wanted = (config.get("architectures") or [None])[0]
    for name, make in _candidates(wanted, transformers):
        try:
            with torch.device("meta"):
                model = make(cfg)
        except Exception:  # e.g. the named class rejects this config class: try the next candidate
            continue
        built = type(model).__name__
        if built == wanted:
            return model, []
        why = f"{wanted} could not be built" if wanted else "config names no architecture"
        return model, [f"{why}: built {built} with {name}"]
    return None


def _candidates(wanted: str | None, transformers: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(wanted, str):
        cls = _model_class(wanted, transformers)
        if cls is not None:
            yield wanted, cls
    for auto in AUTO_CLASSES:
        yield auto, getattr(transformers, auto).from_config


def _model_class(name: str, transformers: Any) -> Any:
    """transformers' class of that name if it is a model class (getattr on the lazy module may import or fail)."""
    try:
        cls = getattr(transformers, name, None)
    except Exception:
        return None
    return cls if isinstance(cls, type) and issubclass(cls, transformers.PreTrainedModel) else None


def _count(model: Any) -> tuple[int, dict[str, int], list[str]]:
    """(total, per top-level child, notes on tied weights); parameters() dedups shared tensors by identity."""
    seen: set[int] = set()
    by_module: dict[str, int] = {}
    notes: list[str] = []
    for name, child in model.named_children():
        own = [p for p in child.parameters() if id(p) not in seen]
        shared = sum(p.numel() for p in child.parameters()) - sum(p.numel() for p in own)
        seen.update(id(p) for p in own)
        by_module[name] = sum(p.numel() for p in own)
        if shared:
            notes.append(f"{name}: {shared:,} parameters shared with an earlier module (tied), counted once")
    direct = sum(p.numel() for p in model.parameters(recurse=False))
    if direct:
        by_module["(root)"] = direct
    return sum(p.numel() for p in model.parameters()), by_module, notes


def _persistent_buffer_elements(model: Any) -> int:
    """state_dict entries that are not Parameters; non-persistent buffers (rotary inv_freq) are not in it."""
    from torch.nn import Parameter

    state = model.state_dict(keep_vars=True)  # keep_vars: the objects themselves, so identity dedups ties
    unique = {id(t): t for t in state.values() if not isinstance(t, Parameter)}
    return sum(t.numel() for t in unique.values())


def _mtp_notes(config: Mapping[str, Any]) -> list[str]:
    text = config.get("text_config")
    parts = (config, text) if isinstance(text, Mapping) else (config,)
    layers = max((int(part.get(k) or 0) for part in parts for k in MTP_KEYS), default=0)
    return [f"{layers} multi-token-prediction layer(s) not built by transformers: excluded"] if layers else []


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """Hub offline for this call only: some configs ask for pretrained sub-models (backbones) at init.

    huggingface_hub reads HF_HUB_OFFLINE once at import, so its module constant is flipped as well."""
    old_env = os.environ.get("HF_HUB_OFFLINE")
    constants: Any = sys.modules.get("huggingface_hub.constants")  # a module whose attribute we flip
    old_const = getattr(constants, "HF_HUB_OFFLINE", None)
    os.environ["HF_HUB_OFFLINE"] = "1"
    if constants is not None:
        constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        if old_env is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = old_env
        if constants is not None:
            constants.HF_HUB_OFFLINE = old_const


@contextlib.contextmanager
def _quiet(transformers: Any) -> Iterator[None]:
    """transformers warns freely while building from a bare config; none of it concerns a count."""
    logging = transformers.utils.logging
    old = logging.get_verbosity()
    logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.set_verbosity(old)
