"""OSV records (https://ossf.github.io/osv-schema/): one JSON document each, or a zip.

The fields read::

    {"id": "GHSA-wqvq-5m8c-6g24", "aliases": ["CVE-2020-26137"], "withdrawn": "...",
     "summary": "...", "details": "...",
     "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/..."}],
     "affected": [{"package": {"ecosystem": "PyPI", "name": "urllib3"},
                   "severity": [...],
                   "ranges": [{"type": "ECOSYSTEM",
                               "events": [{"introduced": "0"}, {"fixed": "1.25.9"}]}],
                   "versions": ["1.25.8", ...],
                   "ecosystem_specific": {...}, "database_specific": {...}}],
     "references": [{"type": "ADVISORY", "url": "..."}],
     "database_specific": {"severity": "MODERATE", ...}}

One ``Advisory`` per package of the ``affected`` entries whose ecosystem has a version
ordering here (PyPI, npm, Go, Maven, Debian, Ubuntu, Alpine and the RPM distributions);
other ecosystems, ``GIT`` ranges and withdrawn records are left out. Entries of the same
package are one advisory with all their ``ranges`` and ``versions`` (GitHub writes one
entry per fixed branch: log4j-core's 2.3.1, 2.12.2 and 2.15.0), with the first entry's
severity; an explicit ``versions`` list alone is enough (many Maven entries have no
ranges). Severity: a rating word of the database
(``database_specific.severity``, as GHSA writes it, or ``ecosystem_specific.severity``)
wins; otherwise the CVSS score's rating; otherwise an ``Ubuntu`` priority; otherwise
Unknown. The CVSS score comes from the vector: v3.x first, then v4.0, then v2, with the
package's own ``severity`` before the record's.
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cargohold.scanner.advisory import Advisory
from cargohold.scanner.distributions import release_key
from cargohold.scanner.errors import FeedError
from cargohold.scanner.feeds.json_document import load_object, object_field
from cargohold.scanner.severity import (
    CvssScore,
    InvalidCvssVector,
    Severity,
    cvss_score,
    severity_from_word,
)
from cargohold.scanner.versions import (
    Ecosystem,
    EventKind,
    RangeEvent,
    RangeType,
    VersionRange,
)

__all__ = [
    "FEED",
    "OsvPackageScope",
    "osv_package_scope",
    "parse_osv_documents",
    "parse_osv_record",
    "parse_osv_zip",
]

FEED = "osv"

_LANGUAGE_ECOSYSTEMS = {
    "PyPI": Ecosystem.PYPI,
    "npm": Ecosystem.NPM,
    "Go": Ecosystem.GO,
    "Maven": Ecosystem.MAVEN,
}
_DISTRIBUTIONS = {
    "Debian": ("debian", Ecosystem.DPKG),
    "Ubuntu": ("ubuntu", Ecosystem.DPKG),
    "Alpine": ("alpine", Ecosystem.APK),
    "Red Hat": ("rhel", Ecosystem.RPM),
    "Rocky Linux": ("rocky", Ecosystem.RPM),
    "AlmaLinux": ("almalinux", Ecosystem.RPM),
}
_CVSS_PREFERENCE = ("CVSS_V3", "CVSS_V4", "CVSS_V2")


@dataclass(frozen=True, slots=True)
class OsvPackageScope:
    """Where an OSV ``package.ecosystem`` string points: version scheme, and for a
    distribution its os-release ``ID`` and release key."""

    ecosystem: Ecosystem
    distribution: str | None = None
    release: str | None = None


def osv_package_scope(osv_ecosystem: str) -> OsvPackageScope | None:
    """Read an OSV ecosystem string (``PyPI``, ``Debian:12``, ``Alpine:v3.19``,
    ``Ubuntu:22.04:LTS``); None where cargohold has no version ordering for it."""
    if osv_ecosystem in _LANGUAGE_ECOSYSTEMS:
        return OsvPackageScope(_LANGUAGE_ECOSYSTEMS[osv_ecosystem])
    name, _, qualifier = osv_ecosystem.partition(":")
    if name not in _DISTRIBUTIONS:
        return None
    distribution, ecosystem = _DISTRIBUTIONS[name]
    release = _release_of(distribution, qualifier)
    return OsvPackageScope(ecosystem, distribution, release)


def _release_of(distribution: str, qualifier: str) -> str | None:
    if distribution == "ubuntu":
        # "22.04:LTS", "Pro:18.04:LTS": the release is the part that is a number.
        qualifier = next((part for part in qualifier.split(":") if part[:1].isdigit()), "")
    return release_key(distribution, qualifier) if qualifier else None


def parse_osv_record(data: bytes) -> list[Advisory]:
    """Parse one OSV JSON record; ``FeedError`` if it is not in the schema's shape."""
    record = load_object(FEED, data)
    return _record_advisories(record)


def parse_osv_documents(documents: Iterable[bytes]) -> list[Advisory]:
    """Parse many OSV JSON records (the files of a folder, read by the caller)."""
    advisories: list[Advisory] = []
    for document in documents:
        advisories.extend(parse_osv_record(document))
    return advisories


