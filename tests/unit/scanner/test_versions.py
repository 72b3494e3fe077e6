"""Version orderings checked pair by pair against each ecosystem's own tool."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from cargohold.scanner.errors import InvalidVersion, ScannerError
from cargohold.scanner.maven_versions import canonical_maven
from cargohold.scanner.versions import Ecosystem, compare, is_valid, sort_key, validate

from . import reference_orderings as reference

DATA = Path(__file__).parent / "data"

DPKG_VERSIONS = [
    "0", "1", "1.0", "1.0-0", "1.0-1", "1.0-1.1", "1.0-9", "1.0-10", "0:1.0", "1:0.9",
    "1:1.0", "2:0.1", "1.0~", "1.0~~", "1.0~~a", "1.0~alpha", "1.0~beta", "1.0~rc1",
    "1.0~rc1-1", "1.0+", "1.0+b1", "1.0+dfsg-1", "1.0+dfsg1-1", "1.0.dfsg-1", "1.0-1+b1",
    "1.0-1~bpo12+1", "1.0-1+deb12u1", "1.0-1+deb12u1~", "1.0a", "1.0A", "1.0.a", "1.0.0",
    "1.0.", "1..0", "1.0-1ubuntu1", "1.0-1ubuntu0.1", "1.0-0ubuntu1", "1.01", "1.1",
    "1.9", "1.10", "001", "1a", "1b", "1+", "1~", "9", "10",
    "2.36-9", "2.36-9~deb12u1", "2.36-9+deb12u3", "2.36-9+deb12u4", "2.36-10", "2.36",
    "2.37-12", "2.31-13+deb11u7", "3.0.11-1", "3.0.11-1~deb12u1", "3.0.11-1~deb12u2",
    "7.88.1-10+deb12u5", "7.88.1-10+deb12u14", "1:2:3", "1.2-3-4", "1.0-a~b.c+d",
]  # fmt: skip

RPM_VERSIONS = [
    "0", "00", "000.1", "1", "1.0", "1.0.0", "1.00", "1.01", "1.001", "1.1", "1.9", "1.10",
    "1..0", "1_0", "1.0_1", "1.0+1", "1.0a", "1.0b", "1.0z", "1.0Z", "1.a", "1.0.a",
    "1.0~rc1", "1.0~rc2", "1.0~~", "1.0~", "1.0^", "1.0^git1", "1.0^git2", "1.0^~", "1.0~^",
    "1.0~rc1^git", "1.0^git~rc1", "1.0-1", "1.0-2", "1.0-1~rc1", "1.0-1^post", "1.0-1.el8",
    "1.0-1.el9", "0:1.0", "1:1.0", "2:0.1", "1:1.0-1", "10", "9", "1e", "1E", "a", "b",
    "1.2.3-4.el9", "1.2.3-4.el9_2", "1.2.3-4.el9_2.1", "3.0.7-24.el9", "3.0.7-25.el9",
    "1.0.0a", "1.0.0b", "1.0.0-0.1.beta", "1.0.0-1", "5.14.0-362.8.1.el9_3",
    "5.14.0-362.13.1.el9_3", "1.0.1b2", "1.0.1.2", "1.0.fc38", "2.4.57-5.el9",
    "2.4.57-11.el9_4", "1:3.0.1-47.el9_1",
]  # fmt: skip

SEMVER_VERSIONS = [
    "0.0.0", "0.0.1", "0.1.0", "1.0.0", "1.0.1", "1.1.0", "1.10.0", "1.9.0", "2.0.0",
    "10.0.0", "1.0.0-0", "1.0.0-1", "1.0.0-2", "1.0.0-10", "1.0.0-alpha", "1.0.0-alpha.1",
    "1.0.0-alpha.beta", "1.0.0-alpha.0", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
    "1.0.0-rc.1", "1.0.0-rc.1.2", "1.0.0-RC.1", "1.0.0-x-y-z.--", "1.0.0-a1", "1.0.0-1a",
    "1.0.0+build", "1.0.0+build.2", "1.0.0-rc.1+build", "4.17.11", "4.17.12", "4.17.21",
    "v1.0.0", "v4.17.12", "0.3.7", "0.3.8", "0.0.0-20220722155237-a158d28d115b",
    "0.0.0-20191109021931-daa7c04131f5", "2.0.0+incompatible", "v2.0.0+incompatible",
]  # fmt: skip

MAVEN_VERSIONS = [
    "1", "1.0", "1.0.0", "1-0", "1.0-0", "01", "1.00", "0", "0.0", "0.1", "1-ga", "1-final",
    "1-release", "1.ga", "1.final", "1.release", "1-GA", "1.0.RELEASE", "1.0.Final", "1-sp",
    "1-sp1", "1-sp.1", "1-SP2", "1-snapshot", "1.0-SNAPSHOT", "1-SNAPSHOT", "1-alpha",
    "1-alpha1", "1-alpha-1", "1.0-alpha-1", "1-a1", "1-a", "1a1", "1.0a1", "1-beta", "1-b1",
    "1-beta-2", "1-beta.2", "1-milestone", "1-m1", "1-M2", "1-rc", "1-rc1", "1-RC2", "1-cr1",
    "1-CR", "1-cr2", "1-foo", "1-bar", "1-xyz", "1-abc", "1-z", "1.foo", "1.0.foo", "1-1",
    "1.1", "1-0.1", "1.0.1", "1.01", "1.001", "1.10", "1.9", "2", "2.0", "10", "1.2.3",
    "1.2.3-1", "1.2.3.1", "1.2.3.Final", "1.2.3-Final", "1.2.3.RELEASE", "1.2.3.SP1",
    "1.2.3-SP1", "1.2.3.M1", "1.2.3.RC1", "1.2.3.BUILD-SNAPSHOT", "2.0-beta9", "2.0-rc1",
    "2.0-rc2", "2.0.1", "2.3.1", "2.12.2", "2.14.1", "2.15.0", "2.15.0-rc1", "2.17.1",
    "3.0.0-beta1", "1..0", "1.-1", "1-.1", ".1", "-1", "1-", "1.", "1--1", "1-1-1", "1-1.1",
    "1.1-1", "1.0-1.0", "1-0-1", "1.0.0-0.0.0", "1.0-alpha-0", "1-alpha.0", "1-1-snapshot",
    "1-1.snapshot", "1.0.0.jre8", "1.0.0.jre11", "12.2.0.jre8", "12.2.0.jre11", "31.1-jre",
    "31.1-android", "32.0.0-jre", "1.0-20220101.123456-1", "1.2.1.2-jre17", "1.2.1.2-jre18",
    "9999999999", "99999999999999999999", "1.9999999999", "1.99999999999999999999",
    "0000000000", "1.0000000000", "a", "b", "ga", "1a", "1b", "1m", "1m1", "1c", "1-c1",
    "1-2-alpha", "1-2-alpha-1", "1.0-final-1", "1.0-ga-1", "1.0-alpha-1-SNAPSHOT", "2.0.0.M1",
    "5.3.18", "5.2.20.RELEASE", "5.3.0-RC1", "1-pre", "1-preview", "1-dev", "1-2", "1-10",
    "1-9", "1.a", "1.b", "1-x.1", "1-sp.snapshot", "1.0-sp-1", "2.6.3-CUSTOM", "2.6.3-custom",
    "6.3.2.1", "1.0.0-M1", "1_0", "1+build", "1.0~rc1",
]  # fmt: skip


def ordered_pairs(versions: list[str]) -> list[tuple[str, str]]:
    return list(itertools.product(versions, repeat=2))


def our_answers(ecosystem: Ecosystem, pairs: list[tuple[str, str]]) -> list[int | None]:
    answers: list[int | None] = []
    for a, b in pairs:
        try:
            answers.append(compare(ecosystem, a, b))
        except InvalidVersion:
            answers.append(None)
    return answers


def disagreements(
    pairs: list[tuple[str, str]], ours: list[int | None], theirs: list[int | None]
) -> list[str]:
    return [
        f"{a!r} vs {b!r}: ours {mine}, reference {reference_answer}"
        for (a, b), mine, reference_answer in zip(pairs, ours, theirs, strict=True)
        if mine != reference_answer
    ]


def test_dpkg_agrees_with_dpkg_compare_versions() -> None:
    reference.require("dpkg")
    pairs = [(a, b) for a, b in itertools.combinations_with_replacement(DPKG_VERSIONS, 2)]
    theirs = reference.dpkg_compare_many(pairs)
    assert None not in theirs, "every listed version is one dpkg accepts"
    assert disagreements(pairs, our_answers(Ecosystem.DPKG, pairs), theirs) == []
    flipped = [(b, a) for a, b in pairs]
    negated = [None if answer is None else -answer for answer in theirs]
    assert disagreements(flipped, our_answers(Ecosystem.DPKG, flipped), negated) == []


@pytest.mark.parametrize("version", ["2.0-", ":1.0", "1:", "a:1.0", "1.0 1", "1:-1"])
def test_dpkg_refuses_what_dpkg_refuses(version: str) -> None:
    reference.require("dpkg")
    assert reference.dpkg_compare(version, "1.0") is None
    with pytest.raises(InvalidVersion, match="dpkg"):
        validate(Ecosystem.DPKG, version)


@pytest.mark.parametrize("version", ["a1.0", "1.0_2", "1.0-1_2"])
def test_dpkg_refuses_what_dpkg_calls_bad_syntax(version: str) -> None:
    # dpkg compares these with a "bad syntax" warning; Debian policy does not allow them.
    reference.require("dpkg")
    assert "bad syntax" in reference.dpkg_complaint(version)
    assert not is_valid(Ecosystem.DPKG, version)


def test_dpkg_refuses_the_empty_version() -> None:
    assert not is_valid(Ecosystem.DPKG, "")


def test_rpm_agrees_with_rpm_vercmp() -> None:
    reference.require("rpm")
    pairs = ordered_pairs(RPM_VERSIONS)
    theirs: list[int | None] = list(reference.rpm_compare_many(pairs))
    assert disagreements(pairs, our_answers(Ecosystem.RPM, pairs), theirs) == []


@pytest.mark.parametrize("version", ["", "1.0 1", "x:1.0", "1.0-1-2", "1.0/2"])
def test_rpm_refuses_malformed_evr(version: str) -> None:
    with pytest.raises(InvalidVersion, match="rpm"):
        validate(Ecosystem.RPM, version)


def apk_vectors() -> tuple[list[tuple[str, str, str]], list[tuple[str, bool]]]:
    comparisons: list[tuple[str, str, str]] = []
    validity: list[tuple[str, bool]] = []
    for line in (DATA / "apk_version.data").read_text().splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) == 3 and fields[1] in ("<", ">", "="):
            comparisons.append((fields[0], fields[1], fields[2]))
        elif len(fields) == 1:
            validity.append((fields[0].lstrip("!"), not fields[0].startswith("!")))
    return comparisons, validity


APK_COMPARISONS, APK_VALIDITY = apk_vectors()


def test_apk_agrees_with_apk_tools_test_vectors() -> None:
    symbol = {-1: "<", 0: "=", 1: ">"}
    mirrored = {"<": ">", ">": "<", "=": "="}
    checked, failures = 0, []
    for a, expected, b in APK_COMPARISONS:
        if not (is_valid(Ecosystem.APK, a) and is_valid(Ecosystem.APK, b)):
            continue  # apk-tools' fallback for invalid versions; ours refuses them.
        checked += 2
        if symbol[compare(Ecosystem.APK, a, b)] != expected:
            failures.append(f"{a} {expected} {b}")
        if symbol[compare(Ecosystem.APK, b, a)] != mirrored[expected]:
            failures.append(f"{b} {mirrored[expected]} {a}")
    assert failures == []
    assert checked > 1400


def test_apk_validity_agrees_with_apk_tools_test_vectors() -> None:
    wrong = [
        version for version, valid in APK_VALIDITY if is_valid(Ecosystem.APK, version) != valid
    ]
    assert wrong == []
    assert len(APK_VALIDITY) > 25


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("3.1.4-r0", "3.1.4-r1"),
        ("1.36.1-r15", "1.36.1-r16"),
        ("1.0_alpha", "1.0_beta"),
        ("1.0_rc1", "1.0"),
        ("1.0", "1.0_p1"),
        ("1.0", "1.0a"),
        ("1.0a", "1.0.1"),
        ("1.0_p1", "1.0a"),
        ("2024a-r0", "2024b-r0"),
        ("1.06-r6", "006"),
        ("1.0", "006"),
    ],
)
def test_apk_hand_picked_orderings(lower: str, higher: str) -> None:
    assert compare(Ecosystem.APK, lower, higher) == -1
    assert compare(Ecosystem.APK, higher, lower) == 1


@pytest.mark.parametrize("ecosystem", [Ecosystem.NPM, Ecosystem.GO])
def test_semver_agrees_with_node_semver(ecosystem: Ecosystem) -> None:
    pairs = ordered_pairs(SEMVER_VERSIONS)
    theirs = reference.node_semver_compare_many(pairs)
    assert None not in theirs
    assert disagreements(pairs, our_answers(ecosystem, pairs), theirs) == []


@pytest.mark.parametrize("version", ["1.0", "01.0.0", "1.0.0-01", "1.0.0.0", "vv1.0.0", "latest"])
def test_semver_refuses_what_semver_refuses(version: str) -> None:
    assert reference.node_semver_compare_many([(version, "1.0.0")]) == [None]
    for ecosystem in (Ecosystem.NPM, Ecosystem.GO):
        assert not is_valid(ecosystem, version)


PEP440_ASCENDING = [
    "1.0.dev0", "1.0a1.dev1", "1.0a1", "1.0a2", "1.0b1", "1.0rc1", "1.0", "1.0+local.1",
    "1.0.post1.dev0", "1.0.post1", "1.0.1", "1.25.8", "1.25.9", "1.25.10", "1.26.0", "2.0",
    "1!0.1",
]  # fmt: skip


def test_pypi_orders_per_pep_440() -> None:
    assert sorted(reversed(PEP440_ASCENDING), key=sort_key(Ecosystem.PYPI)) == PEP440_ASCENDING
    assert compare(Ecosystem.PYPI, "1.0", "1.0.0") == 0
    assert compare(Ecosystem.PYPI, "1.0RC1", "1.0rc1") == 0


def test_pypi_refuses_non_pep_440() -> None:
    with pytest.raises(InvalidVersion) as raised:
        compare(Ecosystem.PYPI, "1.0-foo bar", "1.0")
    assert isinstance(raised.value, ScannerError)
    assert raised.value.version == "1.0-foo bar"


def test_go_accepts_its_v_prefix() -> None:
    assert compare(Ecosystem.GO, "v0.3.7", "0.3.8") == -1
    assert compare(Ecosystem.GO, "v1.2.3+incompatible", "1.2.3") == 0


def test_maven_agrees_with_maven_comparable_version() -> None:
    pairs = ordered_pairs(MAVEN_VERSIONS)
    theirs: list[int | None] = list(reference.maven_compare_many(pairs))
    assert disagreements(pairs, our_answers(Ecosystem.MAVEN, pairs), theirs) == []


def test_maven_canonical_forms_agree_with_maven() -> None:
    theirs = reference.maven_canonical_many(MAVEN_VERSIONS)
    ours = [canonical_maven(version) for version in MAVEN_VERSIONS]
    assert [
        f"{version!r}: ours {mine!r}, Maven {canonical!r}"
        for version, mine, canonical in zip(MAVEN_VERSIONS, ours, theirs, strict=True)
        if mine != canonical
    ] == []


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("1.0-SNAPSHOT", "1.0"),
        ("1.0-alpha-1", "1.0"),
        ("2.0-beta9", "2.0-rc1"),
        ("1-rc1", "1-snapshot"),
        ("1", "1-sp"),
        ("1-sp", "1-jre"),
        ("1.2.3", "1.2.3.1"),
        ("2.14.1", "2.15.0"),
    ],
)
def test_maven_hand_picked_orderings(lower: str, higher: str) -> None:
    assert compare(Ecosystem.MAVEN, lower, higher) == -1
    assert compare(Ecosystem.MAVEN, higher, lower) == 1


@pytest.mark.parametrize("same", ["1.0", "1-ga", "1.0.0.RELEASE", "1-FINAL", "1.0-0"])
def test_maven_equal_versions(same: str) -> None:
    assert compare(Ecosystem.MAVEN, same, "1") == 0


@pytest.mark.parametrize("version", ["", "1.0 beta", "1.0\t", "1.0-é", "1" * 257])
def test_maven_refuses_what_no_maven_repository_holds(version: str) -> None:
    with pytest.raises(InvalidVersion, match="maven"):
        validate(Ecosystem.MAVEN, version)
