"""Real package content for the indexer tests, built offline once and cached (the
builders and their cache are ``support.package_content``).

Contracts (all session-scoped; each fails, never skips, when its tool is missing):

- ``host_dpkg`` (``HostDpkg``): this machine's real dpkg database (``status``, the
  ``info/*.list`` files) and os-release, and what ``dpkg-query`` says is installed.
- ``pip_site``: ``pip install --target`` of urllib3 1.25.8 and jinja2 2.10 (real
  ``.dist-info`` directories); ``pip_site_upgrade``: urllib3 1.26.18 alone.
- ``npm_project``: ``npm install --prefix`` of lodash 4.17.15 (``node_modules`` and
  ``package-lock.json``).
- ``rpm_database`` (``RpmDatabase``): an ``rpmdb.sqlite`` made by Debian's rpm from
  packages built here with rpmbuild, and what ``rpm -qa`` says is in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from support import package_content
from support.package_content import DpkgPackage, RpmDatabase, dpkg_installed

__all__ = ["HostDpkg", "RpmDatabase"]


@dataclass(frozen=True)
class HostDpkg:
    status: bytes
    os_release: bytes
    file_lists: dict[str, bytes]
    installed: set[DpkgPackage]
    """(name, version, source name, source version, architecture) per dpkg-query."""


@pytest.fixture(scope="session")
def host_dpkg() -> HostDpkg:
    info = Path("/var/lib/dpkg/info")
    return HostDpkg(
        status=Path("/var/lib/dpkg/status").read_bytes(),
        os_release=Path("/usr/lib/os-release").read_bytes(),
        file_lists={item.name: item.read_bytes() for item in info.glob("*.list")},
        installed=dpkg_installed(),
    )


@pytest.fixture(scope="session")
def pip_site() -> Path:
    return package_content.pip_site("urllib3==1.25.8", "jinja2==2.10")


@pytest.fixture(scope="session")
def pip_site_upgrade() -> Path:
    return package_content.pip_site("urllib3==1.26.18")


@pytest.fixture(scope="session")
def npm_project() -> Path:
    return package_content.npm_project("lodash@4.17.15")


@pytest.fixture(scope="session")
def rpm_database() -> RpmDatabase:
    return package_content.rpm_database()
