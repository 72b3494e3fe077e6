"""Feed parsers, on hand-written documents in the real feeds' shapes with real advisories."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from cargohold.scanner.advisory import Advisory, fixed_range, unfixed_range
from cargohold.scanner.errors import FeedError
from cargohold.scanner.feeds.alpine import parse_alpine_secdb
from cargohold.scanner.feeds.debian import parse_debian_tracker
from cargohold.scanner.feeds.osv import (
    OsvPackageScope,
    osv_package_scope,
    parse_osv_documents,
    parse_osv_record,
    parse_osv_zip,
)
from cargohold.scanner.severity import Severity
from cargohold.scanner.versions import (
    Ecosystem,
    EventKind,
    RangeEvent,
    RangeType,
    VersionRange,
)

DATA = Path(__file__).parent / "data"
OSV = DATA / "osv"


def by_key(advisories: list[Advisory]) -> dict[tuple[str, str, str | None], Advisory]:
    return {(a.package, a.id, a.release): a for a in advisories}


# Debian security tracker ---------------------------------------------------------------


def test_debian_tracker_advisories_per_release() -> None:
    advisories = by_key(parse_debian_tracker((DATA / "debian_tracker.json").read_bytes()))
    assert set(advisories) == {
        ("glibc", "CVE-2023-4911", "bookworm"),
        ("glibc", "CVE-2023-4911", "sid"),
        ("glibc", "CVE-2010-4756", "bookworm"),
        ("glibc", "CVE-2010-4756", "bullseye"),
        ("sudo", "CVE-2021-3156", "buster"),
        ("sudo", "CVE-2021-3156", "bullseye"),
        ("util-linux", "CVE-2022-0563", "bookworm"),
        ("xz-utils", "CVE-2024-3094", "sid"),
    }, "fixed_version 0 (glibc in bullseye, xz-utils in bookworm: not affected) gives none"
    looney_tunables = advisories["glibc", "CVE-2023-4911", "bookworm"]
    assert looney_tunables.ecosystem is Ecosystem.DPKG
    assert looney_tunables.distribution == "debian"
    assert looney_tunables.ranges == (fixed_range("2.36-9+deb12u3"),)
    assert looney_tunables.severity is Severity.UNKNOWN
    assert looney_tunables.summary.startswith("A buffer overflow was discovered")
    assert looney_tunables.links == ("https://security-tracker.debian.org/tracker/CVE-2023-4911",)
    assert looney_tunables.source == "debian-security-tracker"


def test_debian_open_issue_is_unfixed_with_its_urgency() -> None:
    advisories = by_key(parse_debian_tracker((DATA / "debian_tracker.json").read_bytes()))
    glob = advisories["glibc", "CVE-2010-4756", "bookworm"]
    assert glob.ranges == (unfixed_range(),)
    assert glob.severity is Severity.NEGLIGIBLE


def tracker(releases: dict[str, object]) -> bytes:
    return json.dumps({"pkg": {"CVE-2024-0001": {"releases": releases}}}).encode()


@pytest.mark.parametrize(
    ("state", "ranges"),
    [
        ({"status": "undetermined", "urgency": "not yet assigned"}, (unfixed_range(),)),
        ({"status": "resolved", "fixed_version": "0", "urgency": "unimportant"}, None),
        ({"status": "resolved", "urgency": "low"}, None),
        ({"status": "something-new"}, None),
    ],
)
def test_debian_statuses(state: dict[str, str], ranges: tuple[VersionRange, ...] | None) -> None:
    advisories = parse_debian_tracker(tracker({"bookworm": state}))
    assert [a.ranges for a in advisories] == ([ranges] if ranges else [])


@pytest.mark.parametrize(
    "document", [b"not json", b"[]", b'{"pkg": []}', b'{"pkg": {"CVE-1": {"releases": []}}}']
)
def test_debian_malformed_documents_raise(document: bytes) -> None:
    with pytest.raises(FeedError, match="debian-security-tracker"):
        parse_debian_tracker(document)


# Alpine secdb ---------------------------------------------------------------------------


def test_alpine_secdb_advisories() -> None:
    advisories = by_key(parse_alpine_secdb((DATA / "alpine_v3.19_main.json").read_bytes()))
    assert set(advisories) == {
        ("openssl", "CVE-2023-5363", "3.19"),
        ("openssl", "CVE-2023-3817", "3.19"),
        ("xen", "CVE-2018-7540", "3.19"),
        ("curl", "CVE-2023-38545", "3.19"),
        ("curl", "CVE-2023-38546", "3.19"),
    }, "fixed version 0 (not affected) and an empty fix object give no advisory"
    openssl = advisories["openssl", "CVE-2023-5363", "3.19"]
    assert openssl.ecosystem is Ecosystem.APK
    assert openssl.distribution == "alpine"
    assert openssl.ranges == (fixed_range("3.1.4-r0"),)
    assert openssl.severity is Severity.UNKNOWN
    assert advisories["xen", "CVE-2018-7540", "3.19"].aliases == ("XSA-252",)


@pytest.mark.parametrize(
    "document",
    [b"{}", b'{"distroversion": "v3.19", "packages": [{"pkg": {}}]}', b'{"packages": []}'],
)
def test_alpine_malformed_documents_raise(document: bytes) -> None:
    with pytest.raises(FeedError, match="alpine-secdb"):
        parse_alpine_secdb(document)


# OSV ------------------------------------------------------------------------------------


def test_osv_ghsa_record() -> None:
    (advisory,) = parse_osv_record((OSV / "GHSA-wqvq-5m8c-6g24.json").read_bytes())
    assert advisory.id == "GHSA-wqvq-5m8c-6g24"
    assert advisory.aliases == ("CVE-2020-26137",)
    assert (advisory.ecosystem, advisory.package) == (Ecosystem.PYPI, "urllib3")
    assert (advisory.distribution, advisory.release) == (None, None)
    assert advisory.ranges == (
        VersionRange(
            RangeType.ECOSYSTEM,
            (RangeEvent(EventKind.INTRODUCED, "0"), RangeEvent(EventKind.FIXED, "1.25.9")),
        ),
    )
    assert advisory.severity is Severity.MEDIUM  # GHSA's MODERATE
    assert advisory.cvss is not None and advisory.cvss.base_score == 6.5
    assert advisory.summary == "CRLF injection in urllib3"
    assert "https://github.com/urllib3/urllib3/pull/1800" in advisory.links


def test_osv_pysec_record_without_severity() -> None:
    (advisory,) = parse_osv_record((OSV / "PYSEC-2020-148.json").read_bytes())
    assert advisory.aliases == ("CVE-2020-26137", "GHSA-wqvq-5m8c-6g24")
    assert "1.25.8" in advisory.versions
    assert advisory.severity is Severity.UNKNOWN
    assert advisory.cvss is None
    assert advisory.summary.startswith("urllib3 before 1.25.9")


def test_osv_npm_record_rated_critical() -> None:
    (advisory,) = parse_osv_record((OSV / "GHSA-jf85-cpcp-j695.json").read_bytes())
    assert (advisory.ecosystem, advisory.package) == (Ecosystem.NPM, "lodash")
    assert advisory.severity is Severity.CRITICAL
    assert advisory.cvss is not None and advisory.cvss.base_score == 9.1


def test_osv_record_affecting_several_packages() -> None:
    advisories = {
        a.package: a for a in parse_osv_record((OSV / "GHSA-p6mc-m468-83gw.json").read_bytes())
    }
    assert set(advisories) == {"lodash", "lodash-es", "lodash.pick"}
    assert advisories["lodash"].ranges == (
        VersionRange(
            RangeType.SEMVER,
            (RangeEvent(EventKind.INTRODUCED, "3.7.0"), RangeEvent(EventKind.FIXED, "4.17.19")),
        ),
    )
    assert advisories["lodash.pick"].ranges[0].events[-1] == RangeEvent(
        EventKind.LAST_AFFECTED, "4.4.0"
    )
    for advisory in advisories.values():
        assert advisory.aliases == ("CVE-2020-8203",)
        assert advisory.severity is Severity.HIGH
        assert advisory.cvss is not None and advisory.cvss.base_score == 7.4


def ecosystem_range(*events: tuple[EventKind, str]) -> VersionRange:
    return VersionRange(RangeType.ECOSYSTEM, tuple(RangeEvent(k, v) for k, v in events))


def test_osv_maven_record_one_advisory_per_package_with_every_range() -> None:
    advisories = parse_osv_record((OSV / "GHSA-jfh8-c2jp-5v3q.json").read_bytes())
    by_package = {a.package: a for a in advisories}

    assert len(advisories) == len(by_package) == 5
    assert {a.ecosystem for a in advisories} == {Ecosystem.MAVEN}
    intro, fixed = EventKind.INTRODUCED, EventKind.FIXED
    assert by_package["org.apache.logging.log4j:log4j-core"].ranges == (
        ecosystem_range((intro, "2.13.0"), (fixed, "2.15.0")),
        ecosystem_range((intro, "2.0-beta9"), (fixed, "2.3.1")),
        ecosystem_range((intro, "2.4"), (fixed, "2.12.2")),
    )
    assert len(by_package["org.ops4j.pax.logging:pax-logging-log4j2"].ranges) == 4
    listed = by_package["uk.co.nichesolutions.logging.log4j:log4j-core"]
    assert (listed.ranges, listed.versions) == ((), ("2.6.3-CUSTOM",))
    for advisory in advisories:
        assert advisory.aliases == ("CVE-2021-44228",)
        assert advisory.severity is Severity.CRITICAL
        assert advisory.cvss is not None and advisory.cvss.base_score == 10.0


def test_osv_entries_of_one_package_keep_every_listed_version_once() -> None:
    entries = [
        {"package": {"ecosystem": "Maven", "name": "g:a"}, "versions": ["1.0", "1.1"]},
        {"package": {"ecosystem": "Maven", "name": "g:a"}, "versions": ["1.1", "2.0"]},
        {"package": {"ecosystem": "Maven", "name": "g:b"}, "versions": ["3.0"]},
    ]
    advisories = parse_osv_record(osv_json(affected=entries))
    assert [(a.package, a.versions) for a in advisories] == [
        ("g:a", ("1.0", "1.1", "2.0")),
        ("g:b", ("3.0",)),
    ]


def test_osv_go_record_with_semver_range() -> None:
    (advisory,) = parse_osv_record((OSV / "GO-2022-1059.json").read_bytes())
    assert (advisory.ecosystem, advisory.package) == (Ecosystem.GO, "golang.org/x/text")
    assert advisory.ranges[0].type is RangeType.SEMVER
    assert "GHSA-69ch-w2m2-3vjp" in advisory.aliases


def test_osv_debian_record_is_scoped_to_its_release() -> None:
    (advisory,) = parse_osv_record((OSV / "DSA-5514-1.json").read_bytes())
    assert (advisory.distribution, advisory.release) == ("debian", "bookworm")
    assert advisory.package == "glibc"


@pytest.mark.parametrize(
    ("ecosystem", "scope"),
    [
        ("PyPI", OsvPackageScope(Ecosystem.PYPI)),
        ("npm", OsvPackageScope(Ecosystem.NPM)),
        ("Go", OsvPackageScope(Ecosystem.GO)),
        ("Debian:12", OsvPackageScope(Ecosystem.DPKG, "debian", "bookworm")),
        ("Debian", OsvPackageScope(Ecosystem.DPKG, "debian", None)),
        ("Alpine:v3.19", OsvPackageScope(Ecosystem.APK, "alpine", "3.19")),
        ("Ubuntu:22.04:LTS", OsvPackageScope(Ecosystem.DPKG, "ubuntu", "22.04")),
        ("Ubuntu:Pro:18.04:LTS", OsvPackageScope(Ecosystem.DPKG, "ubuntu", "18.04")),
        ("Rocky Linux:9", OsvPackageScope(Ecosystem.RPM, "rocky", "9")),
        ("Maven", OsvPackageScope(Ecosystem.MAVEN)),
        ("crates.io", None),
    ],
)
def test_osv_ecosystem_strings(ecosystem: str, scope: OsvPackageScope | None) -> None:
    assert osv_package_scope(ecosystem) == scope


def osv_json(**fields: object) -> bytes:
    record: dict[str, object] = {
        "id": "GHSA-test",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "example"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
            }
        ],
    }
    record.update(fields)
    return json.dumps(record).encode()


def test_osv_withdrawn_records_are_left_out() -> None:
    assert parse_osv_record(osv_json(withdrawn="2024-01-01T00:00:00Z")) == []


def test_osv_git_ranges_and_unknown_ecosystems_are_left_out() -> None:
    git_only = [
        {
            "package": {"ecosystem": "PyPI", "name": "example"},
            "ranges": [{"type": "GIT", "repo": "https://x", "events": [{"introduced": "0"}]}],
        },
        {
            "package": {"ecosystem": "crates.io", "name": "example"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}],
        },
    ]
    assert parse_osv_record(osv_json(affected=git_only)) == []


def test_osv_package_severity_and_v4_vectors() -> None:
    vector = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
    (advisory,) = parse_osv_record(
        osv_json(severity=[{"type": "CVSS_V4", "score": vector}, {"type": "CVSS_V3", "score": "x"}])
    )
    assert advisory.cvss is not None and advisory.cvss.version == "4.0"
    assert advisory.severity is Severity.CRITICAL


def test_osv_ubuntu_priority() -> None:
    (advisory,) = parse_osv_record(osv_json(severity=[{"type": "Ubuntu", "score": "medium"}]))
    assert advisory.severity is Severity.MEDIUM


def test_osv_zip_and_documents() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(OSV.glob("*.json")):
            archive.writestr(path.name, path.read_bytes())
    from_zip = parse_osv_zip(buffer.getvalue())
    from_folder = parse_osv_documents(p.read_bytes() for p in sorted(OSV.glob("*.json")))
    assert from_zip == from_folder
    assert {a.id for a in from_zip} == {
        "DSA-5514-1", "GHSA-462w-v97r-4m45", "GHSA-jf85-cpcp-j695", "GHSA-p6mc-m468-83gw",
        "GHSA-wqvq-5m8c-6g24", "GO-2022-1059", "PYSEC-2020-148", "GHSA-jfh8-c2jp-5v3q",
    }  # fmt: skip


@pytest.mark.parametrize(
    "document",
    [
        b"nope",
        b'{"affected": []}',
        b'{"id": "X", "affected": {}}',
        b'{"id": "X", "affected": [{"package": {"ecosystem": "PyPI", "name": "a"},'
        b' "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0", "fixed": "1"}]}]}]}',
    ],
)
def test_osv_malformed_records_raise(document: bytes) -> None:
    with pytest.raises(FeedError, match="osv"):
        parse_osv_record(document)


def test_osv_bad_zip_raises() -> None:
    with pytest.raises(FeedError, match="zip"):
        parse_osv_zip(b"not a zip")
