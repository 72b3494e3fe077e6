"""The typed advisory record every feed parser produces and the matcher consumes."""

from __future__ import annotations

from dataclasses import dataclass

from cargohold.scanner.severity import CvssScore, Severity
from cargohold.scanner.versions import (
    Ecosystem,
    EventKind,
    RangeEvent,
    RangeType,
    VersionRange,
)

__all__ = ["Advisory", "fixed_range", "unfixed_range"]


@dataclass(frozen=True, slots=True)
class Advisory:
    """One vulnerability as it affects one package of one ecosystem (and, for an operating
    system's packages, one distribution release).

    - ``id``: the feed's identifier (``CVE-2023-4911``, ``GHSA-wqvq-5m8c-6g24``);
      ``aliases`` its other names.
    - ``ecosystem``: the version scheme of ``package``'s versions.
    - ``distribution``, ``release``: for an operating system's packages, the os-release
      ``ID`` and the release as ``distributions.release_key`` spells it (``debian``,
      ``bookworm``); both None for language packages. An OS advisory whose feed names no
      release has ``release`` None and matches no installed package.
    - ``package``: for OS feeds the SOURCE package name (``glibc``, not ``libc6``);
      otherwise the package name as the feed spells it.
    - ``ranges``, ``versions``: the affected versions, as OSV defines them. OS feeds give
      one range: introduced ``0`` and fixed at the fixed version, or no fixed event when
      the vulnerability is not fixed in that release.
    - ``severity``, ``cvss``: the normalised severity and the CVSS score where the feed
      has a vector.
    - ``source``: which feed said so (``debian-security-tracker``, ``alpine-secdb``,
      ``osv``).
    """

    id: str
    ecosystem: Ecosystem
    package: str
    ranges: tuple[VersionRange, ...]
    source: str
    aliases: tuple[str, ...] = ()
    distribution: str | None = None
    release: str | None = None
    versions: tuple[str, ...] = ()
    severity: Severity = Severity.UNKNOWN
    cvss: CvssScore | None = None
    summary: str = ""
    links: tuple[str, ...] = ()

    @property
    def is_os_advisory(self) -> bool:
        """Whether this advisory is about a distribution's package (matched by release)."""
        return self.distribution is not None


def fixed_range(fixed_version: str) -> VersionRange:
    """Every version before ``fixed_version`` is affected."""
    return VersionRange(
        RangeType.ECOSYSTEM,
        (RangeEvent(EventKind.INTRODUCED, "0"), RangeEvent(EventKind.FIXED, fixed_version)),
    )


def unfixed_range() -> VersionRange:
    """Every version is affected; no fix is known."""
    return VersionRange(RangeType.ECOSYSTEM, (RangeEvent(EventKind.INTRODUCED, "0"),))
