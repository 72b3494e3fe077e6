"""Version ordering per ecosystem, and OSV-style affected ranges.

One interface for every ecosystem: ``compare(ecosystem, a, b)`` answers -1, 0 or 1 and
raises ``InvalidVersion`` for a string that the ecosystem's rules do not allow. Who orders
what:

=========  ===========================================================================
dpkg       Debian and Ubuntu. ``debian.debian_support.NativeVersion`` (python-debian,
           Debian's own library) orders; the syntax check here follows dpkg's
           ``parseversion`` (epoch digits, upstream starting with a digit, a revision
           after the last ``-`` that is not empty), which python-debian does not make.
apk        Alpine. ``cargohold.scanner.apk_versions``: a small implementation of
           apk-tools' documented algorithm, no maintained library has it right.
rpm        ``univers.rpm`` (rpmvercmp with ``~`` and ``^``, epoch:version-release).
pypi       ``packaging.version.Version`` (PEP 440).
npm, go    ``semver.Version`` (SemVer 2.0.0 precedence). One leading ``v`` is accepted:
           Go versions carry it, OSV's Go ranges and npm's loose spellings drop it.
maven      ``cargohold.scanner.maven_versions``: Maven 3's ``ComparableVersion``, item
           for item (univers' Maven class disagrees with Maven on real versions).
=========  ===========================================================================

Every comparison is tested against a reference: ``dpkg --compare-versions``, rpm's own
``rpm.vercmp``, apk-tools' test vectors, node's ``semver`` package and Maven's own
``ComparableVersion`` class.

``affected_by(...)`` evaluates OSV ``ranges`` (``ECOSYSTEM`` and ``SEMVER`` types; events
``introduced``, ``fixed``, ``last_affected``, ``limit``) exactly as the OSV schema's
evaluation pseudocode does, and also says which ``fixed`` version ends the range the
version is in.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import packaging.version
import semver
from debian.debian_support import NativeVersion
from univers.rpm import compare_rpm_versions

from cargohold.scanner.apk_versions import compare_apk
from cargohold.scanner.errors import InvalidVersion
from cargohold.scanner.maven_versions import compare_maven

__all__ = [
    "Ecosystem",
    "EventKind",
    "RangeEvent",
    "RangeType",
    "RangeVerdict",
    "VersionRange",
    "affected_by",
    "compare",
    "is_affected",
    "is_valid",
    "listed_in",
    "sort_key",
    "validate",
]


class Ecosystem(enum.StrEnum):
    """A version scheme: how the versions of a kind of package are written and ordered."""

    DPKG = "dpkg"
    APK = "apk"
    RPM = "rpm"
    PYPI = "pypi"
    NPM = "npm"
    GO = "go"
    MAVEN = "maven"


def compare(ecosystem: Ecosystem, a: str, b: str) -> int:
    """Order two versions of ``ecosystem``: -1 if ``a`` < ``b``, 0 if equal, 1 if greater.

    Equal means equal in the ecosystem's ordering (``1.0`` and ``1.0.0`` in PyPI, ``1.0``
    and ``0:1.0`` in dpkg, ``1.0-GA`` and ``1`` in Maven), not equal as strings. Raises
    ``InvalidVersion`` if either string is not a valid version of ``ecosystem``.
    """
    return _COMPARATORS[ecosystem](a, b)


def validate(ecosystem: Ecosystem, version: str) -> None:
    """Raise ``InvalidVersion`` unless ``version`` is one that ``ecosystem``'s rules allow."""
    compare(ecosystem, version, version)


def is_valid(ecosystem: Ecosystem, version: str) -> bool:
    """Whether ``version`` is a version that ``ecosystem``'s rules allow."""
    try:
        validate(ecosystem, version)
    except InvalidVersion:
        return False
    return True


def sort_key(ecosystem: Ecosystem) -> Callable[[str], object]:
    """A ``key=`` for ``sorted`` that orders version strings of ``ecosystem``."""
    return functools.cmp_to_key(functools.partial(compare, ecosystem))


# dpkg ---------------------------------------------------------------------------------

_DPKG_UPSTREAM = re.compile(r"[0-9][A-Za-z0-9.+~:-]*")
_DPKG_UPSTREAM_NO_COLON = re.compile(r"[0-9][A-Za-z0-9.+~-]*")
_DPKG_REVISION = re.compile(r"[A-Za-z0-9.+~]+")


