import json

import pytest

from cardscan.errors import ScanError
from cardscan.fetch import PROBE_BYTES, fetch
from cardscan.select import select_weights
from cardscan.sources.memory import MemorySource
from tests.st_builder import data_size, header_bytes


def shard_repo(n_tensors: int = 40):
    shards = {}
    weight_map = {}
    for s in (1, 2):
        tensors = {f"model.layers.{s}.{i}.weight": ("BF16", [64, 64]) for i in range(n_tensors)}
        name = f"model-0000{s}-of-00002.safetensors"
        shards[name] = header_bytes(tensors)
        weight_map.update(dict.fromkeys(tensors, name))
    files = dict(shards)
    files["model.safetensors.index.json"] = json.dumps(
        {"metadata": {"total_size": 1}, "weight_map": weight_map}
    ).encode()
    files["config.json"] = b'{"model_type": "llama"}'
    files["README.md"] = b"---\nlicense: mit\n---\n# m\n"
    sizes = {name: len(raw) + data_size(raw) for name, raw in shards.items()}
    return MemorySource(files, sizes=sizes), shards


def run(source):
    listing = source.listing()
    return fetch(source, listing, select_weights(listing))


def test_sharded_headers_read_in_one_request_each_within_budget():
    source, shards = shard_repo()
    fetched = run(source)
    assert [len(h.tensors) for h in fetched.headers] == [40, 40]
    assert fetched.config == {"model_type": "llama"} and fetched.card.startswith(b"---")
    for name, raw in shards.items():
        reads = [r for r in source.ranges if r[0] == name]
        assert len(reads) == 1, reads  # sized from the index: one request
        read = reads[0][2] - reads[0][1]
        assert len(raw) <= read <= len(raw) + 4096  # never more than header + 4 KiB


@pytest.mark.parametrize("n_tensors", [1, 30, 120, 1000])
def test_single_file_probe_then_rest_any_header_size(n_tensors):
    raw = header_bytes({f"t{i}": ("F16", [8]) for i in range(n_tensors)})
    source = MemorySource({"model.safetensors": raw}, sizes={"model.safetensors": len(raw) + data_size(raw)})
    fetched = run(source)
    assert len(fetched.headers[0].tensors) == n_tensors
    total_read = sum(end - start for _, start, end in source.ranges)
    assert total_read <= max(len(raw), PROBE_BYTES)
    assert len(source.ranges) == (1 if len(raw) <= PROBE_BYTES else 2)


def test_header_only_file_is_noted_and_accepted():
    raw = header_bytes({"w": ("F16", [1024])})
    fetched = run(MemorySource({"model.safetensors": raw}))
    assert "header-only" in fetched.headers[0].notes[0]


def test_malformed_header_is_a_scan_error():
    source = MemorySource({"model.safetensors": b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!"})
    with pytest.raises(ScanError) as exc:
        run(source)
    assert exc.value.code.value == "malformed"


def test_header_longer_than_file_is_rejected():
    source = MemorySource({"model.safetensors": b"\xff\xff\x00\x00\x00\x00\x00\x00{}"})
    with pytest.raises(ScanError, match="past the end"):
        run(source)


def test_bad_optional_json_is_a_warning():
    raw = header_bytes({"w": ("F16", [4])})
    fetched = run(MemorySource({"model.safetensors": raw, "config.json": b"{oops"}))
    assert fetched.config is None and "config.json" in fetched.warnings[0]
