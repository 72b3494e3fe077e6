"""The permission matrix over HTTP: every kind of caller, every registry action, on a
private and a public repository, through the token endpoint and /v2 as a client does.

The world: organization ``acme`` owned by ``owner``; teams ``admins`` (admin: ``teamadmin``),
``builders`` (creator: ``creator``), ``devs`` (member: ``dev``, with write on
acme/private through the team) and ``lurkers`` (member: ``lurker``, no permission);
``reader`` has read on acme/private directly; robot ``acme+ci`` has read too; ``outsider``
belongs to nothing; ``root`` is a superuser. ``dev`` also logs in with a CLI token, an
expired one and a revoked one. acme/private is private, acme/public public.

Expected answers, as the module docstring of ``cargohold.oci.access`` explains them:
allowed; ``401`` for anonymous callers (so that the client logs in); ``NAME_UNKNOWN`` for
pulls of a private repository the caller may not see; ``DENIED`` for writes.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from support.postgres import PostgresServer

from cargohold.app import create_app
from cargohold.auth.access import create_organization, create_repository
from cargohold.auth.secrets import TokenKind
from cargohold.auth.services import AuthServices
from cargohold.config import load_settings
from cargohold.db.auth_models import Account, RepositoryPermission, Team, TeamMember
from cargohold.db.migrate import upgrade
from cargohold.db.models import Repository, utcnow

from .helpers import push_image

PASSWORD = "a long test password"
PRIVATE, PUBLIC = "acme/private", "acme/public"


@dataclass
class Caller:
    name: str
    credentials: tuple[str, str] | None


@dataclass
class World:
    client: httpx.AsyncClient
    auth: AuthServices
    callers: dict[str, Caller]


async def _token(client: httpx.AsyncClient, caller: Caller, scope: str) -> httpx.Response:
    headers = {}
    if caller.credentials is not None:
        raw = ":".join(caller.credentials).encode()
        headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
    return await client.get(
        "/v2/auth", params={"service": "cargohold", "scope": scope}, headers=headers
    )


async def _as(world: World, who: str, scope: str) -> dict[str, str]:
    """Bearer headers for ``who`` with ``scope``; {} when the token endpoint refuses."""
    response = await _token(world.client, world.callers[who], scope)
    if response.status_code != 200:
        return {}
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def _make_world(auth: AuthServices, client: httpx.AsyncClient) -> dict[str, Caller]:
    names = ["root", "owner", "teamadmin", "creator", "dev", "lurker", "reader", "outsider"]
    for name in names:
        await auth.accounts.create_user(name, password=PASSWORD, superuser=name == "root")
    db = auth.accounts._db
    async with db.read() as session:
        rows = (await session.execute(select(Account.name, Account.id))).all()
        ids = {name: account_id for name, account_id in rows}
    owner = await auth.accounts.principal(ids["owner"])
    assert owner is not None
    async with db.write() as session:
        acme = await create_organization(session, "acme", ids["owner"])
        teams = {
            name: Team(namespace_id=acme.id, name=name, role=role)
            for name, role in [
                ("admins", "admin"),
                ("builders", "creator"),
                ("devs", "member"),
                ("lurkers", "member"),
            ]
        }
        session.add_all(teams.values())
        await session.flush()
        for team, member in [
            ("admins", "teamadmin"),
            ("builders", "creator"),
            ("devs", "dev"),
            ("lurkers", "lurker"),
        ]:
            session.add(TeamMember(team_id=teams[team].id, account_id=ids[member]))
        private_id = await create_repository(session, owner, PRIVATE, "private")
        await create_repository(session, owner, PUBLIC, "public")
        session.add_all(
            [
                RepositoryPermission(
                    repository_id=private_id, team_id=teams["devs"].id, role="write"
                ),
                RepositoryPermission(
                    repository_id=private_id, account_id=ids["reader"], role="read"
                ),
            ]
        )
    robot_id, robot_token = await auth.accounts.create_robot("acme", "ci")
    async with db.write() as session:
        session.add(
            RepositoryPermission(repository_id=private_id, account_id=robot_id, role="read")
        )
    cli = await auth.accounts.create_token(ids["dev"], TokenKind.CLI, "laptop")
    expired = await auth.accounts.create_token(
        ids["dev"], TokenKind.CLI, "old", expires_at=utcnow() + timedelta(seconds=1)
    )
    revoked = await auth.accounts.create_token(ids["dev"], TokenKind.CLI, "stolen")
    (_, _, revoked_info) = await auth.accounts.list_tokens(ids["dev"], TokenKind.CLI)
    await auth.accounts.revoke_token(ids["dev"], revoked_info.id, TokenKind.CLI)
    callers = {name: Caller(name, (name, PASSWORD)) for name in names}
    callers["anonymous"] = Caller("anonymous", None)
    callers["robot"] = Caller("robot", ("acme+ci", robot_token.text))
    callers["dev-cli-token"] = Caller("dev-cli-token", ("dev", cli.text))
    callers["dev-expired-token"] = Caller("dev-expired-token", ("dev", expired.text))
    callers["dev-revoked-token"] = Caller("dev-revoked-token", ("dev", revoked.text))
    callers["dev-wrong-password"] = Caller("dev-wrong-password", ("dev", "not it"))
    await asyncio.sleep(1.1)  # the expired token's second passes
    return callers


@pytest.fixture(scope="module")
async def world(
    request: pytest.FixtureRequest, database_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    directory: Path = tmp_path_factory.mktemp("matrix")
    if database_kind == "sqlite":
        url = f"sqlite:///{directory}/meta.db"
    else:
        server: PostgresServer = request.getfixturevalue("pg_server")
        url = server.create_database()
    settings = load_settings(data_dir=directory / "data", database_url=url, access_log=False)
    await asyncio.to_thread(upgrade, settings.effective_database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://registry.test"
        ) as client:
            auth: AuthServices = app.state.auth
            callers = await _make_world(auth, client)
            root = World(client, auth, callers)
            for repository in (PRIVATE, PUBLIC):
                headers = await _as(root, "root", f"repository:{repository}:pull,push")
                pushing = httpx.AsyncClient(
                    transport=transport, base_url="http://registry.test", headers=headers
                )
                async with pushing:
                    await push_image(pushing, repository, "v1", layers=1)
            yield root


async def pull(world: World, who: str, repository: str) -> httpx.Response:
    headers = await _as(world, who, f"repository:{repository}:pull")
    return await world.client.get(f"/v2/{repository}/manifests/v1", headers=headers)


async def tags(world: World, who: str, repository: str) -> httpx.Response:
    headers = await _as(world, who, f"repository:{repository}:pull")
    return await world.client.get(f"/v2/{repository}/tags/list", headers=headers)


async def push(world: World, who: str, repository: str) -> httpx.Response:
    headers = await _as(world, who, f"repository:{repository}:pull,push")
    response = await world.client.post(f"/v2/{repository}/blobs/uploads/", headers=headers)
    if response.status_code == 202:
        await world.client.delete(response.headers["location"], headers=headers)
    return response


async def delete(world: World, who: str, repository: str) -> httpx.Response:
    """Delete a tag that does not exist: allowed callers get MANIFEST_UNKNOWN."""
    headers = await _as(world, who, f"repository:{repository}:delete")
    return await world.client.delete(f"/v2/{repository}/manifests/no-such-tag", headers=headers)


def outcome(response: httpx.Response) -> str:
    """``ok``, or the error code (``MANIFEST_UNKNOWN`` means the action itself was allowed)."""
    if response.status_code < 300:
        return "ok"
    code: str = response.json()["errors"][0]["code"]
    if code == "MANIFEST_UNKNOWN":
        return "ok"
    return code


OK, HIDDEN, DENIED, LOGIN = "ok", "NAME_UNKNOWN", "DENIED", "UNAUTHORIZED"
ALL_OK = (OK, OK, OK, OK)
READ_ONLY = (OK, OK, DENIED, DENIED)
NO_ACCESS = (HIDDEN, HIDDEN, DENIED, DENIED)
LOGGED_OUT = (LOGIN, LOGIN, LOGIN, LOGIN)

# who: ((pull, tags, push, delete) on acme/private, the same on acme/public)
MATRIX: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "anonymous": (LOGGED_OUT, (OK, OK, LOGIN, LOGIN)),
    "root": (ALL_OK, ALL_OK),
    "owner": (ALL_OK, ALL_OK),
    "teamadmin": (ALL_OK, ALL_OK),
    "creator": (NO_ACCESS, READ_ONLY),
    "dev": (ALL_OK, READ_ONLY),
    "lurker": (NO_ACCESS, READ_ONLY),
    "reader": (READ_ONLY, READ_ONLY),
    "outsider": (NO_ACCESS, READ_ONLY),
    "robot": (READ_ONLY, READ_ONLY),
    "dev-cli-token": (ALL_OK, READ_ONLY),
}


@pytest.mark.parametrize("who", MATRIX)
async def test_registry_actions(world: World, who: str) -> None:
    for repository, expected in zip((PRIVATE, PUBLIC), MATRIX[who], strict=True):
        got = tuple(
            [outcome(await action(world, who, repository)) for action in (pull, tags, push, delete)]
        )
        assert got == expected, f"{who} on {repository}"


@pytest.mark.parametrize("who", ["dev-expired-token", "dev-revoked-token", "dev-wrong-password"])
async def test_bad_credentials_get_no_token(world: World, who: str) -> None:
    response = await _token(world.client, world.callers[who], f"repository:{PUBLIC}:pull")
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert "PASSWORD" not in response.text and PASSWORD not in response.text


CATALOG: dict[str, list[str]] = {
    "anonymous": [PUBLIC],
    "root": [PRIVATE, PUBLIC],
    "owner": [PRIVATE, PUBLIC],
    "teamadmin": [PRIVATE, PUBLIC],
    "creator": [PUBLIC],
    "dev": [PRIVATE, PUBLIC],
    "lurker": [PUBLIC],
    "reader": [PRIVATE, PUBLIC],
    "outsider": [PUBLIC],
    "robot": [PRIVATE, PUBLIC],
}


@pytest.mark.parametrize("who", CATALOG)
async def test_catalog_lists_only_what_the_caller_may_pull(world: World, who: str) -> None:
    headers = await _as(world, who, "registry:catalog:*")
    response = await world.client.get("/v2/_catalog", headers=headers)
    assert response.status_code == 200
    assert response.json()["repositories"] == CATALOG[who]


async def test_creator_may_create_and_then_administers_the_new_repository(world: World) -> None:
    """Administering shows as reading the repository's permissions (admin only)."""
    assert outcome(await push(world, "creator", "acme/new-by-creator")) == OK
    permissions = "/api/v1/repository/acme/new-by-creator/permissions"
    as_creator = await world.client.get(permissions, auth=("creator", PASSWORD))
    assert as_creator.status_code == 200, as_creator.text
    assert {"kind": "user", "name": "creator", "role": "admin"} in as_creator.json()
    as_lurker = await world.client.get(permissions, auth=("lurker", PASSWORD))
    assert as_lurker.status_code in (403, 404)
    assert outcome(await pull(world, "outsider", "acme/new-by-creator")) == HIDDEN


