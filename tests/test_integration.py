"""Integration: the real cardscan client (scan, scan_many, CLI) against the Hub emulator, real HTTP on 127.0.0.1.

Nothing inside the client is mocked: every figure below comes from requests the emulator answered and logged
(tests/fixtures/hub, docs/emulator.md). Faults and their retries live in tests/test_integration_faults.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from cardscan.cli import app
from cardscan.scanner import ScanOptions, scan, scan_many
from cardscan.testing.hub import HubEmulator, LogEntry

ANON = ""  # an empty token is anonymous without falling back to HF_TOKEN or a saved login
APPROVED = "hf_approved"  # approved for every gated corpus repo
pytestmark = pytest.mark.integration

PRIVATE_OK = "hf_private_ok"  # allowed to see org/private
HEADER_SLACK = 4096  # a header may be over-read by at most this much (brief: header + 8 + 4 KiB; 8 is in header_bytes)


def options(hub: HubEmulator, token: str = APPROVED, **kw) -> ScanOptions:
    """Scan options pointing at the emulator."""
    return ScanOptions(endpoint=hub.url, token=token, **kw)


def cdn_file(entry: LogEntry) -> tuple[str, str]:
    """(repo id, path) of the file a cdn request read (the emulator's redirect names both in the query)."""
    query = parse_qs(urlsplit(entry.path).query)
    return query["repo"][0], query["file"][0]


def cdn_reads(hub: HubEmulator, repo: str | None = None) -> dict[str, list[LogEntry]]:
    """cdn GETs per file path (of `repo`, or of any repo), in request order."""
    reads: dict[str, list[LogEntry]] = defaultdict(list)
    for e in hub.log:
        if e.origin == "cdn" and (repo is None or cdn_file(e)[0] == repo):
            reads[cdn_file(e)[1]].append(e)
    return reads


# --- every corpus repo ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """What a scan of one corpus repo must report."""

    total: int
    """parameters.total"""
    source: str = "header"
    """parameters.source"""
    format: str | None = "safetensors"
    """weights.format"""
    files: int = 1
    """Weight files read (and the only weight files fetched from the cdn)."""
    quant: tuple[str, float] | None = None
    """(method, bits) of the quantization, None for plain weights."""
    active: int | None = None
    """parameters.active (MoE)."""
    alternatives: tuple[str, ...] = ()
    """Weight sets listed but not counted (never read)."""
    non_parameters: int = 0
    """Buffer elements kept out of the total."""


LLAMA2 = 6_738_415_616
# Totals are the published counts (tests/test_corpus.py checks the headers against them).
CORPUS: dict[str, Expect] = {
    "openai-community/gpt2": Expect(124_439_808, non_parameters=12 * 1024 * 1024),  # 12 causal-mask buffers
    "meta-llama/Llama-2-7b-hf": Expect(LLAMA2, files=2, alternatives=("pytorch_model",), non_parameters=32 * 64),
    "meta-llama/Llama-3.1-8B": Expect(8_030_261_248, files=4, alternatives=("original/consolidated",)),
    "mistralai/Mistral-7B-v0.1": Expect(7_241_732_096, files=2, alternatives=("consolidated",)),
    "mistralai/Mixtral-8x7B-v0.1": Expect(46_702_792_704, files=19, active=12_879_925_248),
    "Qwen/Qwen3-30B-A3B": Expect(30_532_122_624, files=16, active=3_353_032_704),
    "openai/gpt-oss-20b": Expect(
        20_914_757_184, files=3, quant=("mxfp4", 4), active=4_187_440_704, alternatives=("original/model",)
    ),
    "google/gemma-2-2b": Expect(2_614_341_888, files=3),
    "google/gemma-3-1b-it": Expect(999_885_952),
    "TheBloke/Llama-2-7B-GPTQ": Expect(LLAMA2, quant=("gptq", 4)),
    "TheBloke/Llama-2-7B-AWQ": Expect(LLAMA2, quant=("awq", 4)),
    "TheBloke/Llama-2-7B-GGUF": Expect(
        LLAMA2, "gguf", "gguf", quant=("gguf", 4.5), alternatives=("llama-2-7b.Q2_K", "llama-2-7b.Q8_0")
    ),
    "unsloth/llama-3-8b-bnb-4bit": Expect(8_030_261_248, files=2, quant=("bitsandbytes", 4)),
    "org/variants": Expect(596_049_920, alternatives=("model.fp16",)),
    "org/lora-adapter": Expect(8_388_608),  # the adapter's own parameters; its base is scanned apart
    "org/bin-only": Expect(8_112, "torch", "torch", non_parameters=2_048),  # real torch zip; tied lm_head; 2 masks
    "org/no-readme": Expect(596_049_920),
    "org/config-only": Expect(8_190_735_360, "config", None, files=0),
    "org/broken-yaml": Expect(596_049_920, "config", None, files=0),
}


def test_table_covers_the_corpus(hub):
    special = {"deepseek-ai/DeepSeek-V3", "org/private", "old-org/old-name"}  # tested on their own below
    assert set(hub.repos) == set(CORPUS) | special


@pytest.mark.parametrize("repo", sorted(CORPUS))
def test_corpus_repo(hub, repo):
    want = CORPUS[repo]
    r = scan(repo, options(hub))
    assert r.ok, r.error
    assert (r.repo_id, r.commit) == (repo, hub.repos[repo].meta["sha"])
    p = r.parameters
    assert (p.total, p.source, p.active, p.non_parameter_elements) == (
        want.total,
        want.source,
        want.active,
        want.non_parameters,
    )
    assert r.weights.format == want.format
    assert len(r.weights.files) == want.files
    assert sorted(a.name for a in r.weights.alternatives) == sorted(want.alternatives)
    q = r.quantization
    assert (q.method, q.bits) == want.quant if want.quant else q is None
    # Only the chosen weight files are ever fetched from the cdn: alternatives are listed, never read.
    assert set(cdn_reads(hub, repo)) == {f.path for f in r.weights.files}
    assert r.io.requests == len(hub.log) or repo == "org/lora-adapter"  # the adapter's base scan logs apart
    if want.format == "safetensors":
        assert_header_budget(hub, r, repo)


def test_gguf_default_pick_and_file_option(hub):
    default = scan("TheBloke/Llama-2-7B-GGUF", options(hub))
    assert [f.path for f in default.weights.files] == ["llama-2-7b.Q4_K_M.gguf"]
    assert default.quantization.format_details["file_type"] == "Q4_K_M"
    hub.reset()
    q8 = scan("TheBloke/Llama-2-7B-GGUF", options(hub, file="llama-2-7b.Q8_0.gguf"))
    assert q8.ok, q8.error
    assert [f.path for f in q8.weights.files] == ["llama-2-7b.Q8_0.gguf"]
    assert set(cdn_reads(hub)) == {"llama-2-7b.Q8_0.gguf"}
    assert q8.parameters.total == LLAMA2 and q8.quantization.bits == 8.5  # Q8_0: 34 bytes per 32 weights
    assert q8.weights.bytes > default.weights.bytes
    assert "llama-2-7b.Q4_K_M" in {a.name for a in q8.weights.alternatives}


def test_config_only_and_broken_yaml(hub):
    config_only = scan("org/config-only", options(hub))
    assert config_only.parameters.source == "config" and config_only.weights.files == ()
    assert not cdn_reads(hub)  # nothing but the listing, config.json and README.md
    broken = scan("org/broken-yaml", options(hub))
    assert broken.ok and any("YAML" in w for w in broken.warnings)


def test_no_readme_is_fine(hub):
    r = scan("org/no-readme", options(hub))
    assert r.ok and r.warnings == ()
    assert not any("README" in e.path for e in hub.log)  # not listed, so never asked for


def test_adapter_scans_its_base(hub):
    r = scan("org/lora-adapter", options(hub))
    assert r.adapter.base_model == "meta-llama/Llama-2-7b-hf"
    assert r.adapter.parameters == 8_388_608
    assert r.base.ok and r.base.parameters.total == LLAMA2
    hub.reset()
    # The base is gated: anonymous, the adapter itself still scans and the base carries the reason.
    anon = scan("org/lora-adapter", options(hub, ANON))
    assert anon.ok and anon.parameters.total == 8_388_608
    assert anon.base.error.code == "gated"


def test_deepseek_v3_mtp_and_fp8(hub):
    """163 generated FP8 shards (~3 s on first use): MTP layer reported apart, MoE active count, block FP8."""
    r = scan("deepseek-ai/DeepSeek-V3", options(hub))
    assert r.ok, r.error
    p = r.parameters
    assert (p.total, p.mtp, p.active) == (671_026_419_200, 13_463_426_304, 37_552_297_472)
    assert (r.quantization.method, r.quantization.bits) == ("fp8", 8)
    assert len(r.weights.files) == 163 and len(cdn_reads(hub)) == 163


# --- access: gated, private, renamed, revisions --------------------------------------------------------------


def test_gated_without_token(hub):
    r = scan("meta-llama/Llama-2-7b-hf", options(hub, ANON))
    assert r.error.code == "gated"
    assert "accept the licence" in r.error.message and "HF_TOKEN" in r.error.message
    assert not cdn_reads(hub)


def test_gated_unapproved_token(hub):
    r = scan("google/gemma-2-2b", options(hub, "hf_someone_else"))
    assert r.error.code == "gated" and "not been granted" in r.error.message
    assert "hf_someone_else" not in r.error.message


def test_gated_with_approved_token_never_sends_it_to_the_cdn(hub):
    r = scan("meta-llama/Llama-2-7b-hf", options(hub))
    assert r.ok and r.parameters.total == LLAMA2
    assert all(e.authorization_present for e in hub.log if e.origin == "hub")
    assert cdn_reads(hub) and not any(e.authorization_present for e in hub.log if e.origin == "cdn")


def test_private_repo(hub):
    for token in (ANON, "hf_approved"):
        r = scan("org/private", options(hub, token))
        assert r.error.code == "not_found", token
    hub.reset()
    r = scan("org/private", options(hub, PRIVATE_OK))
    assert r.ok and r.parameters.total == 596_049_920 and r.parameters.source == "config"
    assert not any(e.authorization_present for e in hub.log if e.origin == "cdn")


def test_renamed_repo_resolves_to_new_id(hub):
    r = scan("old-org/old-name", options(hub))
    assert r.ok, r.error
    assert (r.input, r.repo_id) == ("old-org/old-name", "meta-llama/Llama-2-7b-hf")
    assert r.parameters.total == LLAMA2
    assert [e.status for e in hub.log[:2]] == [307, 200]
    # Reads after the listing go straight to the canonical id, pinned to its commit.
    sha = hub.repos["meta-llama/Llama-2-7b-hf"].meta["sha"]
    assert all(f"/meta-llama/Llama-2-7b-hf/resolve/{sha}/" in e.path for e in hub.log[2:] if e.origin == "hub")


def test_pr_revision_and_tag(hub):
    repo = "Qwen/Qwen3-30B-A3B"
    pr = scan(repo, options(hub, revision="refs/pr/1"))
    assert pr.ok, pr.error
    assert pr.revision == "refs/pr/1" and pr.commit == hub.repos[repo].revisions["refs/pr/1"]
    assert f"/resolve/{pr.commit}/config.json" in " ".join(e.path for e in hub.log)
    tag = scan(repo, options(hub, revision="v1.0"))
    assert tag.commit == hub.repos[repo].meta["sha"]
    # refs/pr/1 changes only config.json: a 131072-token YaRN context instead of 40960.
    assert (tag.model.max_context, pr.model.max_context) == (40960, 131072)
    assert pr.parameters.total == tag.parameters.total


def test_unknown_revision(hub):
    r = scan("openai-community/gpt2", options(hub, revision="no-such-branch"))
    assert r.error.code == "revision_not_found" and "no-such-branch" in r.error.message


def test_redirected_regular_files(hub):
    """The real Hub 307s small files of public repos to /api/resolve-cache (relative Location)."""
    hub.set_fault(None, redirect_regular=True)
    r = scan("meta-llama/Llama-2-7b-hf", options(hub))
    assert r.ok and r.parameters.total == LLAMA2
    assert any(e.path.startswith("/api/resolve-cache/") and e.authorization_present for e in hub.log)


# --- what a scan costs ---------------------------------------------------------------------------------------


def assert_header_budget(hub: HubEmulator, r, repo: str | None = None) -> None:
    """Bytes the cdn sent for each weight file ≤ its header (8 + N) + 4 KiB."""
    reads = cdn_reads(hub, repo)
    for f in r.weights.files:
        sent = sum(e.bytes_sent for e in reads[f.path])
        assert f.header_bytes <= sent <= f.header_bytes + HEADER_SLACK, f.path


def kinds(hub: HubEmulator) -> Counter:
    """Requests by kind: listing, small files from the hub, weight-file hops."""
    count: Counter = Counter()
    for e in hub.log:
        if e.path.startswith("/api/models/"):
            count["listing"] += 1
        elif e.origin == "cdn":
            count["cdn"] += 1
        elif e.status == 302:
            count["redirect"] += 1
        else:
            count["small"] += 1
    return count


def test_request_count_gpt2(hub):
    """gpt2 has no index: a 4 KiB probe, then the rest of its 14 KB header; the hub's 302 is followed once and
    the second read goes straight to the cdn location it gave."""
    r = scan("openai-community/gpt2", options(hub, ANON))
    assert kinds(hub) == {"listing": 1, "small": 2, "redirect": 1, "cdn": 2}  # config.json, README.md
    assert r.io.requests == len(hub.log) == 6
    assert [e.range for e in cdn_reads(hub)["model.safetensors"]] == ["bytes=0-4095", "bytes=4096-14351"]
    assert_header_budget(hub, r)


def test_request_count_llama2(hub):
    """listing + index, config, README + one read per shard (sized from the index: each a 302 hop and a cdn read);
    8 requests, and no shard read more than its header + 4 KiB. generation_config.json is there but never read:
    nothing in a scan uses it, and every read is a request the Hub's resolver quota counts."""
    r = scan("meta-llama/Llama-2-7b-hf", options(hub))
    assert kinds(hub) == {"listing": 1, "small": 3, "redirect": 2, "cdn": 2}
    assert r.io.requests == len(hub.log) == 8
    assert not [e for e in hub.log if "generation_config" in e.path]
    assert {len(v) for v in cdn_reads(hub).values()} == {1}
    assert_header_budget(hub, r)


def test_one_read_per_shard_with_an_index(hub):
    r = scan("meta-llama/Llama-2-7b-hf", options(hub))
    assert {len(v) for v in cdn_reads(hub).values()} == {1}
    assert r.io.requests == 1 + 3 + 2 * 2
    assert_header_budget(hub, r)


def test_batch_shares_a_pool_and_keeps_order(hub):
    targets = ["org/no-readme", "org/does-not-exist", "openai-community/gpt2", "meta-llama/Llama-2-7b-hf"]
    results = scan_many(targets, options(hub, ANON), workers=4)
    assert [r.input for r in results] == targets
    assert [r.error.code if r.error else "ok" for r in results] == ["ok", "not_found", "ok", "gated"]


# --- the CLI end to end ----------------------------------------------------------------------------------------


def cli(hub: HubEmulator, *args: str):
    """Run `cardscan …` in-process with HF_ENDPOINT pointing at the emulator and no ambient token."""
    env = {"HF_ENDPOINT": hub.url, "HF_TOKEN": None, "HF_HUB_OFFLINE": None, "HF_HUB_DISABLE_TELEMETRY": "1"}
    return CliRunner().invoke(app, list(args), env=env)


def test_cli_json(hub):
    res = cli(hub, "openai-community/gpt2", "--format", "json", "--token", "")
    assert res.exit_code == 0, res.output
    (obj,) = json.loads(res.stdout)
    assert obj["status"] == "ok" and obj["repo_id"] == "openai-community/gpt2"
    assert obj["parameters"]["total"] == 124_439_808
    assert obj["io"]["requests"] == len(hub.log)


@pytest.mark.parametrize(
    ("target", "token", "code"),
    [("org/does-not-exist", "", 3), ("meta-llama/Llama-2-7b-hf", "", 4), ("meta-llama/Llama-2-7b-hf", APPROVED, 0)],
)
def test_cli_exit_codes(hub, target, token, code):
    res = cli(hub, target, "--format", "json", "--token", token)
    assert res.exit_code == code, res.output
    (obj,) = json.loads(res.stdout)
    assert obj["status"] == ("ok" if code == 0 else "error")


def test_cli_batch_worst_code_wins(hub):
    res = cli(
        hub, "openai-community/gpt2", "org/does-not-exist", "google/gemma-2-2b", "--format", "json", "--token", ""
    )
    assert res.exit_code == 4, res.output
    assert [o["status"] for o in json.loads(res.stdout)] == ["ok", "error", "error"]


def test_cli_subprocess_reads_hf_endpoint(hub, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env |= {"HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path), "HF_HUB_DISABLE_TELEMETRY": "1"}
    cmd = [sys.executable, "-m", "cardscan", "TheBloke/Llama-2-7B-GPTQ", "--format", "json"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, cwd=Path(__file__).parent)
    assert done.returncode == 0, done.stderr
    (obj,) = json.loads(done.stdout)
    assert obj["parameters"]["total"] == LLAMA2 and obj["quantization"]["method"] == "gptq"
    assert any(e.user_agent and e.user_agent.startswith("cardscan/") for e in hub.log)
