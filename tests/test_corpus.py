"""The fixture corpus: valid safetensors headers whose totals equal the published parameter counts."""

from __future__ import annotations

import itertools
import json
import math
import re
import struct
from collections import Counter
from pathlib import Path

import pytest

from cardscan.testing import corpus

HUB = Path(__file__).parent / "fixtures" / "hub"
CONFIGS = Path(__file__).parent / "fixtures" / "configs"
EXAMPLE = Path(__file__).parent.parent / "examples" / "llama-2-7b"


def headers(repo: str, names: list[str] | None = None) -> dict[str, dict]:
    """Header JSON of the repo's weight set (index shards, else model.safetensors, else `names`)."""
    files = HUB / repo / "files"
    index = files / "model.safetensors.index.json"
    if names is None:
        names = sorted(set(json.loads(index.read_text())["weight_map"].values())) if index.exists() else []
        names = names or ["model.safetensors"]
    return {n: corpus.read_header((files / n).read_bytes()) for n in names}


def tensors(repo: str, names: list[str] | None = None) -> dict[str, dict]:
    return {k: v for h in headers(repo, names).values() for k, v in h.items() if k != "__metadata__"}


def numel(entry: dict) -> int:
    return math.prod(entry["shape"])


def by_dtype(ts: dict[str, dict], skip: str = r"$^") -> Counter:
    counts: Counter = Counter()
    for name, t in ts.items():
        if not re.search(skip, name):
            counts[t["dtype"]] += numel(t)
    return counts


# Published parameter counts (model cards / Hub safetensors totals; quant-formats.md §2–6).
DENSE = [
    ("meta-llama/Llama-2-7b-hf", 6_738_415_616),
    ("meta-llama/Llama-3.1-8B", 8_030_261_248),
    ("mistralai/Mistral-7B-v0.1", 7_241_732_096),
    ("mistralai/Mixtral-8x7B-v0.1", 46_702_792_704),
    ("Qwen/Qwen3-30B-A3B", 30_532_122_624),
    ("google/gemma-2-2b", 2_614_341_888),
    ("google/gemma-3-1b-it", 999_885_952),
]


@pytest.mark.parametrize(("repo", "expected"), DENSE)
def test_dense_totals(repo, expected):
    assert sum(by_dtype(tensors(repo), skip=r"rotary_emb\.inv_freq$").values()) == expected


def test_gpt2_params_and_mask_buffers():
    ts = tensors("openai-community/gpt2")
    buffers = [n for n in ts if re.fullmatch(r"h\.\d+\.attn\.bias", n)]
    assert len(buffers) == 12 and all(ts[n]["shape"] == [1, 1, 1024, 1024] for n in buffers)
    assert sum(by_dtype(ts).values()) == 137_022_720
    assert sum(by_dtype(ts, skip=r"^h\.\d+\.attn\.bias$").values()) == 124_439_808


def test_llama31_shards_match_real_sizes():
    sizes = json.loads((HUB / "meta-llama/Llama-3.1-8B/repo.json").read_text())["sizes"]
    real = [4_976_698_672, 4_999_802_720, 4_915_916_176, 1_168_138_808]
    assert [sizes[f"model-0000{i}-of-00004.safetensors"] for i in range(1, 5)] == real


def test_mistral_consolidated_trap_has_same_count():
    ts = tensors("mistralai/Mistral-7B-v0.1", ["consolidated.safetensors"])
    assert "tok_embeddings.weight" in ts and sum(map(numel, ts.values())) == 7_241_732_096


def test_gpt_oss_mxfp4_logical_count():
    ts = tensors("openai/gpt-oss-20b")
    bf16 = sum(numel(t) for t in ts.values() if t["dtype"] == "BF16")
    blocks = sum(numel(t) for n, t in ts.items() if n.endswith("_blocks"))
    scales = sum(numel(t) for n, t in ts.items() if n.endswith("_scales"))
    assert (bf16, blocks, scales) == (1_804_459_584, 9_555_148_800, 597_196_800)
    assert bf16 + 2 * blocks == 20_914_757_184


def test_gptq_logical_and_naive_counts():
    ts = tensors("TheBloke/Llama-2-7B-GPTQ")
    qweight = sum(numel(t) for n, t in ts.items() if n.endswith(".qweight"))
    plain = sum(numel(t) for n, t in ts.items() if t["dtype"] == "F16" and not n.endswith(".scales"))
    assert qweight * 8 + plain == 6_738_415_616
    assert sum(map(numel, ts.values())) == 1_129_967_616  # what the Hub shows
    assert sum(t["data_offsets"][1] - t["data_offsets"][0] for t in ts.values()) == 3_893_862_400


def test_awq_counts():
    ts = tensors("TheBloke/Llama-2-7B-AWQ")
    assert sum(map(numel, ts.values())) == 1_128_828_928
    q = ts["model.layers.0.self_attn.q_proj.qweight"]
    assert q["shape"] == [4096, 512] and ts["model.layers.0.self_attn.q_proj.scales"]["shape"] == [32, 4096]


