"""Write small PyTorch checkpoint fixtures into tests/fixtures/torch/ (needs torch; the tests do not).

Run with an interpreter that has torch (e.g. a throwaway venv): `python scripts/make_torch_fixtures.py`.
Also writes `expected.json` (names, shapes, dtypes, bytes as torch sees them) so tests check against torch's truth.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "torch"

# torch dtype → safetensors dtype string (what cardscan reports).
DTYPE_NAMES = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64", torch.uint8: "U8",
    torch.bool: "BOOL", torch.float8_e4m3fn: "F8_E4M3", torch.int32: "I32",
}  # fmt: skip


def gpt2_like(vocab: int = 64, hidden: int = 16, layers: int = 2, ctx: int = 32) -> OrderedDict:
    """A GPT-2-shaped state dict: F32 norms, F16 attention, BF16 MLP, tied lm_head (shared storage)."""
    g = torch.Generator().manual_seed(0)
    sd: OrderedDict[str, torch.Tensor] = OrderedDict()
    sd["transformer.wte.weight"] = torch.randn(vocab, hidden, generator=g)
    sd["transformer.wpe.weight"] = torch.randn(ctx, hidden, generator=g)
    for i in range(layers):
        p = f"transformer.h.{i}"
        sd[f"{p}.ln_1.weight"] = torch.ones(hidden)
        sd[f"{p}.ln_1.bias"] = torch.zeros(hidden)
        sd[f"{p}.attn.c_attn.weight"] = torch.randn(hidden, 3 * hidden, generator=g).half()
        sd[f"{p}.attn.c_attn.bias"] = torch.zeros(3 * hidden).half()
        sd[f"{p}.attn.c_proj.weight"] = torch.randn(hidden, hidden, generator=g).half()
        sd[f"{p}.attn.bias"] = torch.tril(torch.ones(ctx, ctx, dtype=torch.bool))  # a buffer
        sd[f"{p}.mlp.c_fc.weight"] = torch.randn(hidden, 4 * hidden, generator=g).bfloat16()
        sd[f"{p}.mlp.c_proj.weight"] = torch.randn(4 * hidden, hidden, generator=g).bfloat16()
    sd["transformer.ln_f.weight"] = torch.ones(hidden)
    sd["lm_head.weight"] = sd["transformer.wte.weight"]  # tied: same storage
    # A view into a slice of another tensor's storage (offset > 0).
    sd["transformer.h.0.attn.q_slice"] = sd["transformer.h.0.attn.c_attn.weight"][:, hidden : 2 * hidden]
    return sd


def expected(sd: dict) -> dict:
    """What the reader must report, from torch itself."""
    tensors = {
        name: {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape), "nbytes": t.numel() * t.element_size()}
        for name, t in sd.items()
        if isinstance(t, torch.Tensor)
    }
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in sd.values()}
    return {"tensors": tensors, "stored_bytes": sum(storages.values())}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    sd = gpt2_like()
    torch.save(sd, OUT / "gpt2_tiny.bin")
    # Newer dtypes go through _rebuild_tensor_v3 with an UntypedStorage; nn.Parameter through _rebuild_parameter.
    extra = OrderedDict(
        w8=torch.randn(8, 16).to(torch.float8_e4m3fn),
        steps=torch.tensor([3], dtype=torch.int64),
    )
    param = torch.nn.Parameter(torch.randn(4, 4))
    torch.save({"model": extra, "param": param, "epoch": 3, "name": "ckpt", "lr": 0.5}, OUT / "nested.pt")
    torch.save(sd, OUT / "legacy.bin", _use_new_zipfile_serialization=False)
    truth = {
        "gpt2_tiny.bin": expected(sd),
        "nested.pt": expected({"model.w8": extra["w8"], "model.steps": extra["steps"], "param": param.detach()}),
    }
    (OUT / "expected.json").write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
    for path in sorted(OUT.iterdir()):
        print(f"{path.name}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
