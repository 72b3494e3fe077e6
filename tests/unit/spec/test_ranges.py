"""Content-Range of upload chunks and Range of blob downloads."""

from __future__ import annotations

import pytest

from cargohold.errors import RangeInvalid
from cargohold.spec.ranges import parse_content_range, parse_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("0-1023", (0, 1023)),
        ("1024-2047", (1024, 2047)),
        ("5-5", (5, 5)),
        (" 0-0 ", (0, 0)),
        ("bytes=0-1023", (0, 1023)),
        ("bytes 0-1023/*", (0, 1023)),
        ("bytes 0-1023/4096", (0, 1023)),
        ("Bytes 10-20/*", (10, 20)),
        ("9999999999999-10000000000000", (9999999999999, 10000000000000)),
    ],
)
def test_chunk_content_range(header: str, expected: tuple[int, int]) -> None:
    assert parse_content_range(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        "",
        "0-",
        "-5",
        "abc",
        "1-2-3",
        "0x1-2",
        "+1-2",
        "\uff11-\uff12",  # full-width digits
        "bytes=0-1,2-3",
        "bytes */1024",
        "items 0-1",
        "1" * 20 + "-" + "1" * 20,
        "9" * 5000 + "-" + "9" * 5000,
    ],
)
def test_malformed_chunk_content_range(header: str) -> None:
    with pytest.raises(RangeInvalid, match="not of the form <start>-<end>"):
        parse_content_range(header)


def test_chunk_content_range_ending_before_it_starts() -> None:
    with pytest.raises(RangeInvalid, match="ends before it starts") as caught:
        parse_content_range("100-99")
    assert caught.value.code == "RANGE_INVALID"


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-99", 1000, (0, 99)),
        ("bytes=0-0", 1000, (0, 0)),
        ("bytes=0-", 1000, (0, 999)),
        ("bytes=500-", 1000, (500, 999)),
        ("bytes=999-999", 1000, (999, 999)),
        ("bytes=0-5000", 1000, (0, 999)),
        ("bytes=-100", 1000, (900, 999)),
        ("bytes=-1", 1000, (999, 999)),
        ("bytes=-2000", 1000, (0, 999)),
        ("Bytes = 1-2", 10, (1, 2)),
        ("bytes=0-", 1, (0, 0)),
    ],
)
def test_single_range(header: str, size: int, expected: tuple[int, int]) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    "header",
    [
        "bytes=0-1,5-6",
        "bytes=0-1, -5",
        "items=0-5",
        "0-5",
        "bytes=",
        "bytes=-",
        "bytes=abc",
        "bytes=5-4",
        "bytes 0-5",
        "bytes=" + "9" * 5000 + "-",
        "",
    ],
)
def test_not_a_single_bytes_range_means_the_whole_body(header: str) -> None:
    assert parse_range(header, 1000) is None


@pytest.mark.parametrize(
    ("header", "size"),
    [
        ("bytes=1000-", 1000),
        ("bytes=1000-2000", 1000),
        ("bytes=5000-6000", 1000),
        ("bytes=-0", 1000),
        ("bytes=0-", 0),
        ("bytes=0-0", 0),
        ("bytes=-5", 0),
    ],
)
def test_unsatisfiable_range(header: str, size: int) -> None:
    with pytest.raises(RangeInvalid) as caught:
        parse_range(header, size)
    assert repr(header) in caught.value.message
