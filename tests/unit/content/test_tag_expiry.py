"""``cargohold.expires-after`` values: what parses, and what is ignored."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cargohold.content.tag_expiry import parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("30m", timedelta(minutes=30)),
        ("12h", timedelta(hours=12)),
        ("3d", timedelta(days=3)),
        ("2w", timedelta(weeks=2)),
        (" 2w ", timedelta(weeks=2)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "2", "w", "2y", "2W", "-1d", "1.5h", "2w3d", "0s", "9999w", "999999999w"]
)
def test_what_is_not_a_duration(text: str) -> None:
    assert parse_duration(text) is None
