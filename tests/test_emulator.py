"""The Hub emulator answers like the real Hub (docs/emulator.md), with plain `requests`."""

from __future__ import annotations

import json
import struct

import pytest
import requests

from cardscan.testing.hub import HubEmulator

GPT2 = "openai-community/gpt2"
LLAMA2 = "meta-llama/Llama-2-7b-hf"
QWEN_MOE = "Qwen/Qwen3-30B-A3B"
APPROVED = {"Authorization": "Bearer hf_approved"}


def get(hub: HubEmulator, path: str, **kw) -> requests.Response:
    kw.setdefault("timeout", 10)
    return requests.get(hub.url + path, **kw)


def test_model_info_fields_and_storage_counts(hub):
    info = get(hub, f"/api/models/{GPT2}").json()
    assert info["id"] == GPT2 and len(info["sha"]) == 40
    assert info["safetensors"] == {"parameters": {"F32": 137_022_720}, "total": 137_022_720}
    assert info["cardData"]["license"] == "mit"
    assert info["config"]["model_type"] == "gpt2" and info["library_name"] == "transformers"
    assert {"rfilename": "model.safetensors"} in info["siblings"]


def test_blobs_adds_sizes_and_lfs(hub):
    siblings = {s["rfilename"]: s for s in get(hub, f"/api/models/{GPT2}?blobs=true").json()["siblings"]}
    weights = siblings["model.safetensors"]
    assert weights["size"] == weights["lfs"]["size"] == 548_105_232
    assert "lfs" not in siblings["config.json"] and siblings["config.json"]["size"] > 0


@pytest.mark.parametrize("query", ["expand=safetensors&expand=config", "expand[]=safetensors&expand[]=config"])
def test_expand_returns_only_those_keys(hub, query):
    info = get(hub, f"/api/models/{GPT2}?{query}").json()
    assert set(info) == {"_id", "id", "safetensors", "config"}


def test_unknown_expand_is_400(hub):
    r = get(hub, f"/api/models/{GPT2}?expand=bogus")
    assert r.status_code == 400 and r.headers["X-Error-Code"]


def test_hub_counts_fp8_and_mxfp4_storage(hub):
    st = get(hub, "/api/models/openai/gpt-oss-20b?expand=safetensors").json()["safetensors"]
    assert st["parameters"]["BF16"] == 1_804_459_584  # the `original/` copy is not counted
    # The first DeepSeek-V3 request generates its 163 shard headers (~3 s alone, longer on a loaded machine).
    ds = get(hub, "/api/models/deepseek-ai/DeepSeek-V3?expand=safetensors", timeout=120).json()["safetensors"][
        "parameters"
    ]
    assert ds == {"BF16": 3_918_786_560, "F8_E4M3": 680_571_043_840, "F32": 41_555_600}


def test_revision_refs_pr_encoded(hub):
    main = get(hub, f"/api/models/{QWEN_MOE}").json()["sha"]
    pr = get(hub, f"/api/models/{QWEN_MOE}/revision/refs%2Fpr%2F1").json()["sha"]
    assert pr != main
    cfg = get(hub, f"/{QWEN_MOE}/resolve/refs%2Fpr%2F1/config.json").json()
    assert cfg["max_position_embeddings"] == 131072
    assert get(hub, f"/{QWEN_MOE}/resolve/main/config.json").json()["max_position_embeddings"] == 40960
    assert get(hub, f"/api/models/{QWEN_MOE}/revision/{main}").json()["sha"] == main


def test_unknown_revision(hub):
    r = get(hub, f"/api/models/{GPT2}/revision/nope")
    assert (r.status_code, r.headers["X-Error-Code"]) == (404, "RevisionNotFound")


def test_missing_repo_401_anonymous_404_with_token(hub):
    anon = get(hub, "/api/models/nobody/nothing")
    token = get(hub, "/api/models/nobody/nothing", headers=APPROVED)
    assert (anon.status_code, anon.headers["X-Error-Code"]) == (401, "RepoNotFound")
    assert (token.status_code, token.headers["X-Error-Code"]) == (404, "RepoNotFound")


def test_tree_paginates_with_link(hub):
    hub.set_fault(LLAMA2, tree_page_size=4)
    url, paths, pages = f"{hub.url}/api/models/{LLAMA2}/tree/main?recursive=true", [], 0
    while url:
        r = requests.get(url, timeout=10)
        paths += [e["path"] for e in r.json()]
        url, pages = r.links.get("next", {}).get("url"), pages + 1
    assert pages > 2 and len(paths) == len(set(paths))
    assert {"model-00001-of-00002.safetensors", "pytorch_model-00002-of-00002.bin", "config.json"} <= set(paths)