@pytest.mark.parametrize("who", ["dev", "reader", "outsider", "robot"])
async def test_no_one_but_creators_creates_repositories(world: World, who: str) -> None:
    assert outcome(await push(world, who, f"acme/not-by-{who.replace('+', '-')}")) == DENIED
    async with world.auth.accounts._db.read() as session:
        names = set((await session.execute(select(Repository.name))).scalars())
    assert f"acme/not-by-{who}" not in names


async def test_users_create_repositories_only_in_their_own_namespace(world: World) -> None:
    assert outcome(await push(world, "outsider", "outsider/mine")) == OK
    assert outcome(await push(world, "outsider", "reader/theirs")) == DENIED
    assert outcome(await push(world, "outsider", "nobody-has-this/x")) == DENIED


async def test_scope_escalation_is_refused(world: World) -> None:
    """A token for one repository does not open another, whatever the path says."""
    headers = await _as(world, "reader", f"repository:{PUBLIC}:pull")
    response = await world.client.get(f"/v2/{PRIVATE}/manifests/v1", headers=headers)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert f'scope="repository:{PRIVATE}:pull"' in response.headers["www-authenticate"]


async def test_anonymous_challenge_names_realm_service_and_scope(world: World) -> None:
    response = await world.client.get(f"/v2/{PRIVATE}/manifests/v1")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        'Bearer realm="http://registry.test/v2/auth",service="cargohold",'
        f'scope="repository:{PRIVATE}:pull"'
    )
    push_challenge = await world.client.post(f"/v2/{PRIVATE}/blobs/uploads/")
    assert f'scope="repository:{PRIVATE}:pull,push"' in push_challenge.headers["www-authenticate"]


