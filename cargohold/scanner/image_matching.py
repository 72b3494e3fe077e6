"""From a stored ``ImageIndex`` to findings: which advisories to look up, and the findings
as the JSON that is stored per manifest. Pure: the caller fetches the advisories.

A finding is stored as ``{"package": <position in index.packages>, "id", "aliases",
"severity" (label), "cvss" ({version, vector, base_score} or null), "fixed_in" (null when
unfixed), "links", "summary", "source"}``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cargohold.scanner.advisory import Advisory
from cargohold.scanner.distributions import distribution_key, release_key
from cargohold.scanner.errors import InvalidVersion
from cargohold.scanner.indexer.model import ImageIndex, PackageKind
from cargohold.scanner.indexer.model import InstalledPackage as IndexedPackage
from cargohold.scanner.matching import Finding, InstalledPackage, match, normalize_name
from cargohold.scanner.versions import Ecosystem

__all__ = ["LookupKey", "finding_to_json", "lookup_key", "match_index", "matchable_packages"]

log = logging.getLogger(__name__)

ECOSYSTEM_OF_KIND = {
    PackageKind.DPKG: Ecosystem.DPKG,
    PackageKind.APK: Ecosystem.APK,
    PackageKind.RPM: Ecosystem.RPM,
    PackageKind.PYTHON: Ecosystem.PYPI,
    PackageKind.NPM: Ecosystem.NPM,
    PackageKind.GO: Ecosystem.GO,
    PackageKind.MAVEN: Ecosystem.MAVEN,
}
_OS_KINDS = frozenset({PackageKind.DPKG, PackageKind.APK, PackageKind.RPM})


@dataclass(frozen=True, slots=True)
class LookupKey:
    """What advisories are looked up by: (ecosystem, distribution, release, package), with
    distribution and release empty for language packages, the release as
    ``distributions.release_key`` spells it and the package normalised as
    ``matching.normalize_name`` does (the SOURCE package for OS packages)."""

    ecosystem: str
    distribution: str
    release: str
    package: str


def lookup_key(advisory: Advisory) -> LookupKey:
    """Where ``advisory`` is stored, and found."""
    distribution = distribution_key(advisory.distribution) if advisory.distribution else ""
    release = (
        release_key(distribution, advisory.release) if distribution and advisory.release else ""
    )
    return LookupKey(
        advisory.ecosystem.value,
        distribution,
        release,
        normalize_name(advisory.ecosystem, advisory.package),
    )


def matchable_packages(index: ImageIndex) -> list[tuple[int, InstalledPackage, LookupKey]]:
    """Each package of ``index`` that can be matched: its position, the matcher's view of
    it, and its lookup key. OS packages of an image without os-release are left out."""
    distribution = index.distribution
    result = []
    for position, package in enumerate(index.packages):
        if package.kind in _OS_KINDS:
            if distribution is None:
                continue
            release = distribution.version_codename or distribution.version_id
            installed = _os_package(package, distribution.id, release)
        else:
            installed = InstalledPackage(
                ECOSYSTEM_OF_KIND[package.kind], package.name, package.version
            )
        result.append((position, installed, _package_key(installed)))
    return result


def match_index(
    index: ImageIndex, advisories: Mapping[LookupKey, list[Advisory]]
) -> list[dict[str, Any]]:
    """The findings of every package of ``index`` against ``advisories`` (by lookup key),
    as stored JSON. A package whose version cannot be ordered is skipped (logged)."""
    findings: list[dict[str, Any]] = []
    for position, installed, key in matchable_packages(index):
        candidates = advisories.get(key)
        if not candidates:
            continue
        try:
            matched = match(installed, candidates)
        except InvalidVersion as exc:
            log.warning("package skipped: %s", exc)
            continue
        findings.extend(finding_to_json(position, finding) for finding in matched)
    return findings


def finding_to_json(position: int, finding: Finding) -> dict[str, Any]:
    """The stored form of ``finding`` for the package at ``position`` of the index."""
    cvss = finding.cvss
    return {
        "package": position,
        "id": finding.advisory_id,
        "aliases": list(finding.aliases),
        "severity": finding.severity.label,
        "cvss": (
            {"version": cvss.version, "vector": cvss.vector, "base_score": cvss.base_score}
            if cvss
            else None
        ),
        "fixed_in": finding.fixed_version,
        "links": list(finding.links),
        "summary": finding.summary,
        "source": finding.source,
    }


def _os_package(
    package: IndexedPackage, distribution: str, release: str | None
) -> InstalledPackage:
    return InstalledPackage(
        ECOSYSTEM_OF_KIND[package.kind],
        package.name,
        package.version,
        source_name=package.source_name,
        source_version=package.source_version,
        distribution=distribution,
        release=release,
    )


def _package_key(package: InstalledPackage) -> LookupKey:
    if package.distribution is None:
        return LookupKey(
            package.ecosystem.value, "", "", normalize_name(package.ecosystem, package.name)
        )
    distribution = distribution_key(package.distribution)
    release = release_key(distribution, package.release) if package.release else ""
    return LookupKey(
        package.ecosystem.value,
        distribution,
        release,
        normalize_name(package.ecosystem, package.matched_name),
    )
