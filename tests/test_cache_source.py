"""--offline: repo ids resolve from the local Hugging Face cache layout, with no request at all."""

import shutil
from pathlib import Path

import pytest

from cardscan.errors import ScanError
from cardscan.scanner import ScanOptions, scan
from cardscan.sources.cache import cache_source

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "llama-2-7b"
SHA = "0123456789abcdef0123456789abcdef01234567"


def make_cache(root: Path, repo_id: str = "meta-llama/Llama-2-7b-hf") -> Path:
    """The layout huggingface_hub writes: blobs, snapshots/{sha} symlinks, refs/main."""
    repo = root / "hub" / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(SHA)
    snapshot = repo / "snapshots" / SHA
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    for i, f in enumerate(sorted(EXAMPLE.iterdir())):
        blob = repo / "blobs" / f"blob{i}"
        shutil.copy(f, blob)
        (snapshot / f.name).symlink_to(Path("../../blobs") / blob.name)
    return repo


def test_offline_scan_reads_the_snapshot(tmp_path, monkeypatch):
    make_cache(tmp_path)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    r = scan("meta-llama/Llama-2-7b-hf", ScanOptions(offline=True))
    assert r.ok, r.error
    assert r.commit == SHA and r.parameters.total == 6_738_415_616


def test_hf_hub_offline_env_selects_the_cache(tmp_path, monkeypatch):
    make_cache(tmp_path)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert scan("meta-llama/Llama-2-7b-hf").ok
    miss = scan("org/absent")
    assert miss.error.code == "offline_miss"


def test_revision_by_sha_prefix_and_unknown(tmp_path):
    make_cache(tmp_path)
    root = tmp_path / "hub"
    assert cache_source("meta-llama/Llama-2-7b-hf", SHA[:10], root=root).listing().commit == SHA
    with pytest.raises(ScanError, match="not in the local cache"):
        cache_source("meta-llama/Llama-2-7b-hf", "v2", root=root)
