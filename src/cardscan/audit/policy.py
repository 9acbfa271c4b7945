"""Audit policy: YAML rules (docs/policy.md) validated with line numbers, per-repo exceptions, and evaluation.

Rules are evaluated on STORED data — the JSON object of a scan (render/json.py), the Hub facts the audit recorded
(gating) and the repo's config.json — so changing a policy never needs a re-read. Only the GPU-fit rule computes:
it re-runs the pure estimator on the stored config (`estimate_fit`, the one place that calls estimate/).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

SEVERITIES = ("error", "warning")
ENGINES = ("generic", "vllm", "llama.cpp", "transformers")
SAFE_FORMATS = ("safetensors", "gguf")
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?B?|[KMBT])?\s*$", re.IGNORECASE)
_COUNT_UNITS = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}
_BYTE_UNITS = {"": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30,
               "TIB": 2**40, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}  # fmt: skip


@dataclass(frozen=True)
class PolicyProblem:
    """One mistake in a policy or ignore file."""

    line: int
    """1-based line of the offending key or value."""
    key: str
    """Dotted path of the key (`rules[2].fits_gpu.context`)."""
    message: str
    """What is wrong and what is allowed."""


class PolicyError(Exception):
    """A policy or ignore file that does not validate; lists every problem found."""

    def __init__(self, source: str, problems: list[PolicyProblem]) -> None:
        text = "\n".join(f"  {source}:{p.line}: {p.key}: {p.message}" for p in problems)
        super().__init__(f"invalid policy {source}:\n{text}")
        self.problems = problems


@dataclass(frozen=True)
class Rule:
    """One check with an id and a severity."""

    id: str
    """Stable name (used by ignores, JUnit test cases and history)."""
    kind: str
    """Which check: one of CHECKS."""
    severity: str
    """error (fails the audit) or warning (fails only with --strict)."""
    params: Mapping[str, Any]
    """The check's settings, validated."""
    description: str = ""
    """Why the rule exists (shown in reports)."""


@dataclass(frozen=True)
class Ignore:
    """An accepted exception: this repo may break this rule, for a reason, until a date."""

    repo: str
    """Repo id or glob (`org/*`)."""
    rule: str
    """Rule id or `*`."""
    reason: str
    """Why it is accepted (required)."""
    expires: dt.date | None = None
    """After this day the exception no longer applies."""


@dataclass(frozen=True)
class Policy:
    """A validated policy file."""

    rules: tuple[Rule, ...]
    """Rules in file order."""
    ignores: tuple[Ignore, ...] = ()
    """Exceptions (inline `ignore:` plus an --ignore-file)."""
    source: str = ""
    """Where it came from."""


@dataclass(frozen=True)
class Outcome:
    """One rule evaluated on one repo."""

    rule: str
    """Rule id."""
    severity: str
    """error or warning."""
    status: str
    """pass | fail | skip (not applicable / data missing) | ignored (failed but excepted)."""
    message: str
    """One line: what was found against what the rule allows."""
    figures: dict[str, Any] = field(default_factory=dict)
    """The numbers behind the verdict (bytes, counts, names)."""


# --- parsing with line numbers -----------------------------------------------------------------------------------


class _Checker:
    """Walks composed YAML nodes, collecting problems with their line numbers."""

    def __init__(self) -> None:
        self.problems: list[PolicyProblem] = []
        self._constructor = yaml.constructor.SafeConstructor()

    def fail(self, node: yaml.Node | None, key: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.problems.append(PolicyProblem(line, key, message))

    def value(self, node: yaml.Node) -> Any:
        return self._constructor.construct_object(node, deep=True)

    def mapping(self, node: yaml.Node | None, key: str) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, key, "must be a mapping (key: value)")
            return None
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for k, v in node.value:
            name = str(self.value(k))
            if name in out:
                self.fail(k, f"{key}.{name}".lstrip("."), "duplicate key")
            out[name] = (k, v)
        return out

    def unknown(self, items: Mapping[str, tuple[yaml.Node, yaml.Node]], allowed: set[str], key: str) -> None:
        for name, (k, _) in items.items():
            if name not in allowed:
                self.fail(k, f"{key}.{name}".lstrip("."), f"unknown key; expected one of {', '.join(sorted(allowed))}")


