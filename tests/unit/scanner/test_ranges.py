"""OSV range evaluation, as the schema's pseudocode defines it."""

from __future__ import annotations

import pytest

from cargohold.scanner.errors import InvalidVersion
from cargohold.scanner.versions import (
    Ecosystem,
    EventKind,
    RangeEvent,
    RangeType,
    RangeVerdict,
    VersionRange,
    affected_by,
    is_affected,
)

INTRO, FIX, LAST, LIMIT = (
    EventKind.INTRODUCED,
    EventKind.FIXED,
    EventKind.LAST_AFFECTED,
    EventKind.LIMIT,
)


def ecosystem_range(*events: tuple[EventKind, str]) -> VersionRange:
    return VersionRange(RangeType.ECOSYSTEM, tuple(RangeEvent(k, v) for k, v in events))


def semver_range(*events: tuple[EventKind, str]) -> VersionRange:
    return VersionRange(RangeType.SEMVER, tuple(RangeEvent(k, v) for k, v in events))


URLLIB3 = ecosystem_range((INTRO, "0"), (FIX, "1.25.9"))
TWO_BRANCHES = semver_range((INTRO, "1.0.0"), (FIX, "1.0.2"), (INTRO, "3.0.0"), (FIX, "3.2.5"))
UNSORTED = semver_range((FIX, "3.2.5"), (INTRO, "3.0.0"), (FIX, "1.0.2"), (INTRO, "1.0.0"))
LAST_AFFECTED = ecosystem_range((INTRO, "0"), (LAST, "2.1.214"))
LIMITED = semver_range((INTRO, "1.0.0"), (LIMIT, "2.0.0"))
UNFIXED = ecosystem_range(
    (INTRO, "0"),
)


@pytest.mark.parametrize(
    ("ecosystem", "version", "version_range", "verdict"),
    [
        (Ecosystem.PYPI, "1.25.8", URLLIB3, RangeVerdict(True, "1.25.9")),
        (Ecosystem.PYPI, "1.25.9", URLLIB3, RangeVerdict(False)),
        (Ecosystem.PYPI, "1.25.10", URLLIB3, RangeVerdict(False)),
        (Ecosystem.PYPI, "1.25.9rc1", URLLIB3, RangeVerdict(True, "1.25.9")),
        (Ecosystem.PYPI, "0.1", URLLIB3, RangeVerdict(True, "1.25.9")),
        (Ecosystem.NPM, "0.9.0", TWO_BRANCHES, RangeVerdict(False)),
        (Ecosystem.NPM, "1.0.0", TWO_BRANCHES, RangeVerdict(True, "1.0.2")),
        (Ecosystem.NPM, "1.0.2", TWO_BRANCHES, RangeVerdict(False)),
        (Ecosystem.NPM, "2.9.9", TWO_BRANCHES, RangeVerdict(False)),
        (Ecosystem.NPM, "3.1.0", TWO_BRANCHES, RangeVerdict(True, "3.2.5")),
        (Ecosystem.NPM, "3.1.0", UNSORTED, RangeVerdict(True, "3.2.5")),
        (Ecosystem.NPM, "1.0.1", UNSORTED, RangeVerdict(True, "1.0.2")),
        (Ecosystem.NPM, "3.2.5", UNSORTED, RangeVerdict(False)),
        (Ecosystem.PYPI, "2.1.214", LAST_AFFECTED, RangeVerdict(True, None)),
        (Ecosystem.PYPI, "2.1.215", LAST_AFFECTED, RangeVerdict(False)),
        (Ecosystem.GO, "v1.5.0", LIMITED, RangeVerdict(True, None)),
        (Ecosystem.GO, "v2.0.0", LIMITED, RangeVerdict(False)),
        (Ecosystem.DPKG, "2.36-9+deb12u2", UNFIXED, RangeVerdict(True, None)),
        (
            Ecosystem.DPKG,
            "2.36-9+deb12u2",
            ecosystem_range((INTRO, "0"), (FIX, "2.36-9+deb12u3")),
            RangeVerdict(True, "2.36-9+deb12u3"),
        ),
        (
            Ecosystem.APK,
            "3.1.4-r0",
            ecosystem_range((INTRO, "0"), (FIX, "3.1.4-r0")),
            RangeVerdict(False),
        ),
    ],
)
def test_range_verdicts(
    ecosystem: Ecosystem, version: str, version_range: VersionRange, verdict: RangeVerdict
) -> None:
    assert affected_by(ecosystem, version, [version_range]) == verdict


def test_a_limit_of_star_is_infinity() -> None:
    star = semver_range((INTRO, "1.0.0"), (LIMIT, "*"))
    assert affected_by(Ecosystem.NPM, "99.0.0", [star]).affected


def test_the_versions_list_counts_as_affected() -> None:
    assert is_affected(Ecosystem.PYPI, "1.25.8", [], ["1.25.7", "1.25.8"])
    assert is_affected(Ecosystem.PYPI, "1.25.8.0", [], ["1.25.8"])
    assert not is_affected(Ecosystem.PYPI, "1.25.9", [], ["1.25.8", "not a version"])


def test_an_invalid_event_version_raises() -> None:
    broken = ecosystem_range((INTRO, "0"), (FIX, "not a version"))
    with pytest.raises(InvalidVersion):
        affected_by(Ecosystem.PYPI, "1.0", [broken])
