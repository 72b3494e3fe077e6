"""Names of distributions and releases, one spelling for feeds and installed packages.

Feeds and ``/etc/os-release`` name the same release differently: the Debian tracker says
``bookworm``, OSV says ``Debian:12``, os-release says ``VERSION_ID="12"`` and
``VERSION_CODENAME=bookworm``; Alpine's secdb says ``v3.19``, OSV ``Alpine:v3.19`` and
os-release ``VERSION_ID=3.19.1``. ``release_key`` turns each into the one spelling that
matching compares: the codename for Debian, ``major.minor`` for Alpine and Ubuntu, the
major number for the RPM distributions.
"""

from __future__ import annotations

import re

__all__ = ["DEBIAN_CODENAMES", "distribution_key", "release_key"]

#: Debian's release numbers and codenames (distro-info-data's debian.csv).
DEBIAN_CODENAMES = {
    "7": "wheezy",
    "8": "jessie",
    "9": "stretch",
    "10": "buster",
    "11": "bullseye",
    "12": "bookworm",
    "13": "trixie",
    "14": "forky",
    "15": "duke",
}

_MAJOR_MINOR = re.compile(r"v?(\d+)\.(\d+)")
_MAJOR = re.compile(r"(\d+)")


def distribution_key(distribution: str) -> str:
    """An os-release ``ID`` (or a feed's distribution name) as matching compares it."""
    return distribution.strip().lower()


def release_key(distribution: str, release: str) -> str:
    """The spelling of ``release`` of ``distribution`` that matching compares.

    Debian: codename (``12``, ``12.4`` and ``bookworm`` all give ``bookworm``).
    Alpine and Ubuntu: ``major.minor`` (``v3.19``, ``3.19.1`` give ``3.19``; an Alpine
    pre-release of edge such as ``3.20_alpha20240329`` gives ``edge``). RPM
    distributions: the major number (``9.3`` gives ``9``). Anything else: lowercased.
    """
    name = distribution_key(distribution)
    text = release.strip().lower()
    if name == "debian":
        return _debian_release(text)
    if name in ("alpine", "ubuntu"):
        return _major_minor_release(name, text)
    if name in ("rhel", "centos", "rocky", "almalinux", "ol", "amzn", "fedora"):
        found = _MAJOR.match(text)
        return found.group(1) if found else text
    return text


def _debian_release(text: str) -> str:
    number = text.split(".", 1)[0]
    return DEBIAN_CODENAMES.get(number, text)


def _major_minor_release(distribution: str, text: str) -> str:
    if distribution == "alpine" and "_alpha" in text:
        return "edge"
    found = _MAJOR_MINOR.match(text)
    return f"{found.group(1)}.{found.group(2)}" if found else text