def test_tree_subdir_and_directories(hub):
    top = get(hub, "/api/models/meta-llama/Llama-3.1-8B/tree/main").json()
    assert any(e["type"] == "directory" and e["path"] == "original" for e in top)
    assert not any(e["path"].startswith("original/") for e in top)  # not recursive
    sub = get(hub, "/api/models/meta-llama/Llama-3.1-8B/tree/main/original").json()
    pth = next(e for e in sub if e["path"] == "original/consolidated.00.pth")
    assert pth["lfs"]["size"] == pth["size"] == 16_060_617_592
    assert get(hub, f"/api/models/{GPT2}/tree/main/nope").headers["X-Error-Code"] == "EntryNotFound"


def test_lfs_resolve_redirects_to_cdn_with_linked_headers(hub):
    r = requests.head(f"{hub.url}/{GPT2}/resolve/main/model.safetensors", timeout=10)
    assert r.status_code == 302 and r.headers["Location"].startswith(hub.cdn_url + "/blobs/")
    assert r.headers["X-Linked-Size"] == "548105232" and r.headers["X-Linked-Etag"].startswith('"')
    assert len(r.headers["X-Repo-Commit"]) == 40 and "X-Xet-Hash" not in r.headers


def test_range_206_from_cdn_without_hub_headers(hub):
    r = get(hub, f"/{GPT2}/resolve/main/model.safetensors", headers={"Range": "bytes=0-100000"})
    assert r.status_code == 206 and r.headers["Content-Range"] == "bytes 0-100000/548105232"
    assert not [h for h in r.headers if h.lower().startswith("x-")]
    (n,) = struct.unpack("<Q", r.content[:8])
    header = json.loads(r.content[8 : 8 + n])
    assert header["h.0.attn.bias"]["shape"] == [1, 1, 1024, 1024]
    assert r.content[8 + n :] == bytes(len(r.content) - 8 - n)  # zeros past the stored header


def test_range_past_end_is_416(hub):
    r = get(hub, f"/{GPT2}/resolve/main/model.safetensors", headers={"Range": "bytes=548105232-548105300"})
    assert r.status_code == 416 and r.headers["Content-Range"] == "bytes */548105232"


def test_regular_file_direct_or_via_resolve_cache(hub):
    direct = get(hub, f"/{GPT2}/resolve/main/config.json", allow_redirects=False)
    assert direct.status_code == 200 and direct.headers["ETag"].startswith('"') and direct.headers["X-Repo-Commit"]
    hub.set_fault(redirect_regular=True)
    r = get(hub, f"/{GPT2}/resolve/main/config.json", allow_redirects=False)
    assert r.status_code == 307 and r.headers["Location"].startswith("/api/resolve-cache/models/")
    assert get(hub, f"/{GPT2}/resolve/main/config.json").json() == direct.json()


def test_missing_file_entry_not_found_with_commit(hub):
    r = get(hub, f"/{GPT2}/resolve/main/model.safetensors.index.json")
    assert (r.status_code, r.headers["X-Error-Code"]) == (404, "EntryNotFound") and r.headers["X-Repo-Commit"]


def test_ignore_range_fault_answers_200_full_body(hub):
    hub.set_fault(GPT2, ignore_range=True)
    with requests.get(
        f"{hub.url}/{GPT2}/resolve/main/model.safetensors", headers={"Range": "bytes=0-99"}, stream=True, timeout=10
    ) as r:
        assert r.status_code == 200 and r.headers["Content-Length"] == "548105232"
        assert len(next(r.iter_content(4096))) > 0


def test_429_then_ok_with_retry_after_and_ratelimit(hub):
    hub.set_fault(GPT2, fail_429=2, retry_after=3)
    statuses = [get(hub, f"/api/models/{GPT2}") for _ in range(3)]
    assert [r.status_code for r in statuses] == [429, 429, 200]
    assert statuses[0].headers["Retry-After"] == "3" and ";r=0;" in statuses[0].headers["RateLimit"]
    assert statuses[2].headers["RateLimit-Policy"].startswith('"fixed window";"api";q=500')


def test_5xx_fault_then_ok(hub):
    hub.set_fault(fail_5xx=1, status_5xx=502, only="/api/models/")
    assert get(hub, f"/api/models/{GPT2}").status_code == 502
    assert get(hub, f"/api/models/{GPT2}").status_code == 200