def _check_dpkg(version: str) -> None:
    """Refuse what dpkg's ``parseversion`` refuses (and a non-digit start, which it warns of)."""

    def invalid(reason: str) -> InvalidVersion:
        return InvalidVersion("dpkg", version, reason)

    epoch, colon, rest = version.partition(":")
    if not colon:
        epoch, rest = "", version
    elif not epoch.isascii() or not epoch.isdigit():
        raise invalid("the epoch is not a number")
    upstream, hyphen, revision = rest.rpartition("-")
    if not hyphen:
        upstream, revision = rest, ""
    elif not revision:
        raise invalid("the revision after '-' is empty")
    upstream_syntax = _DPKG_UPSTREAM if colon else _DPKG_UPSTREAM_NO_COLON
    if not upstream_syntax.fullmatch(upstream):
        raise invalid("the upstream version must start with a digit and use [A-Za-z0-9.+~-]")
    if hyphen and not _DPKG_REVISION.fullmatch(revision):
        raise invalid("the revision may only use [A-Za-z0-9.+~]")


def _compare_dpkg(a: str, b: str) -> int:
    _check_dpkg(a)
    _check_dpkg(b)
    left, right = NativeVersion(a), NativeVersion(b)
    return (left > right) - (left < right)


# rpm ----------------------------------------------------------------------------------

_RPM_EVR = re.compile(r"(?:[0-9]+:)?[A-Za-z0-9._+~^]+(?:-[A-Za-z0-9._+~^]+)?")


def _compare_rpm(a: str, b: str) -> int:
    for version in (a, b):
        if not _RPM_EVR.fullmatch(version):
            raise InvalidVersion(
                "rpm", version, "expected [epoch:]version[-release] of [A-Za-z0-9._+~^]"
            )
    return compare_rpm_versions(a, b)


# pypi ---------------------------------------------------------------------------------


def _pep440(version: str) -> packaging.version.Version:
    try:
        return packaging.version.Version(version)
    except packaging.version.InvalidVersion as exc:
        raise InvalidVersion("pypi", version, "not a PEP 440 version") from exc


def _compare_pypi(a: str, b: str) -> int:
    left, right = _pep440(a), _pep440(b)
    return (left > right) - (left < right)


# semver (npm, go, and OSV's SEMVER ranges) ---------------------------------------------


def _semver(version: str, ecosystem: str) -> semver.Version:
    plain = version[1:] if version.startswith("v") else version
    try:
        return semver.Version.parse(plain)
    except (ValueError, TypeError) as exc:
        raise InvalidVersion(ecosystem, version, "not a SemVer 2.0.0 version") from exc


def _semver_comparator(ecosystem: str) -> Callable[[str, str], int]:
    def compare_semver(a: str, b: str) -> int:
        # Build metadata does not take part in precedence (SemVer 2.0.0, item 10).
        return _semver(a, ecosystem).compare(_semver(b, ecosystem))

    return compare_semver


_COMPARATORS: dict[Ecosystem, Callable[[str, str], int]] = {
    Ecosystem.DPKG: _compare_dpkg,
    Ecosystem.APK: compare_apk,
    Ecosystem.RPM: _compare_rpm,
    Ecosystem.PYPI: _compare_pypi,
    Ecosystem.NPM: _semver_comparator("npm"),
    Ecosystem.GO: _semver_comparator("go"),
    Ecosystem.MAVEN: compare_maven,
}
_compare_semver = _semver_comparator("semver")


# OSV ranges ---------------------------------------------------------------------------


class RangeType(enum.StrEnum):
    """How a range's event versions are ordered: by the ecosystem, or by SemVer 2.0.0."""

    ECOSYSTEM = "ECOSYSTEM"
    SEMVER = "SEMVER"


class EventKind(enum.StrEnum):
    """What a range event says happened at its version."""

    INTRODUCED = "introduced"
    FIXED = "fixed"
    LAST_AFFECTED = "last_affected"
    LIMIT = "limit"


@dataclass(frozen=True, slots=True)
class RangeEvent:
    """One event of a range's timeline. ``introduced`` ``"0"`` sorts before every version;
    a ``limit`` containing ``*`` is infinity."""

    kind: EventKind
    version: str


@dataclass(frozen=True, slots=True)
class VersionRange:
    """An OSV affected range: a timeline of events, ordered by ``type``."""

    type: RangeType
    events: tuple[RangeEvent, ...]


