"""Audit building blocks without a server: policy parsing and every rule on stored records, target lists, shards."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from cardscan.audit.policy import Policy, PolicyError, evaluate, load_policy, parse_ignores, parse_policy
from cardscan.audit.targets import (
    TargetListError,
    in_shard,
    parse_shard,
    parse_target,
    read_targets,
    shard_of,
    validate,
)

EXAMPLE = Path(__file__).parent.parent / "examples" / "audit"


def record(**over) -> dict:
    """A stored record shaped like render/json.py output (a 7B fp16 Llama, card claims 7B, licence mit)."""
    result = {
        "status": "ok",
        "commit": "a" * 40,
        "error": None,
        "parameters": {"total": 6_738_415_616, "by_dtype": {"fp16": 6_738_415_616}},
        "weights": {"bytes": 13_476_831_232, "format": "safetensors"},
        "quantization": None,
        "card": {"present": True, "parameters": 7_000_000_000, "license": "mit"},
        "agreement": {"parameters": {"status": "consistent", "claimed": 7e9, "observed": 6.7e9}},
    }
    result.update(over.pop("result", {}))
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 32,
        "num_attention_heads": 32, "num_key_value_heads": 32, "intermediate_size": 11008, "vocab_size": 32000,
        "max_position_embeddings": 4096, "torch_dtype": "float16",
    }  # fmt: skip
    return {"result": result, "hub": over.pop("hub", {"gated": False}), "config": over.pop("config", config)}


def verdicts(policy_text: str, rec: dict, repo: str = "org/model", today: dt.date | None = None) -> dict[str, str]:
    rules, ignores = parse_policy(policy_text)
    return {o.rule: o.status for o in evaluate(Policy(rules, tuple(ignores)), repo, rec, today)}


# --- policy parsing -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        ("rules:\n  - id: a\n    max_parameters: lots\n", 3, "rules[0].max_parameters", "a count"),
        ("rules:\n  - id: a\n    max_parameters: 7B\n    colour: red\n", 4, "rules[0].colour", "unknown key"),
        ("rules:\n  - max_parameters: 7B\n", 2, "rules[0].id", "required"),
        (
            "rules:\n  - id: a\n    severity: fatal\n    safe_formats: true\n",
            3,
            "rules[0].severity",
            "error or warning",
        ),
        ("rules:\n  - id: f\n    fits_gpu: {gpu: potato9000}\n", 3, "rules[0].fits_gpu.gpu", "unknown GPU"),
        (
            "rules:\n  - id: f\n    fits_gpu:\n      gpu: L40S\n      context: -5\n",
            5,
            "rules[0].fits_gpu.context",
            "≥ 1",
        ),
        ("rules:\n  - id: f\n    fits_gpu: {gpu: L40S, engine: tgi}\n", 3, "rules[0].fits_gpu.engine", "one of"),
        (
            "rules:\n  - id: a\n    safe_formats: true\n  - id: a\n    card_agrees: true\n",
            4,
            "rules[1].id",
            "duplicate",
        ),
        ("rules:\n  - id: a\n    safe_formats: true\n    card_agrees: true\n", 2, "rules[0]", "exactly one check"),
        ("rules:\n  - id: a\n    licenses: {allow: mit}\n", 3, "rules[0].licenses.allow", "list of names"),
        ("version: 2\nrules: []\n", 1, "version", "only version 1"),
        ("rules: [\n", 2, "(yaml)", ""),
    ],
)
def test_policy_errors_name_line_and_key(text: str, line: int, key: str, words: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "p.yaml")
    problems = [(p.line, p.key) for p in info.value.problems]
    assert (line, key) in problems, problems
    assert words in str(info.value)
    assert f"p.yaml:{line}: {key}" in str(info.value)


def test_policy_reports_every_problem_at_once() -> None:
    text = "rules:\n  - id: a\n    max_parameters: x\n  - id: b\n    max_weight_bytes: y\n"
    with pytest.raises(PolicyError) as info:
        parse_policy(text)
    assert [p.line for p in info.value.problems] == [3, 5]


def test_ignore_file_errors() -> None:
    with pytest.raises(PolicyError) as info:
        parse_ignores("- repo: org/m\n  rule: r\n  expires: soon\n")
    keys = {p.key for p in info.value.problems}
    assert keys == {"ignore[0].reason", "ignore[0].expires"}


def test_example_policy_and_ignores_validate() -> None:
    policy = load_policy(EXAMPLE / "policy.yaml", EXAMPLE / "ignore.yaml")
    assert {r.kind for r in policy.rules} >= {"fits_gpu", "safe_formats", "licenses", "scan_succeeds"}
    assert policy.ignores


# --- every rule ----------------------------------------------------------------------------------------------------


def test_fits_gpu_uses_the_stored_config() -> None:
    text = """rules:
  - id: small
    fits_gpu: {gpu: 8GB, context: 4096}
  - id: big
    fits_gpu: {gpu: L40S, context: 4096, engine: vllm}
  - id: two-small
    fits_gpu: {gpu: 12GB, count: 2, context: 2048, engine: generic}
  - id: int4-small
    fits_gpu: {gpu: 8GB, context: 2048, precision: int4, engine: generic}