def test_truncated_body_and_reset(hub):
    hub.set_fault(GPT2, truncate_body=1, origin="cdn")
    with pytest.raises(requests.exceptions.RequestException):
        get(hub, f"/{GPT2}/resolve/main/model.safetensors", headers={"Range": "bytes=0-99999"})
    hub.set_fault(GPT2, reset_mid_body=1, origin="cdn")
    with pytest.raises(requests.exceptions.RequestException):
        get(hub, f"/{GPT2}/resolve/main/model.safetensors", headers={"Range": "bytes=0-99999"})
    assert get(hub, f"/{GPT2}/resolve/main/model.safetensors", headers={"Range": "bytes=0-99"}).status_code == 206


def test_token_never_reaches_cdn(hub):
    r = get(hub, f"/{LLAMA2}/resolve/main/model-00001-of-00002.safetensors", headers={**APPROVED, "Range": "bytes=0-7"})
    assert r.status_code == 206
    hub_hits = [e for e in hub.log if e.origin == "hub"]
    cdn_hits = [e for e in hub.log if e.origin == "cdn"]
    assert hub_hits[0].authorization_present and hub_hits[0].status == 302
    assert cdn_hits and not any(e.authorization_present for e in cdn_hits)
    assert cdn_hits[0].range == "bytes=0-7" and cdn_hits[0].bytes_sent == 8


def test_gated_repo(hub):
    url = f"/{LLAMA2}/resolve/main/config.json"
    assert get(hub, f"/api/models/{LLAMA2}").json()["gated"] == "manual"  # info stays public
    anon, other = get(hub, url), get(hub, url, headers={"Authorization": "Bearer hf_other"})
    assert (anon.status_code, anon.headers["X-Error-Code"]) == (401, "GatedRepo")
    assert (other.status_code, other.headers["X-Error-Code"]) == (403, "GatedRepo")
    assert get(hub, url, headers=APPROVED).json()["max_position_embeddings"] == 4096


def test_private_repo(hub):
    assert get(hub, "/api/models/org/private").status_code == 401
    assert get(hub, "/api/models/org/private", headers=APPROVED).status_code == 404
    ok = get(hub, "/api/models/org/private", headers={"Authorization": "Bearer hf_private_ok"})
    assert ok.status_code == 200 and ok.json()["private"] is True


def test_gating_knobs_override(hub):
    hub.set_fault(GPT2, gated="auto", allowed_tokens=["t1"])
    assert get(hub, f"/{GPT2}/resolve/main/config.json").status_code == 401
    assert get(hub, f"/{GPT2}/resolve/main/config.json", headers={"Authorization": "Bearer t1"}).status_code == 200


def test_renamed_repo_307_relative(hub):
    api = get(hub, "/api/models/old-org/old-name?expand=sha", allow_redirects=False)
    assert api.status_code == 307 and api.headers["Location"] == f"/api/models/{LLAMA2}?expand=sha"
    res = get(hub, "/old-org/old-name/resolve/main/config.json", allow_redirects=False)
    assert res.status_code == 307 and res.headers["Location"] == f"/{LLAMA2}/resolve/main/config.json"
    assert get(hub, "/api/models/old-org/old-name").json()["id"] == LLAMA2


def test_agent_harnesses_and_log(hub):
    assert get(hub, "/api/agent-harnesses", headers={"User-Agent": "probe/1"}).json() == {}
    entry = hub.log[-1]
    assert (entry.origin, entry.method, entry.path, entry.status, entry.user_agent) == (
        "hub",
        "GET",
        "/api/agent-harnesses",
        200,
        "probe/1",
    )


def test_errors_always_carry_error_code(hub):
    for path in ("/api/models/a/b", "/api/models/org/private/tree/main", f"/{GPT2}/resolve/x/config.json", "/nothing"):
        r = get(hub, path)
        assert r.status_code >= 400 and r.headers["X-Error-Code"] and r.headers["X-Error-Message"]


def test_bandwidth_and_latency_knobs_count_bytes(hub):
    hub.set_fault(GPT2, bandwidth=2_000_000, latency=0.01, first_byte_delay=0.01)
    r = get(hub, f"/{GPT2}/resolve/main/model.safetensors", headers={"Range": "bytes=0-49999"})
    assert r.status_code == 206 and len(r.content) == 50_000
    assert [e.bytes_sent for e in hub.log if e.origin == "cdn"] == [50_000]
