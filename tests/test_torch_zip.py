"""Torch zip checkpoints: tensors from the pickle without running it, checked against torch's own numbers."""

from __future__ import annotations

import io
import json
import pickle
import struct
import zipfile
from pathlib import Path

import pytest

from cardscan.errors import FormatError
from cardscan.parse.torch_zip import (
    UnsupportedFormat,
    load_torch_pickle,
    parse_torch_zip,
    read_torch_zip,
    torch_pickle_tensors,
)

FIXTURES = Path(__file__).parent / "fixtures" / "torch"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())


def as_dict(checkpoint) -> dict:
    return {t.name: {"dtype": t.dtype, "shape": list(t.shape), "nbytes": t.nbytes} for t in checkpoint.tensors}


def rezip(src: bytes, compress_pkl: bool = False, pad_storage: int = 0) -> bytes:
    """Copy a torch zip, optionally deflating data.pkl or growing storage 0 (as a large checkpoint would be)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(src)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            method = zipfile.ZIP_STORED
            if info.filename.endswith("data.pkl") and compress_pkl:
                method = zipfile.ZIP_DEFLATED
            if info.filename.endswith("/data/0"):
                data += bytes(pad_storage)
            zout.writestr(info.filename, data, compress_type=method)
    return out.getvalue()


def to_zip64(data: bytes) -> bytes:
    """Rewrite the end records the ZIP64 way (locator + record, EOCD fields at their 0xFFFF.. sentinels)."""
    i = data.rfind(b"PK\x05\x06")
    _, _, _, _, entries, cd_size, cd_offset, _ = struct.unpack("<4s4H2LH", data[i : i + 22])
    record = b"PK\x06\x06" + struct.pack("<QHHLLQQQQ", 44, 45, 45, 0, 0, entries, entries, cd_size, cd_offset)
    locator = b"PK\x06\x07" + struct.pack("<LQL", 0, i, 1)
    eocd = b"PK\x05\x06" + struct.pack("<4H2LH", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return data[:i] + record + locator + eocd


def test_gpt2_like_state_dict_matches_torch():
    ck = parse_torch_zip((FIXTURES / "gpt2_tiny.bin").read_bytes())
    truth = EXPECTED["gpt2_tiny.bin"]
    assert as_dict(ck) == truth["tensors"]
    assert ck.stored_bytes == truth["stored_bytes"] == 20_992
    assert ck.shared == 2  # tied lm_head and a view into c_attn
    assert "lm_head.weight (shares transformer.wte.weight)" in ck.notes[0]
    dtypes = {t.dtype for t in ck.tensors}
    assert dtypes == {"F32", "F16", "BF16", "BOOL"}
    # per-tensor bytes count the tie (64×16 F32) and the view (16×16 F16) again; stored bytes do not
    assert sum(t.nbytes for t in ck.tensors) == ck.stored_bytes + 64 * 16 * 4 + 16 * 16 * 2


def test_nested_checkpoint_with_parameter_and_float8():
    ck = parse_torch_zip((FIXTURES / "nested.pt").read_bytes())
    truth = EXPECTED["nested.pt"]
    assert as_dict(ck) == truth["tensors"]
    assert ck.stored_bytes == truth["stored_bytes"]
    assert as_dict(ck)["model.w8"]["dtype"] == "F8_E4M3"  # _rebuild_tensor_v3 over an UntypedStorage


def test_reads_by_range_without_the_tensor_data():
    big = rezip((FIXTURES / "gpt2_tiny.bin").read_bytes(), pad_storage=8 << 20)
    calls: list[tuple[int, int]] = []

    def read_at(offset: int, length: int) -> bytes:
        calls.append((offset, length))
        return big[offset : offset + length]

    ck = read_torch_zip(read_at, len(big))
    assert as_dict(ck) == EXPECTED["gpt2_tiny.bin"]["tensors"]
    assert ck.stored_bytes == EXPECTED["gpt2_tiny.bin"]["stored_bytes"] + (8 << 20)  # from the data/0 entry size
    assert sum(n for _, n in calls) < 1 << 20


def test_deflated_pickle_and_zip64():
    src = (FIXTURES / "gpt2_tiny.bin").read_bytes()
    deflated = parse_torch_zip(rezip(src, compress_pkl=True))
    assert as_dict(deflated) == EXPECTED["gpt2_tiny.bin"]["tensors"]
    assert any("deflated" in n for n in deflated.notes)
    assert as_dict(parse_torch_zip(to_zip64(src))) == EXPECTED["gpt2_tiny.bin"]["tensors"]


def test_legacy_pickle_is_a_distinct_unsupported_error():
    with pytest.raises(UnsupportedFormat, match="legacy"):
        parse_torch_zip((FIXTURES / "legacy.bin").read_bytes())
    assert issubclass(UnsupportedFormat, FormatError)


@pytest.mark.parametrize("data", [b"", b"hello world, not a zip at all" * 3, b"PK\x03\x04" + bytes(100)])
def test_not_a_checkpoint(data):
    with pytest.raises(FormatError):
        parse_torch_zip(data)


def test_zip_without_data_pkl():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("archive/other.txt", "x")
    with pytest.raises(FormatError, match=r"data\.pkl"):
        parse_torch_zip(out.getvalue())


@pytest.mark.parametrize(
    ("payload", "name"),
    [
        (b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85R.", "os.system"),
        (b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x8c\x04eval\x93.", "builtins.eval"),
        (b"\x80\x02ctorch\nload\n.", "torch.load"),
    ],
)
def test_foreign_globals_are_refused_by_name(payload, name):
    with pytest.raises(FormatError, match=name.replace(".", r"\.")):
        load_torch_pickle(payload)


def test_allowed_global_called_wrongly_is_refused():
    with pytest.raises(FormatError, match="never call"):
        load_torch_pickle(b"\x80\x02ctorch\nFloatStorage\n)R.")


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_plain_values_load_like_pickle(protocol):
    value = {"a": [1, -2, 3.5, None, True, False], "b": {"c": ("x", "y", 2**70)}, "d": "ü" * 300, "e": []}
    assert load_torch_pickle(pickle.dumps(value, protocol=protocol)) == value


def test_tensors_from_a_bare_pickle_without_storage_sizes():
    with zipfile.ZipFile(FIXTURES / "gpt2_tiny.bin") as z:
        pkl = z.read("gpt2_tiny/data.pkl")
    ck = torch_pickle_tensors(pkl)
    assert as_dict(ck) == EXPECTED["gpt2_tiny.bin"]["tensors"]
    assert ck.stored_bytes == EXPECTED["gpt2_tiny.bin"]["stored_bytes"]  # numel × itemsize of each storage


@pytest.mark.parametrize(
    ("payload", "limit"),
    [
        (b"\x80\x02" + b"(" * 70_000 + b".", "pickle.stack"),
        (b"\x80\x02]" + b"Na" * 300_000 + b".", "pickle.container_items"),
        (b"\x80\x04N" + b"\x94" * 300_000 + b".", "pickle.memo"),
        (b"\x80\x02" + b"N0" * 1_000_001 + b".", "pickle.opcodes"),
        (b"\x80\x02" + b"]0" * 600_000 + b"N.", "pickle.built_bytes"),
        (b"\x80\x02\x8b" + struct.pack("<i", 2048) + bytes(2048) + b".", "pickle.long_bytes"),
        (b"\x80\x02]" + b"\x85" * 40 + b".", None),  # nesting is only refused when tensors are looked for
    ],
)
def test_pickle_budgets(payload, limit):
    from cardscan.parse.limits import LimitExceeded

    if limit is None:
        load_torch_pickle(payload)
        with pytest.raises(LimitExceeded, match=r"pickle\.nesting"):
            torch_pickle_tensors(payload)
        return
    with pytest.raises(LimitExceeded, match=limit.replace(".", r"\.")):
        load_torch_pickle(payload)


def test_inst_and_obj_are_refused_even_for_allowed_globals():
    with pytest.raises(FormatError, match=r"os\.system"):
        load_torch_pickle(b"(X\x01\x00\x00\x00xios\nsystem\n.")
    with pytest.raises(FormatError, match="INST"):
        load_torch_pickle(b"(itorch\nFloatStorage\n.")
    with pytest.raises(FormatError, match="OBJ"):
        load_torch_pickle(b"\x80\x02(ctorch\nFloatStorage\no.")


def test_zip_directory_lies_are_malformed():
    src = (FIXTURES / "gpt2_tiny.bin").read_bytes()
    i = src.rfind(b"PK\x05\x06")
    lying = bytearray(src)
    struct.pack_into("<HH", lying, i + 8, 60_000, 60_000)  # 60k entries in a directory of a few KB
    with pytest.raises(FormatError, match="entries in a"):
        parse_torch_zip(bytes(lying))
