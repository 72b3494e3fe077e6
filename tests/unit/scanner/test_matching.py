"""Matching installed packages against advisories parsed from the feed fixtures."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pytest

from cargohold.scanner.advisory import Advisory, fixed_range
from cargohold.scanner.errors import InvalidVersion
from cargohold.scanner.feeds.alpine import parse_alpine_secdb
from cargohold.scanner.feeds.debian import parse_debian_tracker
from cargohold.scanner.feeds.osv import parse_osv_documents
from cargohold.scanner.matching import (
    InstalledPackage,
    match,
    normalize_name,
    select_findings,
)
from cargohold.scanner.severity import Severity
from cargohold.scanner.versions import Ecosystem

DATA = Path(__file__).parent / "data"

ADVISORIES = [
    *parse_debian_tracker((DATA / "debian_tracker.json").read_bytes()),
    *parse_alpine_secdb((DATA / "alpine_v3.19_main.json").read_bytes()),
    *parse_osv_documents(path.read_bytes() for path in sorted((DATA / "osv").glob("*.json"))),
]


def deb(
    name: str, version: str, release: str, source: str | None = None, distribution: str = "debian"
) -> InstalledPackage:
    return InstalledPackage(
        Ecosystem.DPKG, name, version, source, None, distribution=distribution, release=release
    )


def apk(name: str, version: str, release: str = "3.19.1") -> InstalledPackage:
    return InstalledPackage(Ecosystem.APK, name, version, name, version, "alpine", release)


def lang(ecosystem: Ecosystem, name: str, version: str) -> InstalledPackage:
    return InstalledPackage(ecosystem, name, version)


def maven(name: str, version: str) -> InstalledPackage:
    return InstalledPackage(Ecosystem.MAVEN, name, version)


LOG4J_CORE = "org.apache.logging.log4j:log4j-core"
LOG4SHELL = "GHSA-jfh8-c2jp-5v3q"


@dataclass(frozen=True)
class Case:
    why: str
    package: InstalledPackage
    findings: dict[str, str | None]  # advisory id -> fixed version (None: unfixed)


CASES = [
    Case(
        "bookworm libc6 before the DSA: affected, fixed in the backport",
        deb("libc6", "2.36-9+deb12u2", "bookworm", source="glibc"),
        {"CVE-2023-4911": "2.36-9+deb12u3", "CVE-2010-4756": None, "DSA-5514-1": "2.36-9+deb12u3"},
    ),
    Case(
        "the backport 2.36-9+deb12u3 fixes it, though upstream 2.36 is older than sid's fix",
        deb("libc6", "2.36-9+deb12u3", "bookworm", source="glibc"),
        {"CVE-2010-4756": None},
    ),
    Case(
        "os-release VERSION_ID 12 is bookworm",
        deb("libc-bin", "2.36-9+deb12u3", "12", source="glibc"),
        {"CVE-2010-4756": None},
    ),
    Case(
        "bullseye: fixed_version 0, not affected; bookworm's advisory does not apply",
        deb("libc6", "2.31-13+deb11u6", "bullseye", source="glibc"),
        {"CVE-2010-4756": None},
    ),
    Case(
        "a buster advisory never matches a bookworm package, whatever the versions say",
        deb("sudo", "1.8.27-1", "bookworm"),
        {},
    ),
    Case(
        "the same sudo on buster is affected by buster's advisory",
        deb("sudo", "1.8.27-1", "buster"),
        {"CVE-2021-3156": "1.8.27-1+deb10u3"},
    ),
    Case(
        "matched by source package: the binary name alone matches nothing",
        deb("libc6", "2.36-9+deb12u2", "bookworm"),
        {},
    ),
    Case(
        "Debian's advisories are not Ubuntu's",
        deb("libc6", "2.35-0ubuntu3", "22.04", source="glibc", distribution="ubuntu"),
        {},
    ),
    Case(
        "alpine openssl before 3.1.4-r0",
        apk("openssl", "3.1.3-r0"),
        {"CVE-2023-5363": "3.1.4-r0"},
    ),
    Case("alpine openssl at the fix", apk("openssl", "3.1.4-r0"), {}),
    Case(
        "alpine secdb 0: never affected",
        apk("curl", "8.5.0-r0"),
        {},
    ),
    Case(
        "alpine release mismatch: the v3.19 secdb says nothing about 3.18",
        apk("openssl", "3.1.3-r0", release="3.18.4"),
        {},
    ),
    Case(
        "urllib3 1.25.8: GHSA and PYSEC both report it",
        lang(Ecosystem.PYPI, "urllib3", "1.25.8"),
        {"GHSA-wqvq-5m8c-6g24": "1.25.9", "PYSEC-2020-148": "1.25.9"},
    ),
    Case("urllib3 1.25.9 is fixed", lang(Ecosystem.PYPI, "urllib3", "1.25.9"), {}),
    Case(
        "PyPI names are normalised per PEP 503",
        lang(Ecosystem.PYPI, "URLLib3", "1.24"),
        {"GHSA-wqvq-5m8c-6g24": "1.25.9", "PYSEC-2020-148": "1.25.9"},
    ),
    Case(
        "a Debian-packaged urllib3 does not match PyPI advisories",
        deb("python3-urllib3", "1.24.1-1", "bullseye", source="python-urllib3"),
        {},
    ),
    Case(
        "lodash before 4.17.12: both prototype pollutions",
        lang(Ecosystem.NPM, "lodash", "4.17.11"),
        {"GHSA-jf85-cpcp-j695": "4.17.12", "GHSA-p6mc-m468-83gw": "4.17.19"},
    ),
    Case(
        "lodash 4.17.15: only zipObjectDeep's, fixed in 4.17.19",
        lang(Ecosystem.NPM, "lodash", "4.17.15"),
        {"GHSA-p6mc-m468-83gw": "4.17.19"},
    ),
    Case(
        "lodash 3.6.0 is older than the range that starts at 3.7.0",
        lang(Ecosystem.NPM, "lodash", "3.6.0"),
        {"GHSA-jf85-cpcp-j695": "4.17.12"},
    ),
    Case(
        "jinja2 2.10: the format_map sandbox escape",
        lang(Ecosystem.PYPI, "Jinja2", "2.10"),
        {"GHSA-462w-v97r-4m45": "2.10.1"},
    ),
    Case("jinja2 2.10.1 is fixed", lang(Ecosystem.PYPI, "jinja2", "2.10.1"), {}),
    Case(
        "bookworm util-linux binaries by their source: open, no fix",
        deb("bsdutils", "1:2.38.1-5+deb12u3", "bookworm", source="util-linux"),
        {"CVE-2022-0563": None},
    ),
    Case(
        "xz-utils: bookworm never affected (fixed_version 0); sid's fix is not bookworm's",
        deb("liblzma5", "5.4.1-1", "bookworm", source="xz-utils"),
        {},
    ),
    Case("npm names are case-sensitive", lang(Ecosystem.NPM, "Lodash", "4.17.11"), {}),
    Case(
        "Go module with its v prefix",
        lang(Ecosystem.GO, "golang.org/x/text", "v0.3.7"),
        {"GO-2022-1059": "0.3.8"},
    ),
    Case("Go module at the fix", lang(Ecosystem.GO, "golang.org/x/text", "v0.3.8"), {}),
    Case("log4j-core 2.14.1: Log4Shell", maven(LOG4J_CORE, "2.14.1"), {LOG4SHELL: "2.15.0"}),
    Case("log4j-core 2.15.0 is the fix", maven(LOG4J_CORE, "2.15.0"), {}),
    Case("log4j-core 2.17.1 is past the fix", maven(LOG4J_CORE, "2.17.1"), {}),
    Case(
        "a release candidate of the fix comes before it",
        maven(LOG4J_CORE, "2.15.0-rc1"),
        {LOG4SHELL: "2.15.0"},
    ),
    Case(
        "2.0-beta9 is where the oldest range starts",
        maven(LOG4J_CORE, "2.0-beta9"),
        {LOG4SHELL: "2.3.1"},
    ),
    Case("2.0-beta8 is before it", maven(LOG4J_CORE, "2.0-beta8"), {}),
    Case("2.0-rc1 is after beta9", maven(LOG4J_CORE, "2.0-rc1"), {LOG4SHELL: "2.3.1"}),
    Case("2.0 is after 2.0-rc1", maven(LOG4J_CORE, "2.0"), {LOG4SHELL: "2.3.1"}),
    Case("2.3.2 is between the 2.3 and 2.4 ranges", maven(LOG4J_CORE, "2.3.2"), {}),
    Case("2.12.1 is in the 2.4 range", maven(LOG4J_CORE, "2.12.1"), {LOG4SHELL: "2.12.2"}),
    Case("2.12.4 is past the 2.12 backport", maven(LOG4J_CORE, "2.12.4"), {}),
    Case(
        "Maven names are exact: log4j-api is not log4j-core",
        maven("org.apache.logging.log4j:log4j-api", "2.14.1"),
        {},
    ),
    Case(
        "last_affected with a qualifier: 1.2.1.2-jre17 is affected, no fix known",
        maven("com.guicedee.services:log4j-core", "1.2.1.2-jre17"),
        {LOG4SHELL: None},
    ),
    Case(
        "1.2.1.2 is before 1.2.1.2-jre17 (an unknown qualifier sorts after the release)",
        maven("com.guicedee.services:log4j-core", "1.2.1.2"),
        {LOG4SHELL: None},
    ),
    Case(
        "1.2.1.2-jre18 is after last_affected",
        maven("com.guicedee.services:log4j-core", "1.2.1.2-jre18"),
        {},
    ),
    Case(
        "a Maven entry with only a versions list",
        maven("org.xbib.elasticsearch:log4j", "6.3.2.1"),
        {LOG4SHELL: None},
    ),
    Case("a version not in the list", maven("org.xbib.elasticsearch:log4j", "6.3.2.2"), {}),
    Case(
        "listed versions compare case-insensitively, as Maven does",
        maven("uk.co.nichesolutions.logging.log4j:log4j-core", "2.6.3-custom"),
        {LOG4SHELL: None},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.why for case in CASES])
def test_match(case: Case) -> None:
    found = {f.advisory_id: f.fixed_version for f in match(case.package, ADVISORIES)}
    assert found == case.findings


def test_findings_carry_severity_and_cvss() -> None:
    (ghsa, pysec) = match(lang(Ecosystem.PYPI, "urllib3", "1.25.8"), ADVISORIES)
    assert (ghsa.severity, pysec.severity) == (Severity.MEDIUM, Severity.UNKNOWN)
    assert ghsa.cvss is not None and ghsa.cvss.base_score == 6.5
    assert ghsa.aliases == ("CVE-2020-26137",)
    assert ghsa.is_fixed and ghsa.source == "osv"


def test_log4shell_is_critical_with_its_cvss_score() -> None:
    (finding,) = match(maven(LOG4J_CORE, "2.14.1"), ADVISORIES)
    assert finding.severity is Severity.CRITICAL
    assert finding.cvss is not None and finding.cvss.base_score == 10.0
    assert finding.aliases == ("CVE-2021-44228",)


def test_unfixed_findings_can_be_filtered() -> None:
    findings = match(deb("libc6", "2.36-9+deb12u2", "bookworm", source="glibc"), ADVISORIES)
    unfixed = [f for f in findings if not f.is_fixed]
    assert [f.advisory_id for f in unfixed] == ["CVE-2010-4756"]
    assert unfixed[0].severity is Severity.NEGLIGIBLE
    fixed_only = select_findings(findings, include_unfixed=False)
    assert {f.advisory_id for f in fixed_only} == {"CVE-2023-4911", "DSA-5514-1"}
    assert select_findings(findings, min_severity=Severity.LOW) == []


def test_a_listed_version_matches_without_a_range() -> None:
    listed = Advisory("PYSEC-0", Ecosystem.PYPI, "example", (), "osv", versions=("1.0", "1.1"))
    (finding,) = match(lang(Ecosystem.PYPI, "Example", "1.1.0"), [listed])
    assert finding.fixed_version is None


def test_an_invalid_installed_version_raises() -> None:
    with pytest.raises(InvalidVersion):
        match(lang(Ecosystem.PYPI, "urllib3", "not-a-version!"), ADVISORIES)


def test_an_advisory_with_unorderable_versions_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    broken = Advisory("GHSA-bad", Ecosystem.PYPI, "urllib3", (fixed_range("?!"),), "osv")
    with caplog.at_level(logging.WARNING):
        found = match(lang(Ecosystem.PYPI, "urllib3", "1.25.8"), [broken, *ADVISORIES])
    assert "GHSA-bad" not in {f.advisory_id for f in found}
    assert len(found) == 2
    assert "advisory skipped" in caplog.text


def test_an_os_advisory_without_a_release_matches_nothing() -> None:
    unscoped = Advisory(
        "DSA-0", Ecosystem.DPKG, "glibc", (fixed_range("9"),), "osv", distribution="debian"
    )
    assert match(deb("libc6", "2.36-9", "bookworm", source="glibc"), [unscoped]) == []


@pytest.mark.parametrize(
    ("ecosystem", "name", "normalized"),
    [
        (Ecosystem.PYPI, "Foo_Bar.baz", "foo-bar-baz"),
        (Ecosystem.PYPI, "zope.interface", "zope-interface"),
        (Ecosystem.NPM, "@Scope/Pkg", "@Scope/Pkg"),
        (Ecosystem.GO, "github.com/Foo/bar", "github.com/Foo/bar"),
        (Ecosystem.MAVEN, "org.Example:Core_Lib", "org.Example:Core_Lib"),
    ],
)
def test_name_normalisation(ecosystem: Ecosystem, name: str, normalized: str) -> None:
    assert normalize_name(ecosystem, name) == normalized
