"""The whole scan over HubSource with HTTP mocked by `responses`: requests made, bytes read, errors as results."""

import json
import re

import responses

from cardscan.scanner import ScanOptions, scan
from tests.st_builder import data_size, header_bytes

HUB = "https://hub.test"
REPO = "org/tiny"
SHA = "a" * 40


def tiny_repo():
    shards, weight_map = {}, {}
    for s in (1, 2):
        tensors = {f"model.layers.{s - 1}.mlp.{p}.weight": ("BF16", [64, 16]) for p in ("up_proj", "down_proj")}
        if s == 1:
            tensors["model.embed_tokens.weight"] = ("BF16", [100, 16])
        name = f"model-0000{s}-of-00002.safetensors"
        shards[name] = header_bytes(tensors)
        weight_map.update(dict.fromkeys(tensors, name))
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 16, "num_hidden_layers": 2,
              "num_attention_heads": 2, "num_key_value_heads": 1, "intermediate_size": 64, "vocab_size": 100,
              "max_position_embeddings": 1024, "torch_dtype": "bfloat16"}  # fmt: skip
    small = {
        "config.json": json.dumps(config).encode(),
        "README.md": b"---\nlicense: mit\n---\n# Tiny 1M model in bf16\n",
        "model.safetensors.index.json": json.dumps({"metadata": {}, "weight_map": weight_map}).encode(),
    }
    return shards, small


def mock_repo(rsps, shards, small, *, gated=False):
    siblings = [{"rfilename": n, "size": len(b) + data_size(b)} for n, b in shards.items()]
    siblings += [{"rfilename": n, "size": len(b)} for n, b in small.items()]
    info = {"id": REPO, "sha": SHA, "siblings": siblings, "gated": "manual" if gated else False, "private": False}
    rsps.get(re.compile(rf"{HUB}/api/models/{REPO}/revision/main.*"), json=info)
    for name, body in small.items():
        rsps.get(f"{HUB}/{REPO}/resolve/{SHA}/{name}", body=body, headers={"X-Repo-Commit": SHA})
    for name, raw in shards.items():
        rsps.add_callback(responses.GET, f"{HUB}/{REPO}/resolve/{SHA}/{name}", callback=ranged(raw))


def ranged(raw: bytes):
    total = len(raw) + data_size(raw)

    def reply(request):
        start, end = map(int, re.match(r"bytes=(\d+)-(\d+)", request.headers["Range"]).groups())
        end = min(end, total - 1)
        body = (raw + bytes(total - len(raw)))[start : end + 1]
        return 206, {"Content-Range": f"bytes {start}-{end}/{total}"}, body

    return reply


def options(**kw):
    return ScanOptions(endpoint=HUB, token=None, **kw)


@responses.activate
def test_sharded_repo_one_listing_then_one_read_per_file():
    shards, small = tiny_repo()
    mock_repo(responses, shards, small)
    r = scan(REPO, options())
    assert r.ok, r.error
    assert r.commit == SHA
    # 64·16·4 MLP + 100·16 embedding
    assert r.parameters.total == 64 * 16 * 4 + 1600
    assert r.parameters.by_dtype == {"bf16": r.parameters.total}
    calls = [c.request.url for c in responses.calls]
    assert calls[0].startswith(f"{HUB}/api/models/{REPO}/revision/main")
    assert len(calls) == 1 + 3 + 2  # listing, config/card/index, one header read per shard
    for name, raw in shards.items():
        (call,) = [c for c in responses.calls if c.request.url.endswith(name)]
        start, end = map(int, re.match(r"bytes=(\d+)-(\d+)", call.request.headers["Range"]).groups())
        assert start == 0 and len(raw) <= end + 1 <= len(raw) + 4096  # the header in one read, ≤ 4 KiB extra


@responses.activate
def test_gated_repo_is_an_error_result_with_advice():
    info = {"id": REPO, "sha": SHA, "gated": "manual", "siblings": [{"rfilename": "config.json", "size": 10}],
            "safetensors": {"parameters": {"BF16": 8_030_261_248}, "total": 8_030_261_248}}  # fmt: skip
    responses.get(re.compile(rf"{HUB}/api/models/{REPO}/revision/main.*"), json=info)
    responses.get(f"{HUB}/{REPO}/resolve/{SHA}/config.json", status=401,
                  headers={"X-Error-Code": "GatedRepo", "X-Error-Message": "Access to model is restricted."})  # fmt: skip
    r = scan(REPO, options())
    assert r.error.code == "gated"
    assert "HF_TOKEN" in r.error.message
    assert "public metadata counts 8.03B stored elements (BF16 8.03B)" in r.error.message
    assert r.commit == SHA


@responses.activate
def test_missing_repo_and_revision():
    responses.get(re.compile(rf"{HUB}/api/models/org/nope/revision/main.*"), status=401,
                  headers={"X-Error-Code": "RepoNotFound"})  # fmt: skip
    responses.get(re.compile(rf"{HUB}/api/models/{REPO}/revision/v9.*"), status=404,
                  headers={"X-Error-Code": "RevisionNotFound"})  # fmt: skip
    assert scan("org/nope", options()).error.code == "not_found"
    assert scan(REPO, options(revision="v9")).error.code == "revision_not_found"


@responses.activate
def test_config_only_repo_falls_back_to_config_count():
    _, small = tiny_repo()
    del small["model.safetensors.index.json"]
    mock_repo(responses, {}, small)
    r = scan(REPO, options())
    assert r.ok and r.parameters.source == "config"
    assert any("from config.json" in n for n in r.notes)  # meta-device exact or the formula


@responses.activate
def test_prepare_resolves_the_cdn_hop_ahead_and_the_read_goes_straight_there():
    from cardscan.sources.hub import HubConfig, HubSource

    info = {"id": REPO, "sha": SHA, "siblings": [{"rfilename": "model.safetensors", "size": 100}]}
    responses.get(re.compile(rf"{HUB}/api/models/{REPO}/revision/main.*"), json=info)
    cdn = "https://cdn.test/blob/abc"
    responses.get(f"{HUB}/{REPO}/resolve/{SHA}/model.safetensors", status=302, headers={"Location": cdn})
    responses.get(cdn, status=206, body=b"0123456789", headers={"Content-Range": "bytes 0-9/100"})
    src = HubSource(REPO, config=HubConfig(endpoint=HUB, token="hf_secret"))
    src.listing()
    src.prepare("model.safetensors")
    chunk = src.read_range("model.safetensors", 0, 10)
    assert chunk.data == b"0123456789" and chunk.total == 100
    urls = [c.request.url for c in responses.calls]
    assert urls.count(f"{HUB}/{REPO}/resolve/{SHA}/model.safetensors") == 1  # the hop was not repeated
    (cdn_call,) = [c for c in responses.calls if c.request.url == cdn]
    assert "Authorization" not in cdn_call.request.headers and cdn_call.request.headers["Range"] == "bytes=0-9"