async def test_revoking_a_token_stops_tokens_issued_from_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(world.auth.credentials.answers, "seconds", 0.0)
    account = await world.auth.accounts.find("dev")
    assert account is not None
    token = await world.auth.accounts.create_token(account.id, TokenKind.CLI, "short-lived")
    world.callers["dev-soon-revoked"] = Caller("x", ("dev", token.text))
    headers = await _as(world, "dev-soon-revoked", f"repository:{PRIVATE}:pull")
    assert (await world.client.get(f"/v2/{PRIVATE}/tags/list", headers=headers)).status_code == 200
    infos = await world.auth.accounts.list_tokens(account.id, TokenKind.CLI)
    (info,) = [i for i in infos if i.name == "short-lived"]
    await world.auth.accounts.revoke_token(account.id, info.id, TokenKind.CLI)
    response = await world.client.get(f"/v2/{PRIVATE}/tags/list", headers=headers)
    assert response.status_code == 401


async def test_wrong_service_is_refused(world: World) -> None:
    response = await world.client.get("/v2/auth", params={"service": "someone-else"})
    assert response.status_code == 400


async def test_a_token_without_the_action_asks_for_another(world: World) -> None:
    """A pull token used to push gets 403 with a challenge (oras-py reuses the token of its
    first HEAD, and asks for another on that answer), and the new token with push works."""
    pull_only = await _as(world, "dev", f"repository:{PRIVATE}:pull")
    response = await world.client.post(f"/v2/{PRIVATE}/blobs/uploads/", headers=pull_only)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert f'scope="repository:{PRIVATE}:pull,push"' in response.headers["www-authenticate"]
    assert outcome(await push(world, "dev", PRIVATE)) == OK