def test_bnb_nf4_count_and_quant_state_bytes():
    repo = "unsloth/llama-3-8b-bnb-4bit"
    ts = tensors(repo)
    weights = sum(numel(t) for n, t in ts.items() if t["dtype"] == "U8" and n.endswith("_proj.weight"))
    bf16 = sum(numel(t) for t in ts.values() if t["dtype"] == "BF16")
    assert weights * 2 + bf16 == 8_030_261_248
    for name, raw in _shard_bytes(repo):
        header = corpus.read_header(raw)
        (n,) = struct.unpack("<Q", raw[:8])
        for key, t in header.items():
            if key.endswith("quant_state.bitsandbytes__nf4"):
                begin, end = t["data_offsets"]
                state = json.loads(raw[8 + n + begin : 8 + n + end])
                weight = header[key.removesuffix(".quant_state.bitsandbytes__nf4")]
                assert math.prod(state["shape"]) == 2 * numel(weight), name


def _shard_bytes(repo: str) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted((HUB / repo / "files").glob("*.safetensors"))]


def test_deepseek_v3_recipe_counts(hub_server):
    repo = hub_server.repos["deepseek-ai/DeepSeek-V3"]
    files = repo.tree(repo.revisions["main"])
    shards = [e for p, e in files.items() if p.endswith(".safetensors")]
    assert len(shards) == 163 and "model.safetensors.index.json" in files
    ts = {k: v for e in shards for k, v in corpus.read_header(e.read(0, e.stored_len)).items() if k != "__metadata__"}
    logical = {n: t for n, t in ts.items() if not n.endswith("weight_scale_inv") and t["dtype"] != "F32"}
    mtp = sum(numel(t) for n, t in logical.items() if n.startswith("model.layers.61."))
    main = sum(numel(t) for n, t in logical.items()) - mtp
    # "671B + 14B MTP = 685B" (DeepSeek README_WEIGHTS): MTP is 11.5B unique + the 0.9B embedding and head copies.
    assert round(main / 1e9) == 671 and 13e9 < mtp < 14e9
    assert main + mtp == 3_918_786_560 + 680_571_043_840  # the Hub's BF16 + F8_E4M3 totals
    assert ts["model.layers.3.mlp.experts.0.up_proj.weight_scale_inv"]["shape"] == [16, 56]


def test_gguf_files_count_llama2():
    gguf = pytest.importorskip("cardscan.parse.gguf")
    for path in sorted((HUB / "TheBloke/Llama-2-7B-GGUF/files").glob("*.gguf")):
        header = gguf.parse_gguf(path.read_bytes())
        assert gguf.gguf_parameter_count(header) == 6_738_415_616, path.name


def _all_safetensors() -> list[Path]:
    return sorted(HUB.glob("*/*/files/**/*.safetensors")) + sorted(EXAMPLE.glob("*.safetensors"))


@pytest.mark.parametrize("path", _all_safetensors(), ids=lambda p: str(p.relative_to(HUB.parent.parent.parent)))
def test_safetensors_headers_are_valid(path):
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    text = raw[8 : 8 + n].decode("utf-8")
    assert (8 + n) % 8 == 0 and text.startswith("{") and text == text.rstrip() + " " * (len(text) - len(text.rstrip()))
    header = json.loads(text)
    assert header.pop("__metadata__")["format"] == "pt"
    assert list(header) == sorted(header)
    spans = sorted(tuple(t["data_offsets"]) for t in header.values())
    assert spans[0][0] == 0 and all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    for t in header.values():
        bits = {"F32": 32, "F16": 16, "BF16": 16, "I32": 32, "U8": 8, "F8_E4M3": 8}[t["dtype"]]
        assert t["data_offsets"][1] - t["data_offsets"][0] == math.prod(t["shape"]) * bits // 8


def test_index_total_size_and_declared_sizes():
    for index in sorted(HUB.glob("*/*/files/model.safetensors.index.json")):
        repo_dir = index.parent.parent
        sizes = json.loads((repo_dir / "repo.json").read_text())["sizes"]
        doc = json.loads(index.read_text())
        data = 0
        for name in sorted(set(doc["weight_map"].values())):
            raw = (index.parent / name).read_bytes()
            (n,) = struct.unpack("<Q", raw[:8])
            end = max(t["data_offsets"][1] for k, t in json.loads(raw[8 : 8 + n]).items() if k != "__metadata__")
            assert sizes[name] == 8 + n + end
            data += end
        assert doc["metadata"]["total_size"] == data, repo_dir.name


def test_example_matches_hub_repo():
    for name in ("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "config.json"):
        assert (EXAMPLE / name).read_bytes() == (HUB / "meta-llama/Llama-2-7b-hf/files" / name).read_bytes()
    assert json.loads((EXAMPLE / "config.json").read_text())["max_position_embeddings"] == 4096
    assert (
        json.loads((EXAMPLE / "model.safetensors.index.json").read_text())["metadata"]["total_size"] == 13_476_839_424
    )


def test_gguf_writer_layout():
    head = corpus.gguf_file({"general.architecture": "llama"}, [("a", (32, 2), "Q8_0"), ("b", (4,), "F32")])
    assert head.prefix[:4] == b"GGUF" and len(head.prefix) % 32 == 0
    assert head.size == len(head.prefix) + 96 + 32  # 2 Q8_0 blocks = 68 B → 96 aligned; 16 B F32 → 32
