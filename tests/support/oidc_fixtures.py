"""The ``oidc_server`` fixture (session): a running ``OidcProviderServer``
(see ``support.oidc_provider``).

Skips the tests that use it when ``node`` is not installed; the npm packages are installed
on first use.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from .oidc_provider import OidcProviderServer


@pytest.fixture(scope="session")
def oidc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProviderServer]:
    if shutil.which("node") is None:
        pytest.skip("node is not installed: apt-get install nodejs npm")
    server = OidcProviderServer(tmp_path_factory.mktemp("oidc"))
    try:
        server.start()
        yield server
    finally:
        server.stop()
