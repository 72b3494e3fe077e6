"""Logging in with OpenID Connect through the API, against the real provider of
``support.oidc_provider``: the redirect, the callback, the session, group sync, and a CLI
token that then logs the OIDC user in to the registry (who has no password)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from support.oidc_fixtures import oidc_server  # noqa: F401
from support.oidc_provider import REDIRECT_URI, OidcProviderServer, login_through

from cargohold.app import create_app
from cargohold.auth.access import create_organization
from cargohold.auth.services import AuthServices
from cargohold.config import load_settings
from cargohold.db.auth_models import Account, Team, TeamMember
from cargohold.db.migrate import upgrade

from .conftest import BASE_URL, error


@pytest.fixture
async def client(
    database_url: str,
    tmp_path: Path,
    oidc_server: OidcProviderServer,  # noqa: F811
) -> AsyncIterator[httpx.AsyncClient]:
    settings = load_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        access_log=False,
        background_workers=False,
        oidc=oidc_server.settings(redirect_uri=REDIRECT_URI),
    )
    await asyncio.to_thread(upgrade, settings.effective_database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client


async def _login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    """The whole browser dance; the callback's response."""
    start = await client.get("/auth/oidc/login", params={"next": "/api/v1/user"})
    assert start.status_code == 302, start.text
    location = start.headers["location"]
    assert "code_challenge_method=S256" in location
    params = await login_through(location, username, password)
    return await client.get("/auth/oidc/callback", params=params)


async def test_login_makes_the_account_and_a_session(client: httpx.AsyncClient) -> None:
    providers = (await client.get("/auth/providers")).json()["providers"]
    assert [p["kind"] for p in providers] == ["password", "oidc"]

    callback = await _login(client, "alice", "alice-pw")
    assert callback.status_code == 302
    assert callback.headers["location"] == "/api/v1/user"
    assert "cargohold_session" in client.cookies
    me = await client.get("/user")
    assert me.status_code == 200, me.text
    assert me.json()["name"] == "alice"
    assert me.json()["email"] == "alice@example.org"


async def test_groups_claim_syncs_teams(client: httpx.AsyncClient) -> None:
    auth: AuthServices = client._transport.app.state.auth  # type: ignore[attr-defined]
    db = auth.accounts._db
    async with db.write() as session:
        org = await create_organization(session, "acme", None)
        team = Team(
            namespace_id=org.id,
            name="devs",
            role="creator",
            sync_provider="oidc",
            sync_group="developers",
        )
        session.add(team)
    assert (await _login(client, "alice", "alice-pw")).status_code == 302
    async with db.read() as session:
        members = (
            await session.execute(
                select(Account.name).join(TeamMember).where(TeamMember.team_id == team.id)
            )
        ).scalars()
        assert list(members) == ["alice"]


async def test_cli_token_logs_the_oidc_user_in_to_the_registry(client: httpx.AsyncClient) -> None:
    assert (await _login(client, "alice", "alice-pw")).status_code == 302
    created = await client.post("/user/tokens", json={"name": "laptop"})
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    client.cookies.clear()
    credentials = base64.b64encode(f"alice:{token}".encode()).decode()
    response = await client.get(
        "http://registry.test/v2/auth",
        params={"service": "cargohold", "scope": "repository:alice/app:pull,push"},
        headers={"Authorization": f"Basic {credentials}"},
    )
    assert response.status_code == 200, response.text
    bearer = {"Authorization": f"Bearer {response.json()['token']}"}
    upload = await client.post("http://registry.test/v2/alice/app/blobs/uploads/", headers=bearer)
    assert upload.status_code == 202, upload.text


async def test_username_falls_back_to_the_email(client: httpx.AsyncClient) -> None:
    assert (await _login(client, "bob", "bob-pw")).status_code == 302
    assert (await client.get("/user")).json()["name"] == "bob"


async def test_denied_and_forged_logins_are_refused(client: httpx.AsyncClient) -> None:
    start = await client.get("/auth/oidc/login")
    denied = await login_through(start.headers["location"], "alice", "alice-pw", deny=True)
    error(await client.get("/auth/oidc/callback", params=denied), 401, "UNAUTHORIZED")

    start = await client.get("/auth/oidc/login")
    params = await login_through(start.headers["location"], "alice", "alice-pw")
    forged = params | {"state": "not-the-state"}
    error(await client.get("/auth/oidc/callback", params=forged), 401, "UNAUTHORIZED")

    client.cookies.clear()
    error(await client.get("/auth/oidc/callback", params=params), 401, "UNAUTHORIZED")
    assert (await client.get("/user")).status_code == 401


async def test_next_cannot_redirect_elsewhere(client: httpx.AsyncClient) -> None:
    start = await client.get("/auth/oidc/login", params={"next": "//evil.example/x"})
    params = await login_through(start.headers["location"], "alice", "alice-pw")
    callback = await client.get("/auth/oidc/callback", params=params)
    assert callback.headers["location"] == "/api/v1/user"