@dataclass(frozen=True, slots=True)
class RangeVerdict:
    """Whether a version is affected, and the ``fixed`` version that ends its range.

    ``fixed`` is None when the version is not affected, and when it is affected with no
    known fix (no later ``fixed`` event: unfixed, or only a ``last_affected``).
    """

    affected: bool
    fixed: str | None = None


_NOT_AFFECTED = RangeVerdict(affected=False)


def affected_by(ecosystem: Ecosystem, version: str, ranges: Iterable[VersionRange]) -> RangeVerdict:
    """Evaluate ``version`` against OSV ``ranges``: affected if inside any of them.

    Follows the OSV schema's evaluation: events are sorted by version, ``introduced``
    starts and ``fixed`` (at or below the version) or ``last_affected`` (below it) ends an
    affected stretch; ``limit`` events bound the whole range. Raises ``InvalidVersion``
    if ``version`` or an event's version is not valid for the range's ordering.
    """
    for version_range in ranges:
        verdict = _affected_by_range(ecosystem, version, version_range)
        if verdict.affected:
            return verdict
    return _NOT_AFFECTED


def is_affected(
    ecosystem: Ecosystem,
    version: str,
    ranges: Iterable[VersionRange],
    versions: Iterable[str] = (),
) -> bool:
    """OSV's ``IsVulnerable`` for one package: listed in ``versions`` or inside a range."""
    return (
        listed_in(ecosystem, version, versions) or affected_by(ecosystem, version, ranges).affected
    )


def listed_in(ecosystem: Ecosystem, version: str, versions: Iterable[str]) -> bool:
    """Whether ``version`` is one of ``versions`` (OSV's ``affected[].versions``): the same
    string, or equal in the ecosystem's ordering. Listed strings that are not valid
    versions can only match as strings."""
    return any(_same_version(ecosystem, version, listed) for listed in versions)


def _same_version(ecosystem: Ecosystem, version: str, listed: str) -> bool:
    if version == listed:
        return True
    try:
        return compare(ecosystem, version, listed) == 0
    except InvalidVersion:
        return False


def _affected_by_range(
    ecosystem: Ecosystem, version: str, version_range: VersionRange
) -> RangeVerdict:
    order = _range_comparator(ecosystem, version_range.type)
    if not _before_limits(order, version, version_range.events):
        return _NOT_AFFECTED
    affected = False
    fixed: str | None = None
    for event in _sorted_events(order, version_range.events):
        if event.kind == EventKind.INTRODUCED and _at_or_after_start(order, version, event):
            affected, fixed = True, None
        elif event.kind == EventKind.FIXED:
            if order(version, event.version) >= 0:
                affected = False
            elif affected and fixed is None:
                fixed = event.version
        elif event.kind == EventKind.LAST_AFFECTED and order(version, event.version) > 0:
            affected = False
    return RangeVerdict(affected=True, fixed=fixed) if affected else _NOT_AFFECTED


def _range_comparator(ecosystem: Ecosystem, range_type: RangeType) -> Callable[[str, str], int]:
    if range_type == RangeType.SEMVER:
        return _compare_semver
    return _COMPARATORS[ecosystem]


def _at_or_after_start(order: Callable[[str, str], int], version: str, event: RangeEvent) -> bool:
    return event.version == "0" or order(version, event.version) >= 0


def _before_limits(
    order: Callable[[str, str], int], version: str, events: tuple[RangeEvent, ...]
) -> bool:
    limits = [event.version for event in events if event.kind == EventKind.LIMIT]
    if not limits:
        return True
    return any("*" in limit or order(version, limit) < 0 for limit in limits)


def _sorted_events(
    order: Callable[[str, str], int], events: tuple[RangeEvent, ...]
) -> list[RangeEvent]:
    """The non-limit events in version order, ``introduced: "0"`` first."""

    def compare_events(left: RangeEvent, right: RangeEvent) -> int:
        left_zero = _is_zero(left)
        right_zero = _is_zero(right)
        if left_zero or right_zero:
            return right_zero - left_zero
        return order(left.version, right.version)

    timeline = [event for event in events if event.kind != EventKind.LIMIT]
    return sorted(timeline, key=functools.cmp_to_key(compare_events))


def _is_zero(event: RangeEvent) -> bool:
    return event.kind == EventKind.INTRODUCED and event.version == "0"
