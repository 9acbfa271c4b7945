import struct

import pytest

from cardscan.errors import FormatError
from cardscan.parse.safetensors import header_length, parse_header
from tests.st_builder import header_bytes


def test_parses_tensors_metadata_and_layout():
    raw = header_bytes({"a.weight": ("BF16", [4, 8]), "b.bias": ("F32", [8]), "s": ("F32", [])}, {"format": "pt"})
    h = parse_header(raw)
    assert h.metadata == {"format": "pt"}
    by_name = {t.name: t for t in h.tensors}
    assert by_name["a.weight"].nbytes == 64 and by_name["a.weight"].shape == (4, 8)
    assert by_name["s"].numel == 1 and by_name["s"].nbytes == 4
    assert h.data_bytes == 64 + 32 + 4


def test_sub_byte_dtypes_round_up():
    h = parse_header(header_bytes({"w": ("F4", [3, 3])}))
    assert h.tensors[0].nbytes == 5  # 9 nibbles


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"dtype": "Q4", "shape": [1], "data_offsets": [0, 1]}, "unknown dtype"),
        ({"dtype": "F16", "shape": [-1], "data_offsets": [0, 2]}, "shape"),
        ({"dtype": "F16", "shape": [2], "data_offsets": [0, 2]}, "needs 4"),
        ({"dtype": "F16", "shape": [1], "data_offsets": [2, 4]}, "hole"),
        ({"dtype": "F16", "shape": [1], "data_offsets": [0]}, "data_offsets"),
    ],
)
def test_rejects_bad_entries(entry, message):
    import json

    raw = json.dumps({"t": entry}).encode()
    with pytest.raises(FormatError, match=message):
        parse_header(struct.pack("<Q", len(raw)) + raw)


def test_rejects_overlap_and_non_json():
    import json

    raw = json.dumps(
        {
            "a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
            "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]},
        }
    ).encode()
    with pytest.raises(FormatError, match="overlaps"):
        parse_header(struct.pack("<Q", len(raw)) + raw)
    with pytest.raises(FormatError, match="JSON"):
        parse_header(struct.pack("<Q", 4) + b"\xff\xfe{}")
    with pytest.raises(FormatError, match="object"):
        parse_header(struct.pack("<Q", 2) + b"[]")


def test_length_checks():
    with pytest.raises(FormatError, match="too small"):
        header_length(b"\x01\x02")
    with pytest.raises(FormatError, match="limit"):
        header_length(struct.pack("<Q", 200_000_000))
    with pytest.raises(FormatError, match="truncated"):
        parse_header(struct.pack("<Q", 100) + b"{}")


def test_file_size_must_cover_data():
    raw = header_bytes({"w": ("F16", [1024])})
    parse_header(raw, file_size=len(raw) + 2048)
    with pytest.raises(FormatError, match="file holds"):
        parse_header(raw, file_size=len(raw) + 100)
