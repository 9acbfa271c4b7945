"""Names of the well-known files in a model repo: one home for what fetch reads and what later stages look up."""

from __future__ import annotations

CONFIG = "config.json"
CARD_FILES = ("README.md", "readme.md", "README.MD")
ADAPTER_CONFIG = "adapter_config.json"  # PEFT
PIPELINE_INDEX = "model_index.json"  # diffusers
SENTENCE_MODULES = "modules.json"  # sentence-transformers
# Files that name a repo's parts (read by fetch, interpreted by parts.detect).
PART_FILES = (ADAPTER_CONFIG, PIPELINE_INDEX, SENTENCE_MODULES)
