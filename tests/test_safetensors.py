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


def test_limits_carry_too_large_and_name_the_limit():
    from cardscan.errors import ErrorCode
    from cardscan.parse.limits import LimitExceeded

    with pytest.raises(LimitExceeded, match=r"safetensors\.header_bytes") as info:
        header_length(struct.pack("<Q", 1 << 63))
    assert info.value.code is ErrorCode.TOO_LARGE and isinstance(info.value, FormatError)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"w":' + b"[" * 5000 + b"]" * 5000 + b"}", r"json\.depth"),
        (b'{"__metadata__":{"a":' + b"[" * 50 + b"]" * 50 + b"}}", r"json\.depth"),
        (b'{"w":{"dtype":"U8","shape":[' + b"1" * 30 + b'],"data_offsets":[0,1]}}', r"json\.int_digits"),
        (b'{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{}}', "twice"),
        (b'{"w":{"dtype":["U8"],"shape":[1],"data_offsets":[0,1]}}', "unknown dtype"),
        (b'{"w":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,18446744073709551616]}}', "int64"),
        (b'{"w":{"dtype":"U8","shape":[Infinity],"data_offsets":[0,1]}}', "not JSON"),
        (b'{"w":[}', "JSON"),
    ],
)
def test_hostile_headers_are_format_errors(raw, message):
    with pytest.raises(FormatError, match=message):
        parse_header(struct.pack("<Q", len(raw)) + raw)


def test_empty_tensors_share_an_offset_with_the_next():
    import json

    raw = json.dumps(
        {
            "b": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]},
            "a": {"dtype": "F16", "shape": [0], "data_offsets": [0, 0]},
        }
    ).encode()
    h = parse_header(struct.pack("<Q", len(raw)) + raw)
    assert [t.name for t in h.tensors] == ["a", "b"] and h.data_bytes == 4


def test_entries_with_extra_keys_are_tolerated():
    import json

    raw = json.dumps({"w": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2], "extra": 1}}).encode()
    assert parse_header(struct.pack("<Q", len(raw)) + raw).tensors[0].nbytes == 2
