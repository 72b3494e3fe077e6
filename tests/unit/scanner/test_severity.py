"""The one severity scale, and CVSS base scores computed from vectors."""

from __future__ import annotations

import pytest

from cargohold.scanner.severity import (
    InvalidCvssVector,
    Severity,
    cvss_score,
    severity_from_cvss,
    severity_from_debian_urgency,
    severity_from_word,
)


def test_severities_are_ordered() -> None:
    assert sorted(Severity, reverse=True)[0] is Severity.CRITICAL
    assert Severity.UNKNOWN < Severity.NEGLIGIBLE < Severity.LOW < Severity.MEDIUM
    assert Severity.MEDIUM < Severity.HIGH < Severity.CRITICAL
    assert [s.label for s in Severity] == [
        "Unknown", "Negligible", "Low", "Medium", "High", "Critical"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("urgency", "severity"),
    [
        ("unimportant", Severity.NEGLIGIBLE),
        ("low", Severity.LOW),
        ("low*", Severity.LOW),
        ("medium", Severity.MEDIUM),
        ("medium**", Severity.MEDIUM),
        ("high", Severity.HIGH),
        ("not yet assigned", Severity.UNKNOWN),
        ("end-of-life", Severity.UNKNOWN),
        ("", Severity.UNKNOWN),
        (None, Severity.UNKNOWN),
    ],
)
def test_debian_urgencies(urgency: str | None, severity: Severity) -> None:
    assert severity_from_debian_urgency(urgency) is severity


@pytest.mark.parametrize(
    ("word", "severity"),
    [
        ("LOW", Severity.LOW),
        ("MODERATE", Severity.MEDIUM),
        ("HIGH", Severity.HIGH),
        ("CRITICAL", Severity.CRITICAL),
        ("negligible", Severity.NEGLIGIBLE),
        ("medium", Severity.MEDIUM),
        ("untriaged", Severity.UNKNOWN),
        (None, Severity.UNKNOWN),
    ],
)
def test_rating_words(word: str | None, severity: Severity) -> None:
    assert severity_from_word(word) is severity


@pytest.mark.parametrize(
    ("score", "severity"),
    [
        (0.0, Severity.NEGLIGIBLE),
        (0.1, Severity.LOW),
        (3.9, Severity.LOW),
        (4.0, Severity.MEDIUM),
        (6.9, Severity.MEDIUM),
        (7.0, Severity.HIGH),
        (8.9, Severity.HIGH),
        (9.0, Severity.CRITICAL),
        (10.0, Severity.CRITICAL),
    ],
)
def test_cvss_qualitative_ratings(score: float, severity: Severity) -> None:
    assert severity_from_cvss(score) is severity


@pytest.mark.parametrize(
    ("vector", "version", "base_score"),
    [
        # CVE-2020-26137 (urllib3), as NVD and GHSA-wqvq-5m8c-6g24 score it.
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N", "3.1", 6.5),
        # CVE-2019-10744 (lodash), GHSA-jf85-cpcp-j695.
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:H", "3.1", 9.1),
        ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "3.0", 9.8),
        ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", "3.1", 7.8),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "4.0", 9.3),
        ("AV:N/AC:L/Au:N/C:P/I:P/A:P", "2.0", 7.5),
    ],
)
def test_cvss_base_scores(vector: str, version: str, base_score: float) -> None:
    score = cvss_score(vector)
    assert (score.version, score.vector, score.base_score) == (version, vector, base_score)


@pytest.mark.parametrize("vector", ["CVSS:3.1/AV:N", "CVSS:4.0/AV:N", "garbage", ""])
def test_malformed_cvss_vectors_raise(vector: str) -> None:
    with pytest.raises(InvalidCvssVector):
        cvss_score(vector)
