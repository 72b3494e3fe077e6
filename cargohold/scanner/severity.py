"""One severity scale for every advisory source, and CVSS base scores.

``Severity`` is ordered (``Severity.LOW < Severity.HIGH``). Each source's words map onto
it here and nowhere else:

====================  ===================================================================
Debian tracker        ``unimportant`` Negligible, ``low``/``medium``/``high`` as named
urgency               (a trailing ``*``/``**``, the tracker's "guessed", is ignored);
                      ``not yet assigned``, ``end-of-life`` and anything else Unknown
GHSA (OSV's           ``LOW``, ``MODERATE`` Medium, ``HIGH``, ``CRITICAL``
database_specific)
Ubuntu priority       ``negligible``, ``low``, ``medium``, ``high``, ``critical``;
                      ``untriaged`` Unknown
CVSS base score       0.0 Negligible (CVSS's "None"), 0.1-3.9 Low, 4.0-6.9 Medium,
                      7.0-8.9 High, 9.0-10.0 Critical
====================  ===================================================================

Base scores are computed from the vector with the ``cvss`` library (CVSS v2, v3.0, v3.1
and v4.0), never taken from a number a feed states beside it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

from cargohold.scanner.errors import ScannerError

__all__ = [
    "CvssScore",
    "InvalidCvssVector",
    "Severity",
    "cvss_score",
    "severity_from_cvss",
    "severity_from_debian_urgency",
    "severity_from_word",
]


class Severity(enum.IntEnum):
    """How bad a vulnerability is, from Unknown (no one said) to Critical."""

    UNKNOWN = 0
    NEGLIGIBLE = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4
    CRITICAL = 5

    @property
    def label(self) -> str:
        """The name people read: ``Unknown``, ``Negligible``, ... ``Critical``."""
        return self.name.capitalize()


class InvalidCvssVector(ScannerError):
    """A CVSS vector string that its version's specification does not allow."""

    def __init__(self, vector: str, reason: str) -> None:
        super().__init__(f"invalid CVSS vector {vector!r}: {reason}")
        self.vector = vector


@dataclass(frozen=True, slots=True)
class CvssScore:
    """A CVSS vector, its specification version (``2.0``, ``3.0``, ``3.1``, ``4.0``) and
    the base score computed from it."""

    version: str
    vector: str
    base_score: float

    @property
    def severity(self) -> Severity:
        """The qualitative rating of the base score."""
        return severity_from_cvss(self.base_score)


_WORDS = {
    "unimportant": Severity.NEGLIGIBLE,
    "negligible": Severity.NEGLIGIBLE,
    "none": Severity.NEGLIGIBLE,
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "moderate": Severity.MEDIUM,
    "high": Severity.HIGH,
    "important": Severity.HIGH,
    "critical": Severity.CRITICAL,
}


def severity_from_word(word: str | None) -> Severity:
    """Map a severity word (GHSA, Ubuntu priority, Red Hat impact; any case) to the scale.

    Words that do not rate (``untriaged``, ``unknown``, empty, None) are Unknown.
    """
    if not word:
        return Severity.UNKNOWN
    return _WORDS.get(word.strip().lower(), Severity.UNKNOWN)


def severity_from_debian_urgency(urgency: str | None) -> Severity:
    """Map a Debian security tracker urgency to the scale.

    ``unimportant`` is Negligible; ``not yet assigned`` and ``end-of-life`` (the release is
    not supported for that package) are Unknown; the tracker's ``*`` marks are ignored.
    """
    if not urgency:
        return Severity.UNKNOWN
    word = urgency.strip().rstrip("*").strip().lower()
    if word not in ("unimportant", "low", "medium", "high"):
        return Severity.UNKNOWN
    return _WORDS[word]


def severity_from_cvss(base_score: float) -> Severity:
    """The CVSS qualitative rating of a base score, 0.0 to 10.0."""
    if base_score >= 9.0:
        return Severity.CRITICAL
    if base_score >= 7.0:
        return Severity.HIGH
    if base_score >= 4.0:
        return Severity.MEDIUM
    if base_score > 0.0:
        return Severity.LOW
    return Severity.NEGLIGIBLE


def cvss_score(vector: str) -> CvssScore:
    """Compute the base score of a CVSS v2, v3.x or v4.0 vector string.

    The version is read from the vector's prefix (``CVSS:3.1/``, ``CVSS:4.0/``; none for
    v2). Raises ``InvalidCvssVector`` if the vector is malformed or misses a base metric.
    """
    text = vector.strip()
    try:
        if text.startswith("CVSS:4."):
            return CvssScore("4.0", text, float(CVSS4(text).base_score))
        if text.startswith("CVSS:3."):
            return CvssScore(text[5:8], text, float(CVSS3(text).base_score))
        return CvssScore("2.0", text, float(CVSS2(text).base_score))
    except CVSSError as exc:
        raise InvalidCvssVector(vector, str(exc) or type(exc).__name__) from exc
