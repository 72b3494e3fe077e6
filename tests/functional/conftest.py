"""Fixtures for the in-process protocol tests: a registry application on a fresh database
(SQLite and PostgreSQL, via ``database_url``) reached through ``httpx`` without a socket,
by clients that log in as Docker clients do (``support.auth.RegistryAuth``).

Contract:

- ``registry_settings`` (function): the application's settings: blobs under ``tmp_path``,
  the test's database, no access log. A module overrides this fixture to change settings.
- ``registry_app`` (function): the application (``create_app``) on a migrated database,
  its lifespan running for the whole test (``app.state.auth`` and ``app.state.services``
  are ready), with one superuser, ``admin`` (``ADMIN_USER``). It has no password: hashing
  one costs an argon2 run (0.15 s here, by design) that most tests do not need; a test of
  password logins sets one (``ADMIN_PASSWORD``).
- ``client_as`` (function): ``client_as(username, secret)`` returns an ``httpx.AsyncClient``
  bound to ``registry_app`` over ``httpx.ASGITransport`` that logs in with those
  credentials (a password, or a CLI or robot token); ``client_as(None)`` is anonymous.
  Application exceptions that escape every handler reach the test
  (``raise_app_exceptions``), as a broken request body does. Closed at teardown.
- ``registry_client`` (function): a client logged in as ``admin`` with a CLI token, as CI
  jobs log in (a password would cost an argon2 verification per token).
- ``anonymous_client`` (function): a client without credentials (anonymous tokens).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from support.auth import ADMIN_USER, RegistryAuth

from cargohold.app import create_app
from cargohold.auth.secrets import TokenKind
from cargohold.config import Settings

from .helpers import ClientFactory, functional_settings

BASE_URL = "http://registry.test"


@pytest.fixture
def registry_settings(database_url: str, tmp_path: Path) -> Settings:
    return functional_settings(database_url, tmp_path)


@pytest.fixture
async def registry_app(registry_settings: Settings) -> AsyncIterator[Starlette]:
    app = create_app(registry_settings)
    async with app.router.lifespan_context(app):
        await app.state.auth.accounts.create_user(ADMIN_USER, superuser=True)
        yield app


@pytest.fixture
async def client_as(registry_app: Starlette) -> AsyncIterator[ClientFactory]:
    clients: list[httpx.AsyncClient] = []

    def make(username: str | None, secret: str | None = None) -> httpx.AsyncClient:
        credentials = None if username is None else (username, secret or "")
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=registry_app),
            base_url=BASE_URL,
            auth=RegistryAuth(credentials),
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def registry_client(registry_app: Starlette, client_as: ClientFactory) -> httpx.AsyncClient:
    accounts = registry_app.state.auth.accounts
    admin = await accounts.find(ADMIN_USER)
    assert admin is not None
    token = await accounts.create_token(admin.id, TokenKind.CLI, "protocol tests")
    return client_as(ADMIN_USER, token.text)


@pytest.fixture
def anonymous_client(client_as: ClientFactory) -> httpx.AsyncClient:
    return client_as(None)
