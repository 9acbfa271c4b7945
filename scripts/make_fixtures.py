"""Regenerate the offline examples and the Hub emulator corpus (tests/fixtures/hub) from the real configs.

    python scripts/make_fixtures.py            # writes examples/ and tests/fixtures/hub/

Weight files are header-only: the emulator serves declared sizes, zero-filling past the stored prefix.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

from cardscan.testing import corpus as c

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "tests" / "fixtures" / "configs"
HUB = ROOT / "tests" / "fixtures" / "hub"
EXAMPLES = ROOT / "examples"
GB = 10**9

LLAMA2_CARD = """---
extra_gated_heading: You need to share contact information with Meta to access this model
extra_gated_button_content: Submit
language:
- en
pipeline_tag: text-generation
inference: false
tags:
- facebook
- meta
- pytorch
- llama
- llama-2
license: llama2
---
# **Llama 2**
Llama 2 is a collection of pretrained and fine-tuned generative text models ranging in scale from 7 billion to 70 billion
parameters. This is the repository for the 7B pretrained model, converted for the Hugging Face Transformers format.

## Model Details
*Note: Use of this model is governed by the Meta license.*

**Model Architecture** Llama 2 is an auto-regressive language model that uses an optimized transformer architecture.

|Model|Training Data|Params|Content Length|GQA|Tokens|LR|
|---|---|---|---|---|---|---|
|Llama 2|*A new mix of publicly available online data*|7B|4k|&#10007;|2.0T|3.0 x 10<sup>-4</sup>|
"""


def config(name: str, **changes: object) -> dict:
    """A copied real config, with the values the Hub file has where the copy differs."""
    cfg = json.loads((CONFIGS / f"{name}.json").read_text())
    cfg.update(changes)
    return cfg


def dumps(obj: object) -> bytes:
    """JSON as transformers writes it (indent 2, trailing newline)."""
    return (json.dumps(obj, indent=2) + "\n").encode()


def sha1(text: str) -> str:
    """A stable fake commit sha for `text`."""
    return hashlib.sha1(text.encode()).hexdigest()


def llama2_config() -> dict:
    """Llama-2-7b-hf config.json: the preset copy minus MLC keys, with the Hub's 4096 context."""
    cfg = config("meta-llama__Llama-2-7b-hf", max_position_embeddings=4096)
    for key in ("context_window_size", "prefill_chunk_size"):
        cfg.pop(key, None)
    return cfg


def llama2_weights() -> dict[str, c.HeaderFile | bytes]:
    """Two F16 shards like the Hub's (with the RoPE inv_freq buffers) plus the index."""
    specs = c.model_tensors(llama2_config(), "F16", rule="llama+inv_freq")
    return c.weight_files(c.shard(specs, 10 * GB))


def make_example() -> None:
    """examples/llama-2-7b: header-only shards a user can scan offline."""
    folder = EXAMPLES / "llama-2-7b"
    shutil.rmtree(folder, ignore_errors=True)
    files = {"config.json": dumps(llama2_config()), "README.md": LLAMA2_CARD.encode(), **llama2_weights()}
    c.write_files(folder, files)


def write_repo(repo_id: str, files: dict, **meta: object) -> None:
    """tests/fixtures/hub/{repo_id}: files/ plus repo.json (sha, declared sizes, flags)."""
    folder = HUB / repo_id
    shutil.rmtree(folder, ignore_errors=True)
    declared = c.write_files(folder / "files", files)
    doc = {"sha": sha1(repo_id), **meta, "sizes": declared}
    (folder / "repo.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")


def main(argv: list[str]) -> int:
    make_example()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