def parse_osv_zip(data: bytes) -> list[Advisory]:
    """Parse a zip of OSV JSON records, as OSV publishes each ecosystem (``all.zip``)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = [name for name in archive.namelist() if name.endswith(".json")]
            return parse_osv_documents(archive.read(name) for name in names)
    except zipfile.BadZipFile as exc:
        raise FeedError(FEED, f"not a zip archive: {exc}") from exc


def _record_advisories(record: dict[str, Any]) -> list[Advisory]:
    record_id = record.get("id")
    if not isinstance(record_id, str) or not record_id:
        raise FeedError(FEED, "a record without an id")
    if record.get("withdrawn"):
        return []
    affected = record.get("affected", [])
    if affected is None:
        affected = []
    if not isinstance(affected, list):
        raise FeedError(FEED, f"{record_id}: affected is not a list")
    by_package: dict[tuple[Ecosystem, str | None, str | None, str], Advisory] = {}
    for entry in affected:
        if not isinstance(entry, dict):
            raise FeedError(FEED, f"{record_id}: an affected entry is not an object")
        advisory = _affected_advisory(record, record_id, entry)
        if advisory is None:
            continue
        package = (advisory.ecosystem, advisory.distribution, advisory.release, advisory.package)
        earlier = by_package.get(package)
        by_package[package] = advisory if earlier is None else _merged(earlier, advisory)
    return list(by_package.values())


def _merged(earlier: Advisory, later: Advisory) -> Advisory:
    """One advisory for two ``affected`` entries of the same package: a version is
    affected if either entry says so (OSV), and the store keeps one row per package."""
    versions = earlier.versions + tuple(v for v in later.versions if v not in earlier.versions)
    return dataclasses.replace(earlier, ranges=earlier.ranges + later.ranges, versions=versions)


def _affected_advisory(
    record: dict[str, Any], record_id: str, entry: dict[str, Any]
) -> Advisory | None:
    package = object_field(FEED, entry, "package")
    scope = osv_package_scope(str(package.get("ecosystem", "")))
    name = package.get("name")
    if scope is None or not isinstance(name, str) or not name:
        return None
    ranges = _ranges(record_id, entry.get("ranges") or [])
    versions = tuple(str(version) for version in entry.get("versions") or [])
    if not ranges and not versions:
        return None
    cvss = _best_cvss([*_severity_list(entry), *_severity_list(record)])
    return Advisory(
        id=record_id,
        aliases=tuple(str(alias) for alias in record.get("aliases") or []),
        ecosystem=scope.ecosystem,
        package=name,
        ranges=ranges,
        versions=versions,
        source=FEED,
        distribution=scope.distribution,
        release=scope.release,
        severity=_severity(record, entry, cvss),
        cvss=cvss,
        summary=_summary(record),
        links=_links(record),
    )


def _ranges(record_id: str, raw_ranges: Any) -> tuple[VersionRange, ...]:
    if not isinstance(raw_ranges, list):
        raise FeedError(FEED, f"{record_id}: ranges is not a list")
    ranges = []
    for raw in raw_ranges:
        if not isinstance(raw, dict):
            raise FeedError(FEED, f"{record_id}: a range is not an object")
        if raw.get("type") not in (RangeType.ECOSYSTEM, RangeType.SEMVER):
            continue  # GIT ranges need the repository's commit graph.
        ranges.append(VersionRange(RangeType(raw["type"]), _events(record_id, raw)))
    return tuple(ranges)


def _events(record_id: str, raw_range: dict[str, Any]) -> tuple[RangeEvent, ...]:
    events = []
    for raw in raw_range.get("events") or []:
        if not isinstance(raw, dict) or len(raw) != 1:
            raise FeedError(FEED, f"{record_id}: an event must hold exactly one field")
        ((kind, version),) = raw.items()
        if kind not in EventKind.__members__.values():
            raise FeedError(FEED, f"{record_id}: unknown event {kind!r}")
        events.append(RangeEvent(EventKind(kind), str(version)))
    return tuple(events)


def _severity_list(holder: dict[str, Any]) -> list[dict[str, Any]]:
    entries = holder.get("severity") or []
    if not isinstance(entries, list):
        return []
    return [entry for entry in entries if isinstance(entry, dict)]


def _best_cvss(entries: list[dict[str, Any]]) -> CvssScore | None:
    for wanted in _CVSS_PREFERENCE:
        for entry in entries:
            if entry.get("type") != wanted or not isinstance(entry.get("score"), str):
                continue
            try:
                return cvss_score(entry["score"])
            except InvalidCvssVector:
                continue  # A malformed vector rates nothing; a later one may.
    return None


def _severity(record: dict[str, Any], entry: dict[str, Any], cvss: CvssScore | None) -> Severity:
    for holder in (entry, record):
        for field in ("database_specific", "ecosystem_specific"):
            specific = holder.get(field)
            if isinstance(specific, dict) and isinstance(specific.get("severity"), str):
                word = severity_from_word(specific["severity"])
                if word is not Severity.UNKNOWN:
                    return word
    if cvss is not None:
        return cvss.severity
    for severity in [*_severity_list(entry), *_severity_list(record)]:
        if severity.get("type") == "Ubuntu" and isinstance(severity.get("score"), str):
            return severity_from_word(severity["score"])
    return Severity.UNKNOWN


def _summary(record: dict[str, Any]) -> str:
    summary = record.get("summary") or record.get("details") or ""
    return str(summary).strip()


def _links(record: dict[str, Any]) -> tuple[str, ...]:
    references = record.get("references") or []
    if not isinstance(references, list):
        return ()
    return tuple(
        str(reference["url"])
        for reference in references
        if isinstance(reference, dict) and reference.get("url")
    )
