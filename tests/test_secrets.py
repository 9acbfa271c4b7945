"""Secrets: a canary token never reaches output, messages or any origin but the configured endpoint, whatever the
server does (echoing the token into redirects, refused schemes, loops, cross-host hops); paths leaving the repo are
refused before any request; a password in HF_ENDPOINT is never printed."""

from __future__ import annotations

import pytest
import responses
from typer.testing import CliRunner

from cardscan.cli import app
from cardscan.errors import ErrorCode, ScanError
from cardscan.sources.http import redact
from cardscan.sources.hub import HubConfig, HubSource

CANARY = "hf_CanaryToken0123456789abcdef"
GPT2 = "openai-community/gpt2"
FORMATS = ("table", "json", "csv", "markdown", "html")
# Server behaviours that put the token (or the endpoint's password) in front of the client.
HOSTILE = {
    "token echoed into a cross-host Location": {"redirect_to": "{cdn}/x/{token}?token={token}", "only": "config.json"},
    "token echoed into a redirect loop": {"redirect_to": "{path}?t={token}", "only": "config.json"},
    "redirect to ftp: with the token": {"redirect_to": "ftp://{token}:x@127.0.0.1/{token}", "only": "config.json"},
    "redirect to file:": {"redirect_to": "file:///etc/passwd?{token}", "only": "config.json"},
    "malformed Location": {"redirect_to": "http://[::1/{token}", "only": "config.json"},
    "cdn redirects back to the hub": {"redirect_to": "{hub}/back/{token}", "origin": "cdn"},
}


def test_redact() -> None:
    text = f"GET https://user:pw@mirror.example/a/{CANARY}/b?token={CANARY}&x=1#frag failed (ftp://{CANARY}@h/)"
    out = redact(text, CANARY)
    assert CANARY not in out and "pw" not in out and "user" not in out
    assert "https://***@mirror.example/a/***/b?…" in out
    assert redact("http://127.0.0.1:8080/api/models/x", None) == "http://127.0.0.1:8080/api/models/x"


@pytest.mark.integration
@pytest.mark.parametrize("behaviour", sorted(HOSTILE))
def test_canary_never_printed_nor_sent_off_origin(hub, behaviour: str) -> None:
    hub.set_fault(GPT2, **HOSTILE[behaviour])
    env = {"HF_ENDPOINT": hub.url, "HF_TOKEN": CANARY, "HF_HUB_DISABLE_TELEMETRY": "1"}
    runner = CliRunner()
    for fmt in FORMATS:
        got = runner.invoke(app, [GPT2, "--format", fmt], env=env)
        assert got.exit_code != 9, got.output  # never `internal`
        assert CANARY not in got.output and CANARY not in (got.stderr if got.stderr_bytes else "")
    hops = [e for e in hub.log]
    assert hops, "the scan made requests"
    assert not any(e.authorization_present for e in hops if e.origin == "cdn")
    assert not any(e.authorization_present for e in hops if e.path.startswith("/back/"))


@pytest.mark.integration
def test_scan_results_hold_no_canary(hub) -> None:
    from cardscan.render import render
    from cardscan.scanner import ScanOptions, scan_many

    options = ScanOptions(endpoint=hub.url, token=CANARY, retries=1)
    results = []
    for knobs in HOSTILE.values():
        hub.reset()
        hub.set_fault(GPT2, **knobs)
        results += scan_many([GPT2, "org/no-readme"], options, workers=2)
    failed = [r for r in results if not r.ok]
    assert len(failed) == len(HOSTILE) and all(r.error.code != "internal" for r in failed), failed
    for fmt in FORMATS:
        assert CANARY not in render(results, fmt)
    assert CANARY not in repr(results)


@pytest.mark.integration
def test_password_in_endpoint_is_never_printed(hub) -> None:
    secret = "s3cretPassw0rd"
    endpoint = hub.url.replace("http://", f"http://user:{secret}@")
    runner = CliRunner()
    for fmt in FORMATS:
        got = runner.invoke(app, ["org/does-not-exist", "--format", fmt], env={"HF_ENDPOINT": endpoint})
        assert got.exit_code == 3, got.output
        assert secret not in got.output
    assert secret not in repr(HubConfig(endpoint=endpoint, token=CANARY))


EP = "https://huggingface.co"
SHA = "c0ffee0000000000000000000000000000000001"


def _info(*paths: str) -> dict:
    return {"id": "org/model", "sha": SHA, "siblings": [{"rfilename": p, "size": 10} for p in paths]}


@responses.activate
@pytest.mark.parametrize("path", ["../../other/model/resolve/main/x", "/etc/passwd", "a/../../b", "a\\..\\b"])
def test_listed_path_leaving_the_repo_is_refused(path: str) -> None:
    responses.get(f"{EP}/api/models/org/model/revision/main?blobs=true", json=_info("config.json", path))
    source = HubSource("org/model", config=HubConfig(endpoint=EP, token=CANARY))
    with pytest.raises(ScanError) as err:
        source.listing()
    assert err.value.code is ErrorCode.MALFORMED and CANARY not in err.value.message
    assert len(responses.calls) == 1


@responses.activate
def test_read_of_a_path_leaving_the_repo_is_never_sent() -> None:
    """A shard index (attacker-written) naming `../` files: refused before any request, token or not."""
    responses.get(f"{EP}/api/models/org/model/revision/main?blobs=true", json=_info("config.json"))
    source = HubSource("org/model", config=HubConfig(endpoint=EP, token=CANARY))
    source.listing()
    for bad in ("../x.safetensors", "../../../api/whoami-v2"):
        with pytest.raises(ScanError) as err:
            source.read_range(bad, 0, 100)
        assert err.value.code is ErrorCode.MALFORMED
        source.prepare(bad)  # best effort: silently nothing
    assert len(responses.calls) == 1
    assert source._resolve_url("a/./b//c.json").endswith(f"/resolve/{SHA}/a/b/c.json")


@responses.activate
def test_token_only_to_the_endpoint_origin() -> None:
    """A tree `next` link on another host is followed without the token."""
    info = {"id": "org/model", "sha": SHA, "siblings": [{"rfilename": "a"}]}  # no sizes → tree listing
    responses.get(f"{EP}/api/models/org/model/revision/main?blobs=true", json=info)
    responses.get(
        f"{EP}/api/models/org/model/tree/{SHA}?recursive=true",
        json=[{"type": "file", "path": "a", "size": 1}],
        headers={"Link": '<https://elsewhere.example/page2>; rel="next"'},
    )
    responses.get("https://elsewhere.example/page2", json=[{"type": "file", "path": "b", "size": 2}])
    source = HubSource("org/model", config=HubConfig(endpoint=EP, token=CANARY))
    assert [f.path for f in source.listing().files] == ["a", "b"]
    sent = [c.request for c in responses.calls]
    assert [("Authorization" in r.headers) for r in sent] == [True, True, False]
