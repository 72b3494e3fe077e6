"""Alpine's secdb (``https://secdb.alpinelinux.org/v3.19/main.json``).

Its shape, one document per release branch and repository::

    {"apkurl": "...", "archs": [...], "urlprefix": "...",
     "distroversion": "v3.19", "reponame": "main",
     "packages": [{"pkg": {"name": "openssl",
                           "secfixes": {"3.1.4-r0": ["CVE-2023-5363"], ...}}}]}

``name`` is the aports origin (source) package. Each string in a ``secfixes`` list is one
vulnerability fixed in that version; a string may carry several names of it
(``"CVE-2018-7540 XSA-252"``): the first is the id, the others aliases. A fixed version
``0`` means the package was never affected: no advisory. The secdb lists fixes only, so
an unfixed vulnerability does not appear, and it carries no severity (Unknown).
"""

from __future__ import annotations

from typing import Any

from cargohold.scanner.advisory import Advisory, fixed_range
from cargohold.scanner.distributions import release_key
from cargohold.scanner.errors import FeedError
from cargohold.scanner.feeds.json_document import load_object
from cargohold.scanner.versions import Ecosystem

__all__ = ["FEED", "parse_alpine_secdb"]

FEED = "alpine-secdb"
_ADVISORY_URL = "https://security.alpinelinux.org/vuln/"
_NOT_AFFECTED = "0"


def parse_alpine_secdb(data: bytes) -> list[Advisory]:
    """Parse one secdb document into advisories; ``FeedError`` if it is not in that shape."""
    document = load_object(FEED, data)
    distroversion = document.get("distroversion")
    packages = document.get("packages")
    if not isinstance(distroversion, str) or not isinstance(packages, list):
        raise FeedError(FEED, "expected 'distroversion' (a string) and 'packages' (a list)")
    release = release_key("alpine", distroversion)
    advisories: list[Advisory] = []
    for entry in packages:
        package = entry.get("pkg") if isinstance(entry, dict) else None
        if not isinstance(package, dict) or not isinstance(package.get("name"), str):
            raise FeedError(FEED, f"a package entry without pkg.name: {entry!r:.200}")
        advisories.extend(_package_advisories(package, release))
    return advisories


def _package_advisories(package: dict[str, Any], release: str) -> list[Advisory]:
    secfixes = package.get("secfixes") or {}
    if not isinstance(secfixes, dict):
        raise FeedError(FEED, f"{package['name']}: secfixes is not an object")
    advisories = []
    for fixed_version, fixes in secfixes.items():
        # Real documents hold an empty object where a list is expected ("7.4.0-r0": {}).
        if fixed_version == _NOT_AFFECTED or not isinstance(fixes, list):
            continue
        for names in fixes:
            if not isinstance(names, str) or not names.split():
                continue
            advisories.append(_advisory(package["name"], release, fixed_version, names.split()))
    return advisories


def _advisory(name: str, release: str, fixed_version: str, names: list[str]) -> Advisory:
    return Advisory(
        id=names[0],
        aliases=tuple(names[1:]),
        ecosystem=Ecosystem.APK,
        package=name,
        ranges=(fixed_range(fixed_version),),
        source=FEED,
        distribution="alpine",
        release=release,
        links=(_ADVISORY_URL + names[0],),
    )
