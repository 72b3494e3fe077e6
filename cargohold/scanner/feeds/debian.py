"""The Debian security tracker's JSON (``https://security-tracker.debian.org/tracker/data/json``).

Its shape, source package first::

    {"glibc": {"CVE-2023-4911": {
        "description": "...", "scope": "local", "debianbug": 1053309,
        "releases": {"bookworm": {"status": "resolved",
                                  "repositories": {"bookworm": "2.36-9+deb12u4"},
                                  "fixed_version": "2.36-9+deb12u3",
                                  "urgency": "not yet assigned"}, ...}}}}

One ``Advisory`` per (source package, CVE, release), by these rules:

- ``resolved`` with ``fixed_version`` ``0``: the release was never affected; no advisory.
- ``resolved`` with another ``fixed_version``: affected before that version.
- ``open``: affected, not fixed in that release (unfixed).
- ``undetermined``: reported as unfixed, since the tracker has not ruled the release out.
- any other status, or ``resolved`` without a version: no advisory.
"""

from __future__ import annotations

from typing import Any

from cargohold.scanner.advisory import Advisory, fixed_range, unfixed_range
from cargohold.scanner.errors import FeedError
from cargohold.scanner.feeds.json_document import load_object, object_field
from cargohold.scanner.severity import severity_from_debian_urgency
from cargohold.scanner.versions import Ecosystem, VersionRange

__all__ = ["FEED", "TRACKER_URL", "parse_debian_tracker"]

FEED = "debian-security-tracker"
TRACKER_URL = "https://security-tracker.debian.org/tracker/"
_NOT_AFFECTED = "0"


def parse_debian_tracker(data: bytes) -> list[Advisory]:
    """Parse the tracker's JSON into advisories; ``FeedError`` if it is not in that shape."""
    document = load_object(FEED, data)
    advisories: list[Advisory] = []
    for source_package, issues in document.items():
        if not isinstance(issues, dict):
            raise FeedError(FEED, f"package {source_package!r} is not an object")
        for issue_id, issue in issues.items():
            if not isinstance(issue, dict):
                raise FeedError(FEED, f"{source_package} {issue_id} is not an object")
            advisories.extend(_issue_advisories(source_package, issue_id, issue))
    return advisories


def _issue_advisories(source_package: str, issue_id: str, issue: dict[str, Any]) -> list[Advisory]:
    description = issue.get("description") or ""
    advisories = []
    for release, state in object_field(FEED, issue, "releases").items():
        if not isinstance(state, dict):
            raise FeedError(FEED, f"{source_package} {issue_id} {release} is not an object")
        affected = _affected_range(state)
        if affected is None:
            continue
        advisories.append(
            Advisory(
                id=issue_id,
                ecosystem=Ecosystem.DPKG,
                package=source_package,
                ranges=(affected,),
                source=FEED,
                distribution="debian",
                release=release.lower(),
                severity=severity_from_debian_urgency(state.get("urgency")),
                summary=str(description),
                links=(TRACKER_URL + issue_id,),
            )
        )
    return advisories


def _affected_range(state: dict[str, Any]) -> VersionRange | None:
    """The affected range a release's state describes, or None if it is not affected."""
    status = state.get("status")
    if status in ("open", "undetermined"):
        return unfixed_range()
    fixed_version = state.get("fixed_version")
    if status != "resolved" or not isinstance(fixed_version, str) or not fixed_version:
        return None
    if fixed_version == _NOT_AFFECTED:
        return None
    return fixed_range(fixed_version)
