"""Matching installed packages against advisories: pure, no database.

Rules (what the big scanners' users ask for):

- An operating system's package (``distribution`` set) matches only advisories of the
  same distribution AND release, by SOURCE package name, compared at the source version
  (the binary's when no source version is known). A bullseye advisory never matches a
  bookworm package, so a fix backported to one release is not reported against another.
- A language package matches advisories of its ecosystem without a distribution, by name:
  PyPI names normalised per PEP 503 (``Foo_Bar`` is ``foo-bar``), npm, Go and Maven
  (``GROUP:ARTIFACT``) names exactly (npm names are case-sensitive).
- A finding carries the version that fixes it, or None when no fix is known (unfixed);
  ``select_findings`` filters unfixed ones and low severities out.

An advisory whose own version data cannot be ordered (a malformed ``fixed`` version in a
feed) is logged and skipped, so that one bad record does not stop a scan; an installed
version that cannot be ordered raises ``InvalidVersion``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cargohold.scanner.advisory import Advisory
from cargohold.scanner.distributions import distribution_key, release_key
from cargohold.scanner.errors import InvalidVersion
from cargohold.scanner.severity import CvssScore, Severity
from cargohold.scanner.versions import Ecosystem, affected_by, listed_in, validate

__all__ = ["Finding", "InstalledPackage", "match", "normalize_name", "select_findings"]

log = logging.getLogger(__name__)

_PEP503_SEPARATORS = re.compile(r"[-_.]+")


@dataclass(frozen=True, slots=True)
class InstalledPackage:
    """A package found in an image.

    ``source_name`` and ``source_version`` are the source package an OS package was built
    from (dpkg's ``Source:``, apk's origin, the source RPM); ``distribution`` and
    ``release`` come from the image's os-release (``ID``; ``VERSION_CODENAME`` or
    ``VERSION_ID``) and are None for language packages.
    """

    ecosystem: Ecosystem
    name: str
    version: str
    source_name: str | None = None
    source_version: str | None = None
    distribution: str | None = None
    release: str | None = None

    @property
    def is_os_package(self) -> bool:
        """Whether this package belongs to an operating system's package manager."""
        return self.distribution is not None

    @property
    def matched_name(self) -> str:
        """The name advisories are matched by: the source package's for an OS package."""
        return (self.source_name or self.name) if self.is_os_package else self.name

    @property
    def matched_version(self) -> str:
        """The version advisories are evaluated at: the source's for an OS package."""
        return (self.source_version or self.version) if self.is_os_package else self.version


@dataclass(frozen=True, slots=True)
class Finding:
    """An installed package affected by an advisory.

    ``fixed_version`` is the first version that fixes it, None when unfixed.
    """

    package: InstalledPackage
    advisory_id: str
    aliases: tuple[str, ...]
    fixed_version: str | None
    severity: Severity
    cvss: CvssScore | None
    summary: str
    links: tuple[str, ...]
    source: str

    @property
    def is_fixed(self) -> bool:
        """Whether a version that fixes the vulnerability is known."""
        return self.fixed_version is not None


def normalize_name(ecosystem: Ecosystem, name: str) -> str:
    """A package name as ``ecosystem`` compares names: PEP 503 for PyPI, exact otherwise."""
    if ecosystem == Ecosystem.PYPI:
        return _PEP503_SEPARATORS.sub("-", name).lower()
    return name


def match(package: InstalledPackage, advisories: Iterable[Advisory]) -> list[Finding]:
    """The findings for ``package``: one per advisory id that affects it, in input order.

    Raises ``InvalidVersion`` if the package's own version is not valid in its ecosystem.
    """
    validate(package.ecosystem, package.matched_version)
    findings: dict[str, Finding] = {}
    for advisory in advisories:
        if advisory.id in findings or not _concerns(package, advisory):
            continue
        finding = _evaluate(package, advisory)
        if finding is not None:
            findings[advisory.id] = finding
    return list(findings.values())


def select_findings(
    findings: Iterable[Finding],
    *,
    include_unfixed: bool = True,
    min_severity: Severity = Severity.UNKNOWN,
) -> list[Finding]:
    """The findings a report shows: without unfixed ones if asked, at least ``min_severity``."""
    return [
        finding
        for finding in findings
        if (include_unfixed or finding.is_fixed) and finding.severity >= min_severity
    ]


def _concerns(package: InstalledPackage, advisory: Advisory) -> bool:
    """Whether ``advisory`` is about ``package`` (same package, same place), at any version."""
    if advisory.ecosystem != package.ecosystem:
        return False
    if advisory.is_os_advisory != package.is_os_package:
        return False
    if package.is_os_package and not _same_release(package, advisory):
        return False
    ecosystem = package.ecosystem
    return normalize_name(ecosystem, advisory.package) == normalize_name(
        ecosystem, package.matched_name
    )


def _same_release(package: InstalledPackage, advisory: Advisory) -> bool:
    if package.distribution is None or advisory.distribution is None:
        return False
    if package.release is None or advisory.release is None:
        return False
    distribution = distribution_key(package.distribution)
    if distribution != distribution_key(advisory.distribution):
        return False
    return release_key(distribution, package.release) == release_key(distribution, advisory.release)


def _evaluate(package: InstalledPackage, advisory: Advisory) -> Finding | None:
    version = package.matched_version
    try:
        listed = listed_in(package.ecosystem, version, advisory.versions)
        verdict = affected_by(package.ecosystem, version, advisory.ranges)
    except InvalidVersion as exc:
        log.warning(
            "advisory skipped: its versions cannot be ordered",
            extra={"advisory": advisory.id, "source": advisory.source, "error": str(exc)},
        )
        return None
    if not (verdict.affected or listed):
        return None
    return Finding(
        package=package,
        advisory_id=advisory.id,
        aliases=advisory.aliases,
        fixed_version=verdict.fixed,
        severity=advisory.severity,
        cvss=advisory.cvss,
        summary=advisory.summary,
        links=advisory.links,
        source=advisory.source,
    )