def _compose(text: str, source: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise PolicyError(source, [PolicyProblem(line, "(yaml)", str(exc.problem or exc))]) from None


def load_policy(path: Path | None, ignore_path: Path | None = None) -> Policy:
    """Read and validate a policy (and an ignore file); PolicyError lists every problem with its line."""
    rules: tuple[Rule, ...] = ()
    ignores: list[Ignore] = []
    if path is not None:
        rules, inline = parse_policy(path.read_text(encoding="utf-8"), str(path))
        ignores += inline
    if ignore_path is not None:
        ignores += parse_ignores(ignore_path.read_text(encoding="utf-8"), str(ignore_path))
    return Policy(rules, tuple(ignores), str(path or ""))


def parse_policy(text: str, source: str = "policy.yaml") -> tuple[tuple[Rule, ...], list[Ignore]]:
    """Policy YAML → rules and inline ignores."""
    check = _Checker()
    root = _compose(text, source)
    top = check.mapping(root, "") if root is not None else None
    rules: list[Rule] = []
    ignores: list[Ignore] = []
    if top is not None:
        check.unknown(top, {"version", "rules", "ignore"}, "")
        if "version" in top and check.value(top["version"][1]) != 1:
            check.fail(top["version"][1], "version", "only version 1 exists")
        if "rules" not in top:
            check.fail(root, "rules", "missing: a policy needs a `rules:` list")
        else:
            rules = _rules(check, top["rules"][1])
        if "ignore" in top:
            ignores = _ignores(check, top["ignore"][1], "ignore")
    if check.problems:
        raise PolicyError(source, check.problems)
    return tuple(rules), ignores


def parse_ignores(text: str, source: str = "ignore.yaml") -> list[Ignore]:
    """An ignore file: a list of {repo, rule, reason, expires}, or a mapping with an `ignore:` list."""
    check = _Checker()
    root = _compose(text, source)
    out: list[Ignore] = []
    if root is None:
        return out
    node = root
    if isinstance(root, yaml.MappingNode):
        top = check.mapping(root, "") or {}
        check.unknown(top, {"ignore"}, "")
        node = top["ignore"][1] if "ignore" in top else None
    if node is not None:
        out = _ignores(check, node, "ignore")
    if check.problems:
        raise PolicyError(source, check.problems)
    return out


def _rules(check: _Checker, node: yaml.Node) -> list[Rule]:
    if not isinstance(node, yaml.SequenceNode):
        check.fail(node, "rules", "must be a list of rules")
        return []
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, item in enumerate(node.value):
        rule = _rule(check, item, f"rules[{i}]")
        if rule is None:
            continue
        if rule.id in seen:
            check.fail(item, f"rules[{i}].id", f"duplicate rule id {rule.id!r}")
        seen.add(rule.id)
        rules.append(rule)
    return rules


def _rule(check: _Checker, node: yaml.Node, key: str) -> Rule | None:
    items = check.mapping(node, key)
    if items is None:
        return None
    check.unknown(items, {"id", "severity", "description", *CHECKS}, key)
    kinds = [k for k in items if k in CHECKS]
    if len(kinds) != 1:
        check.fail(node, key, f"a rule needs exactly one check ({', '.join(CHECKS)}); found {kinds or 'none'}")
        return None
    kind = kinds[0]
    rule_id = check.value(items["id"][1]) if "id" in items else None
    if not isinstance(rule_id, str) or not re.fullmatch(r"[A-Za-z0-9][\w.\-]*", rule_id):
        check.fail(items["id"][1] if "id" in items else node, f"{key}.id", "required: a name like `fits-l40s`")
        rule_id = f"rule-{key}"
    severity = check.value(items["severity"][1]) if "severity" in items else "error"
    if severity not in SEVERITIES:
        check.fail(items["severity"][1], f"{key}.severity", f"must be error or warning, not {severity!r}")
    description = check.value(items["description"][1]) if "description" in items else ""
    params = CHECKS[kind].parse(check, items[kind][1], f"{key}.{kind}")
    return Rule(rule_id, kind, str(severity), params, str(description or ""))


def _ignores(check: _Checker, node: yaml.Node, key: str) -> list[Ignore]:
    if not isinstance(node, yaml.SequenceNode):
        check.fail(node, key, "must be a list of {repo, rule, reason, expires}")
        return []
    out: list[Ignore] = []
    for i, item in enumerate(node.value):
        where = f"{key}[{i}]"
        items = check.mapping(item, where)
        if items is None:
            continue
        check.unknown(items, {"repo", "rule", "reason", "expires"}, where)
        got = {k: check.value(v) for k, (_, v) in items.items()}
        for need in ("repo", "reason"):
            if not isinstance(got.get(need), str) or not got[need].strip():
                check.fail(items[need][1] if need in items else item, f"{where}.{need}", "required (text)")
        expires = got.get("expires")
        if expires is not None and not isinstance(expires, dt.date):
            check.fail(items["expires"][1], f"{where}.expires", "must be a date (YYYY-MM-DD)")
            expires = None
        out.append(Ignore(str(got.get("repo", "")), str(got.get("rule", "*")), str(got.get("reason", "")), expires))
    return out


# --- check parameters ---------------------------------------------------------------------------------------------


def parse_count(value: Any) -> int | None:
    """`7e9`, `7000000000`, `7B`, `500M` → int; None when not a count."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    m = _SIZE.match(str(value))
    unit = (m.group(2) or "").upper() if m else None
    if not m or unit not in _COUNT_UNITS:
        return None
    return int(float(m.group(1)) * _COUNT_UNITS[unit])


def parse_bytes(value: Any) -> int | None:
    """`80GB`, `24GiB`, `5e9` → bytes; None when not a size."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    m = _SIZE.match(str(value))
    unit = (m.group(2) or "").upper() if m else None
    if not m or unit not in _BYTE_UNITS:
        return None
    return int(float(m.group(1)) * _BYTE_UNITS[unit])


def _scalar(
    kind: str, convert: Callable[[Any], Any], hint: str
) -> Callable[[_Checker, yaml.Node, str], dict[str, Any]]:
    def parse(check: _Checker, node: yaml.Node, key: str) -> dict[str, Any]:
        got = convert(check.value(node)) if isinstance(node, yaml.ScalarNode) else None
        if got is None:
            check.fail(node, key, hint)
        return {kind: got}

    return parse


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _names(check: _Checker, node: yaml.Node, key: str) -> tuple[str, ...]:
    if not isinstance(node, yaml.SequenceNode) or not all(isinstance(n, yaml.ScalarNode) for n in node.value):
        check.fail(node, key, "must be a list of names")
        return ()
    return tuple(str(check.value(n)).lower() for n in node.value)


def _parse_list(check: _Checker, node: yaml.Node, key: str) -> dict[str, Any]:
    return {"names": _names(check, node, key)}


def _parse_licenses(check: _Checker, node: yaml.Node, key: str) -> dict[str, Any]:
    items = check.mapping(node, key) or {}
    check.unknown(items, {"allow", "deny"}, key)
    if not items:
        check.fail(node, key, "give `allow:` and/or `deny:` lists")
    return {k: _names(check, items[k][1], f"{key}.{k}") if k in items else () for k in ("allow", "deny")}


_FIT_DEFAULTS: dict[str, Any] = {"count": 1, "context": None, "batch": 1, "engine": "vllm", "precision": "stored",
                                 "kv_dtype": "auto", "gpu_util": 0.9}  # fmt: skip


def _parse_fit(check: _Checker, node: yaml.Node, key: str) -> dict[str, Any]:
    items = check.mapping(node, key) or {}
    check.unknown(items, {"gpu", *_FIT_DEFAULTS}, key)
    got = {k: check.value(v) for k, (_, v) in items.items()}
    out = {**_FIT_DEFAULTS, **got}
    if not isinstance(got.get("gpu"), str):
        check.fail(
            items["gpu"][1] if "gpu" in items else node, f"{key}.gpu", "required: a GPU name or size (L40S, 24GB)"
        )
    else:
        from cardscan.errors import ScanError
        from cardscan.estimate.gpus import parse_gpu

        try:
            parse_gpu(got["gpu"])
        except ScanError as exc:
            check.fail(items["gpu"][1], f"{key}.gpu", exc.message)
    for name in ("count", "batch", "context"):
        value = out[name]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            check.fail(items[name][1], f"{key}.{name}", "must be a whole number ≥ 1")
    if out["engine"] not in ENGINES:
        check.fail(items["engine"][1], f"{key}.engine", f"must be one of {', '.join(ENGINES)}")
    if out["precision"] != "stored":
        from cardscan.errors import ScanError
        from cardscan.estimate.weights import precision_bytes

        try:
            precision_bytes(str(out["precision"]))
        except ScanError as exc:
            check.fail(items["precision"][1], f"{key}.precision", exc.message + " (or `stored`)")
    return out


@dataclass(frozen=True)
class Check:
    """How a check's settings are parsed and how it judges one stored record."""

    parse: Callable[[_Checker, yaml.Node, str], dict[str, Any]]
    judge: Callable[[Mapping[str, Any], dict[str, Any]], tuple[str, str, dict[str, Any]]]


# --- judging stored records -----------------------------------------------------------------------------------------
# A record: {"result": <render/json.py object>, "hub": {"gated": …}, "config": <config.json dict or None>}.


def _result(record: Mapping[str, Any]) -> Mapping[str, Any]:
    return record.get("result") or {}


def _judge_scan(record: Mapping[str, Any], _p: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    r = _result(record)
    if r.get("status") == "ok":
        return "pass", "scan succeeded", {}
    err = r.get("error") or {}
    return "fail", f"scan failed: {err.get('code')}: {err.get('message')}", {"error_code": err.get("code")}


def _judge_max_parameters(record: Mapping[str, Any], p: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    total = (_result(record).get("parameters") or {}).get("total")
    if total is None:
        return "skip", "parameter count unknown", {}
    figures = {"parameters": total, "max_parameters": p["max"]}
    ok = total <= p["max"]
    return ("pass" if ok else "fail"), f"{_count(total)} parameters {'≤' if ok else '>'} {_count(p['max'])}", figures


def _judge_max_bytes(record: Mapping[str, Any], p: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    stored = (_result(record).get("weights") or {}).get("bytes")
    if stored is None:
        return "skip", "weight bytes unknown", {}
    ok = stored <= p["max"]
    return (
        ("pass" if ok else "fail"),
        f"{_gib(stored)} of weights {'≤' if ok else '>'} {_gib(p['max'])}",
        {"weight_bytes": stored, "max_weight_bytes": p["max"]},
    )


def _judge_dtypes(record: Mapping[str, Any], p: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    found = sorted((_result(record).get("parameters") or {}).get("by_dtype") or {})
    if not found:
        return "skip", "stored dtypes unknown", {}
    bad = [d for d in found if d.lower() not in p["names"]]
    figures = {"dtypes": found, "allowed": list(p["names"])}
    if bad:
        return "fail", f"stored dtypes {', '.join(bad)} not in {', '.join(p['names'])}", figures
    return "pass", f"stored dtypes {', '.join(found)}", figures


def quant_method(result: Mapping[str, Any]) -> str:
    """The quantization method of a stored result, `none` for unquantized weights."""
    q = result.get("quantization")
    return str(q.get("method")).lower() if isinstance(q, dict) and q.get("method") else "none"


def _judge_quant(record: Mapping[str, Any], p: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    r = _result(record)
    if r.get("status") != "ok":
        return "skip", "not scanned", {}
    method = quant_method(r)
    ok = method in p["names"]
    verdict = "allowed" if ok else f"not in {', '.join(p['names'])}"
    return ("pass" if ok else "fail"), f"quantization {method} {verdict}", {"quantization": method}


def _judge_formats(record: Mapping[str, Any], p: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    fmt = (_result(record).get("weights") or {}).get("format")
    if fmt is None:
        return "skip", "no weights read", {}
    if not p["safe_formats"]:
        return "pass", "any format allowed", {"format": fmt}
    ok = fmt in SAFE_FORMATS
    msg = f"weights are {fmt}" + ("" if ok else " (pickle: can run code on load; want safetensors or gguf)")
    return ("pass" if ok else "fail"), msg, {"format": fmt}


def licence(result: Mapping[str, Any]) -> str | None:
    """The card's licence id of a stored result (lower case), or None."""
    card = result.get("card") or {}
    value = card.get("license") if isinstance(card, dict) else None
    return str(value).lower() if value else None


def _judge_licenses(record: Mapping[str, Any], p: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    r = _result(record)
    if r.get("status") != "ok":
        return "skip", "not scanned", {}
    lic = licence(r)
    figures = {"license": lic}
    if lic is not None and lic in p["deny"]:
        return "fail", f"licence {lic} is denied", figures
    if p["allow"] and lic not in p["allow"]:
        return "fail", f"licence {lic or '(none stated)'} not in {', '.join(p['allow'])}", figures
    return "pass", f"licence {lic or '(none stated)'}", figures


def _judge_gated(record: Mapping[str, Any], p: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    gated = (record.get("hub") or {}).get("gated")
    if gated is None:
        code = (_result(record).get("error") or {}).get("code")
        gated = "yes" if code == "gated" else None
    if gated is None:
        return "skip", "gating unknown", {}
    if gated and not p["allow_gated"]:
        return "fail", f"repo is gated ({gated})", {"gated": gated}
    return "pass", "gated" if gated else "not gated", {"gated": gated}


def _judge_card_params(record: Mapping[str, Any], p: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    r = _result(record)
    if r.get("status") != "ok" or not p["card_states_parameters"]:
        return "skip", "not scanned" if r.get("status") != "ok" else "not required", {}
    claimed = (r.get("card") or {}).get("parameters")
    if claimed:
        return "pass", f"card states {_count(claimed)} parameters", {"card_parameters": claimed}
    return "fail", "the model card states no parameter count", {}


def _judge_agreement(record: Mapping[str, Any], p: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    r = _result(record)
    if r.get("status") != "ok" or not p["card_agrees"]:
        return "skip", "not scanned" if r.get("status") != "ok" else "not required", {}
    rows = r.get("agreement") or {}
    differs = {k: v for k, v in rows.items() if isinstance(v, dict) and v.get("status") == "differs"}
    if not differs:
        return "pass", "card and headers agree", {}
    text = "; ".join(
        f"{k}: card {_fig(v.get('claimed'))} vs headers {_fig(v.get('observed'))}" for k, v in differs.items()
    )
    figures = {k: {"claimed": v.get("claimed"), "observed": v.get("observed")} for k, v in differs.items()}
    return "fail", text, figures


def _judge_fit(record: Mapping[str, Any], p: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    r = _result(record)
    if r.get("status") != "ok":
        return "skip", "not scanned", {}
    figures = estimate_fit(r, record.get("config"), p)
    if figures is None:
        return "skip", "no config.json stored: memory cannot be estimated", {}
    where = f"{p['count']}× {figures['gpu']}" if p["count"] > 1 else figures["gpu"]
    at = f"context {figures['context']:,} × batch {p['batch']}, {p['engine']}, {p['precision']}"
    if figures["fits"]:
        return (
            "pass",
            f"fits {where}: {_gib(figures['total_bytes'])} of {_gib(figures['budget_bytes'])} ({at})",
            figures,
        )
    return (
        "fail",
        f"needs {_gib(figures['total_bytes'])} per GPU, {where} gives {_gib(figures['budget_bytes'])} ({at})",
        figures,
    )


def estimate_fit(
    result: Mapping[str, Any], config: Mapping[str, Any] | None, p: Mapping[str, Any]
) -> dict[str, Any] | None:
    """THE call into estimate/: memory per GPU for a stored result at the rule's settings (None without config).

    Kept in this one function so a change of the estimator's public API is a change here only.
    """
    params = (result.get("parameters") or {}).get("total")
    if not config or not params:
        return None
    from cardscan.estimate.engines import EstimateOptions, estimate_memory
    from cardscan.estimate.fit import engine_budget, fits
    from cardscan.estimate.gpus import parse_gpu
    from cardscan.estimate.weights import weights_at
    from cardscan.parse.config import arch_facts

    try:
        facts = arch_facts(config)
    except Exception:  # a config the estimator cannot read: same as none
        return None
    gpu = parse_gpu(str(p["gpu"]))
    stored = (result.get("weights") or {}).get("bytes")
    weights = (
        stored
        if p["precision"] == "stored" and stored
        else weights_at(params, "bf16" if p["precision"] == "stored" else p["precision"])
    )
    opts = EstimateOptions(engine=p["engine"], context=p["context"], batch=p["batch"], kv_dtype=p["kv_dtype"],
                           gpu=gpu, gpu_util=p["gpu_util"], tp=p["count"])  # fmt: skip
    memory = estimate_memory(facts, weights, params, opts)
    fit = fits(memory, gpu)
    return {"gpu": gpu.name, "count": p["count"], "context": memory.context, "total_bytes": memory.total_bytes,
            "budget_bytes": engine_budget(gpu, memory.engine, memory.gpu_util), "fits": fit.fits,
            "free_bytes": fit.free_bytes, "weights_bytes": memory.weights_bytes, "kv_cache_bytes": memory.kv_cache_bytes}  # fmt: skip


CHECKS: dict[str, Check] = {
    "fits_gpu": Check(_parse_fit, _judge_fit),
    "max_parameters": Check(_scalar("max", parse_count, "a count: 70e9, 70B, 500M"), _judge_max_parameters),
    "max_weight_bytes": Check(_scalar("max", parse_bytes, "a size: 80GB, 40GiB"), _judge_max_bytes),
    "allowed_dtypes": Check(_parse_list, _judge_dtypes),
    "allowed_quantization": Check(_parse_list, _judge_quant),
    "safe_formats": Check(_scalar("safe_formats", _bool, "true or false"), _judge_formats),
    "licenses": Check(_parse_licenses, _judge_licenses),
    "allow_gated": Check(_scalar("allow_gated", _bool, "true or false"), _judge_gated),
    "card_states_parameters": Check(_scalar("card_states_parameters", _bool, "true or false"), _judge_card_params),
    "card_agrees": Check(_scalar("card_agrees", _bool, "true or false"), _judge_agreement),
    "scan_succeeds": Check(_scalar("scan_succeeds", _bool, "true or false"), _judge_scan),
}


# --- evaluation ---------------------------------------------------------------------------------------------------


def evaluate(policy: Policy, repo_key: str, record: Mapping[str, Any], today: dt.date | None = None) -> list[Outcome]:
    """Every rule on one stored record; failures covered by a live ignore become `ignored`."""
    return apply_ignores(policy, repo_key, judge(policy, record), today)


def judge(policy: Policy, record: Mapping[str, Any]) -> list[Outcome]:
    """The rules' verdicts on one record, before exceptions (what history caches per result and policy digest)."""
    out: list[Outcome] = []
    failed_scan = _result(record).get("status") != "ok"
    for rule in policy.rules:
        figures: dict[str, Any]
        if failed_scan and rule.kind != "scan_succeeds":
            status, message, figures = "skip", "not scanned", {}
        else:
            status, message, figures = CHECKS[rule.kind].judge(record, dict(rule.params))
        out.append(Outcome(rule.id, rule.severity, status, message, figures))
    return out


def apply_ignores(policy: Policy, repo_key: str, judged: list[Outcome], today: dt.date | None = None) -> list[Outcome]:
    """Failures covered by a live exception become `ignored` (with the reason); the rest stay as judged."""
    today = today or dt.date.today()
    out = []
    for o in judged:
        reason = _excepted(policy.ignores, repo_key, o.rule, today) if o.status == "fail" else None
        out.append(o if reason is None else replace(o, status="ignored", message=f"{o.message} (ignored: {reason})"))
    return out


def rules_digest(policy: Policy) -> str:
    """Identity of the rules (and of the cardscan that judges them): cached verdicts are valid only under it."""
    from cardscan.audit import cardscan_version

    rules = [[r.id, r.kind, r.severity, dict(r.params)] for r in policy.rules]
    text = json.dumps([cardscan_version(), rules], sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:20]


def outcome_dict(o: Outcome) -> dict[str, Any]:
    """An outcome as stored and output (plain JSON)."""
    return {"rule": o.rule, "severity": o.severity, "status": o.status, "message": o.message, "figures": o.figures}


def _excepted(ignores: tuple[Ignore, ...], repo_key: str, rule_id: str, today: dt.date) -> str | None:
    repo = repo_key.split("@", 1)[0]
    for ig in ignores:
        if ig.expires is not None and ig.expires < today:
            continue
        if (fnmatch.fnmatchcase(repo, ig.repo) or fnmatch.fnmatchcase(repo_key, ig.repo)) and ig.rule in ("*", rule_id):
            return ig.reason + (f", until {ig.expires.isoformat()}" if ig.expires else "")
    return None


def _count(n: int) -> str:
    for unit, size in (("T", 10**12), ("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if abs(n) >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)


def _fig(value: Any) -> str:
    """A claimed/observed value: counts as 7.00B, the rest as given."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) >= 1000:
        return _count(int(value))
    return str(value)


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"