"""
    got = verdicts(text, record())
    assert got == {"small": "fail", "big": "pass", "two-small": "pass", "int4-small": "pass"}
    rules, _ = parse_policy(text)
    fail = evaluate(Policy(rules), "org/model", record())[0]
    assert fail.figures["total_bytes"] > fail.figures["budget_bytes"] and "needs" in fail.message
    assert verdicts(text, record(config=None))["big"] == "skip"  # no stored config: cannot estimate


def test_size_dtype_quant_format_rules() -> None:
    text = """rules:
  - {id: params, max_parameters: 7B}
  - {id: tiny, max_parameters: 1B}
  - {id: bytes, max_weight_bytes: 10GiB}
  - {id: dtypes, allowed_dtypes: [bf16, fp16]}
  - {id: only-bf16, allowed_dtypes: [bf16]}
  - {id: quant, allowed_quantization: [none, awq]}
  - {id: gptq-only, allowed_quantization: [gptq]}
  - {id: formats, safe_formats: true}
"""
    assert verdicts(text, record()) == {
        "params": "pass", "tiny": "fail", "bytes": "fail", "dtypes": "pass", "only-bf16": "fail", "quant": "pass",
        "gptq-only": "fail", "formats": "pass",
    }  # fmt: skip
    pickled = record(result={"weights": {"bytes": 1, "format": "torch"}, "quantization": {"method": "awq"}})
    got = verdicts(text, pickled)
    assert got["formats"] == "fail" and got["quant"] == "pass" and got["gptq-only"] == "fail"


def test_licence_gated_card_and_scan_rules() -> None:
    text = """rules:
  - {id: allow, licenses: {allow: [mit, apache-2.0]}}
  - {id: deny, licenses: {deny: [cc-by-nc-4.0]}}
  - {id: gated, allow_gated: false}
  - {id: count, card_states_parameters: true}
  - {id: agree, card_agrees: true}
  - {id: scan, scan_succeeds: true}
"""
    assert set(verdicts(text, record()).values()) == {"pass"}
    nc = record(result={"card": {"present": True, "license": "CC-BY-NC-4.0"}}, hub={"gated": "manual"})
    got = verdicts(text, nc)
    assert got == {"allow": "fail", "deny": "fail", "gated": "fail", "count": "fail", "agree": "pass", "scan": "pass"}
    differs = record(result={"agreement": {"parameters": {"status": "differs", "claimed": 7e9, "observed": 1e9}}})
    assert verdicts(text, differs)["agree"] == "fail"
    failed = record(result={"status": "error", "error": {"code": "gated", "message": "gated"}}, hub={})
    got = verdicts(text, failed)
    assert got["scan"] == "fail" and got["gated"] == "skip" and got["allow"] == "skip"


def test_ignores_apply_until_they_expire() -> None:
    text = """rules:
  - {id: tiny, max_parameters: 1B}
ignore:
  - {repo: "org/*", rule: tiny, reason: "accepted by infra", expires: 2030-01-01}
"""
    assert verdicts(text, record(), today=dt.date(2029, 12, 31)) == {"tiny": "ignored"}
    assert verdicts(text, record(), today=dt.date(2030, 1, 2)) == {"tiny": "fail"}
    assert verdicts(text, record(), repo="other/model", today=dt.date(2029, 1, 1)) == {"tiny": "fail"}


# --- target lists and shards ---------------------------------------------------------------------------------------


def test_target_forms() -> None:
    assert parse_target("org/name@refs/pr/3").revision == "refs/pr/3"
    assert parse_target("https://huggingface.co/org/name/tree/v1").revision == "v1"
    assert parse_target("gpt2").repo_id == "gpt2"
    for bad in ("not a repo", "org/name@", "../cardscan-no-such-dir/x", "org/a/b"):
        with pytest.raises(ValueError):
            parse_target(bad)


def test_invalid_lines_reported_together(tmp_path: Path) -> None:
    listing = tmp_path / "models.txt"
    listing.write_text("org/a\n# comment\nbad line here\norg/b@v1\n\norg/c@\n")
    with pytest.raises(TargetListError) as info:
        validate(listing, None, "models.txt")
    assert [b.line for b in info.value.bad] == [3, 6]
    assert "models.txt:3:" in str(info.value) and "models.txt:6:" in str(info.value)


def test_csv_column(tmp_path: Path) -> None:
    catalogue = tmp_path / "catalogue.csv"
    catalogue.write_text("team,repo_id\nsearch,org/a\nchat,org/b@v2\nx,\n")
    assert validate(catalogue, "repo_id", "c") == 2
    assert [t.key for t in read_targets(catalogue, "repo_id")] == ["org/a", "org/b@v2"]
    with pytest.raises(TargetListError, match="no column"):
        validate(catalogue, "model", "c")


def test_shards_partition_the_list_stably() -> None:
    ids = [f"org{i % 7}/model-{i}" for i in range(500)]
    targets = [parse_target(i) for i in ids]
    shards = [[t.repo_id for t in in_shard(iter(targets), (k, 4))] for k in range(4)]
    assert sorted(r for shard in shards for r in shard) == sorted(ids)
    assert all(80 < len(s) < 170 for s in shards)
    # adding repos never moves an existing one
    assert all(shard_of(i, 4) == shard_of(i, 4) for i in ids)
    assert parse_shard("2/4") == (2, 4)
    for bad in ("4/4", "1", "a/b", "0/0"):
        with pytest.raises(ValueError):
            parse_shard(bad)


def test_report_data_shape_is_documented() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "audit.md").read_text()
    for key in ("tiles", "rows", "diff", "trend", "previous_run", "schema_version"):
        assert f"`{key}`" in doc, key
    assert json.loads(json.dumps({"ok": True}))
