"""Fixtures of the management API tests: the registry application in process on a fresh,
migrated database (SQLite and PostgreSQL, through ``database_url``), called over httpx
without a socket.

Contract:

- ``api`` (function): an ``Api``. ``api.client`` is an ``httpx.AsyncClient`` whose base
  URL is ``/api/v1``; it sends no credentials unless a request passes ``headers`` (and
  keeps cookies, for the session tests). Exceptions that escape every handler reach the
  test. ``api.root`` is the superuser ``root``. ``await api.user(name)`` makes a user and
  returns a ``Caller`` whose ``headers`` log in with a new CLI token (basic credentials:
  no argon2 work per request); ``await api.bearer(caller, *scopes)`` returns the headers
  of a new API token with those scopes; ``await api.events(kind)`` reads the audit log,
  newest first. The background workers do not run.
- ``error(response, status, code)``: asserts the registry's error body.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from cargohold.app import create_app
from cargohold.auth.audit import AuditQuery, render_event
from cargohold.auth.secrets import TokenKind
from cargohold.auth.services import AuthServices
from cargohold.config import load_settings

BASE_URL = "http://registry.test/api/v1"


@dataclass(frozen=True, slots=True)
class Caller:
    name: str
    account_id: int
    headers: dict[str, str]


def basic(username: str, secret: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


@dataclass
class Api:
    app: Starlette
    client: httpx.AsyncClient
    root: Caller

    @property
    def auth(self) -> AuthServices:
        auth: AuthServices = self.app.state.auth
        return auth

    async def user(
        self, name: str, *, superuser: bool = False, password: str | None = None
    ) -> Caller:
        account_id = await self.auth.accounts.create_user(
            name, superuser=superuser, password=password
        )
        return await self.login(name, account_id)

    async def login(self, name: str, account_id: int) -> Caller:
        token = await self.auth.accounts.create_token(account_id, TokenKind.CLI, "tests")
        return Caller(name, account_id, basic(name, token.text))

    async def bearer(self, caller: Caller, *scopes: str) -> dict[str, str]:
        token = await self.auth.accounts.create_token(
            caller.account_id, TokenKind.API, "tests", scopes=scopes
        )
        return {"Authorization": f"Bearer {token.text}"}

    async def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        events = await self.auth.audit.list(AuditQuery(kind=kind, limit=1000))
        return [render_event(e) for e in events]

    async def organization(self, name: str, owner: Caller) -> None:
        response = await self.client.post(
            "/organization", json={"name": name}, headers=owner.headers
        )
        assert response.status_code == 201, response.text

    async def repository(
        self, name: str, creator: Caller, visibility: str = "private"
    ) -> dict[str, Any]:
        namespace, _, path = name.partition("/")
        body = {"namespace": namespace, "name": path, "visibility": visibility}
        response = await self.client.post("/repository", json=body, headers=creator.headers)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The first error of the registry's error body, after checking status and code."""
    assert response.status_code == status, (response.status_code, response.text)
    [first] = response.json()["errors"]
    assert first["code"] == code, first
    assert isinstance(first["message"], str)
    return dict(first)


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    settings = load_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        access_log=False,
        background_workers=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            world = Api(app, client, Caller("root", 0, {}))
            world.root = await world.user("root", superuser=True)
            yield world


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The fuzzer's DELETE operations run after its others, on each database, so that
    those meet what earlier operations made (``test_fuzz``)."""
    slots = [i for i, item in enumerate(items) if item.nodeid.startswith(FUZZ_TEST)]
    fuzz = sorted((items[i] for i in slots), key=_fuzz_order)
    for slot, item in zip(slots, fuzz, strict=True):
        items[slot] = item


FUZZ_TEST = "tests/api/test_fuzz.py::"


def _fuzz_order(item: pytest.Item) -> tuple[str, bool]:
    database = item.nodeid.rsplit("[", 1)[-1]
    return database, "[DELETE " in item.nodeid
