"""The ``slapd_server`` fixture (session): a seeded ``SlapdServer`` (see ``support.slapd``).

Skips the tests that use it when ``slapd`` is not installed (Debian: ``slapd ldap-utils``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .slapd import SlapdServer, find_slapd


@pytest.fixture(scope="session")
def slapd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlapdServer]:
    slapd = find_slapd()
    if slapd is None:
        pytest.skip("slapd is not installed: apt-get install slapd ldap-utils")
    server = SlapdServer(tmp_path_factory.mktemp("slapd"), slapd)
    try:
        server.start()
        yield server
    finally:
        server.stop()
