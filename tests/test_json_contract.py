"""The JSON contract: the docs' key tables are generated from the dataclass docstrings (and up to date), and the key
tree of one result of each repo kind is snapshotted and fully documented."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cardscan.options import ScanOptions
from cardscan.render.json import result_object
from cardscan.scanner import _scan_listing, scan
from cardscan.schema import documented_keys
from cardscan.sources.memory import MemorySource
from cardscan.testing.hub import HubEmulator
from tests.st_builder import header_bytes
from tests.test_kinds import run as scan_files

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = Path(__file__).parent / "fixtures" / "json_key_tree.json"
# Objects whose keys are data, not contract (dtype names, GPU names, layer kinds, card fields…).
FREE_FORM = ("by_dtype", "by_component", "layer_kinds", "format_details", "precision_bytes", "rule_of_thumb_bytes",
             "fit_matrix[].fits", "card.quantization", "metadata", "components[].by_dtype", "quantization.layers")  # fmt: skip


def key_tree(obj: Any, prefix: str = "") -> set[str]:
    """Every key path of a JSON value (`weights.files[].path`); agreement fields fold into `agreement.*`."""
    paths: set[str] = set()
    if isinstance(obj, dict):
        for key, value in obj.items():
            path = f"{prefix}.{key}" if prefix else key
            if prefix == "agreement":
                path = "agreement.*"
            paths.add(path)
            if key == "base" and not prefix:
                continue  # a full result of the same shape: checked on its own
            if not path.endswith(FREE_FORM):
                paths |= key_tree(value, path)
    elif isinstance(obj, list):
        for item in obj:
            paths |= key_tree(item, prefix + "[]")
    return paths


def _results(hub: HubEmulator) -> dict[str, dict[str, Any]]:
    options = ScanOptions(endpoint=hub.url, token=None)
    pipeline = {
        "model_index.json": json.dumps({"unet": ["diffusers", "UNet2DConditionModel"]}).encode(),
        "unet/diffusion_pytorch_model.safetensors": header_bytes({"conv.weight": ("F16", [320, 4, 3, 3])}),
    }
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}]  # fmt: skip
    sentence = {
        "modules.json": json.dumps(modules).encode(),
        "model.safetensors": header_bytes({"embeddings.word_embeddings.weight": ("F32", [100, 8])}),
        "2_Dense/model.safetensors": header_bytes({"linear.weight": ("F32", [4, 8])}),
    }
    source = MemorySource({})
    return {
        "model": result_object(scan(str(ROOT / "examples" / "llama-2-7b"), ScanOptions(gpu="rtx4090"))),
        "gguf": result_object(scan("TheBloke/Llama-2-7B-GGUF", options)),
        "adapter": result_object(scan("org/lora-adapter", options)),
        "quantized": result_object(scan("TheBloke/Llama-2-7B-GPTQ", options)),
        "diffusers": result_object(scan_files(pipeline)),
        "sentence-transformers": result_object(scan_files(sentence)),
        "error": result_object(_scan_listing(source, source.listing(), "x", ScanOptions(), None, 1)),
        "not-found": result_object(scan("org/does-not-exist", options)),
    }


def test_the_json_docs_are_generated_from_the_dataclasses() -> None:
    check = subprocess.run([sys.executable, "scripts/json_docs.py", "--check"], cwd=ROOT, capture_output=True)
    assert check.returncode == 0, "docs/json-output.md is out of date: run python scripts/json_docs.py"


@pytest.mark.integration
def test_key_tree_of_each_repo_kind_is_snapshotted_and_documented(hub: HubEmulator) -> None:
    trees = {kind: sorted(key_tree(obj)) for kind, obj in _results(hub).items()}
    if os.environ.get("CARDSCAN_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(trees, indent=1) + "\n", encoding="utf-8")
    assert trees == json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    documented = documented_keys()
    missing = set()
    for path in set().union(*map(set, trees.values())):
        parent, _, key = path.rpartition(".")
        parent = parent or "(top level)"
        if key == "*":
            continue  # agreement's per-field objects: documented as the `agreement.*` section
        if parent in documented and key not in documented[parent]:
            missing.add(path)
        if parent not in documented and not parent.endswith(FREE_FORM) and "." in path:
            missing.add(path)
    assert not missing, f"keys in the output that docs/json-output.md does not document: {sorted(missing)}"
