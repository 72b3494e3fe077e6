"""Who may do what: roles from ownership, teams, permissions and visibility, on both
databases, through ``AccessService`` (the token endpoint's source of truth)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from cargohold.auth.access import create_organization, create_repository
from cargohold.auth.principal import ANONYMOUS_PRINCIPAL, Principal
from cargohold.auth.scopes import DELETE, PULL, PUSH, Role, parse_scopes
from cargohold.auth.secrets import TokenKind
from cargohold.auth.services import AuthServices
from cargohold.content.catalog import CatalogService
from cargohold.content.pagination import PageRequest
from cargohold.db.auth_models import DefaultPermission, RepositoryPermission, Team, TeamMember
from cargohold.db.models import Repository
from cargohold.db.session import Database


@dataclass
class World:
    """acme (organization): alice in owners; bob in ``devs`` (member) with write on
    acme/app; carol in ``builders`` (creator); the robot acme+ci with read on acme/app.
    dave has no link to acme. root is a superuser. acme/app is private, acme/site public;
    alice/own lives in alice's namespace. New acme repositories give ``devs`` read."""

    auth: AuthServices
    people: dict[str, Principal]


async def _principal(auth: AuthServices, name: str) -> Principal:
    account = await auth.accounts.find(name)
    assert account is not None
    principal = await auth.accounts.principal(account.id)
    assert principal is not None
    return principal


@pytest.fixture
async def world(auth: AuthServices, auth_db: Database) -> World:
    for name in ("alice", "bob", "carol", "dave"):
        await auth.accounts.create_user(name)  # argon2 is slow by design: no passwords here
    await auth.accounts.create_user("root", superuser=True)
    alice = await _principal(auth, "alice")
    async with auth_db.write() as session:
        acme = await create_organization(session, "acme", alice.account_id)
    robot_id, _ = await auth.accounts.create_robot("acme", "ci")
    bob = await _principal(auth, "bob")
    carol = await _principal(auth, "carol")
    async with auth_db.write() as session:
        devs = Team(namespace_id=acme.id, name="devs", role="member")
        builders = Team(namespace_id=acme.id, name="builders", role="creator")
        session.add_all([devs, builders])
        await session.flush()
        session.add_all(
            [
                TeamMember(team_id=devs.id, account_id=bob.account_id),
                TeamMember(team_id=builders.id, account_id=carol.account_id),
            ]
        )
        app_id = await create_repository(session, alice, "acme/app", "private")
        await create_repository(session, alice, "acme/site", "public")
        await create_repository(session, alice, "alice/own", "private")
        session.add_all(
            [
                RepositoryPermission(repository_id=app_id, team_id=devs.id, role="write"),
                RepositoryPermission(repository_id=app_id, account_id=robot_id, role="read"),
                DefaultPermission(namespace_id=acme.id, team_id=devs.id, role="read"),
            ]
        )
    people = {name: await _principal(auth, name) for name in ("alice", "dave", "root")}
    people |= {"bob": bob, "carol": carol, "acme+ci": await _principal(auth, "acme+ci")}
    people["anonymous"] = ANONYMOUS_PRINCIPAL
    return World(auth, people)


ALL = frozenset({PULL, PUSH, DELETE})
READ = frozenset({PULL})
NONE: frozenset[str] = frozenset()

EXPECTED = {
    # who: (acme/app, acme/site, alice/own, acme/new, alice/new, elsewhere/new)
    "root": (ALL, ALL, ALL, ALL, ALL, ALL),
    "alice": (ALL, ALL, ALL, ALL, ALL, NONE),
    "bob": (ALL, READ, NONE, NONE, NONE, NONE),
    "carol": (NONE, READ, NONE, ALL, NONE, NONE),
    "acme+ci": (READ, READ, NONE, NONE, NONE, NONE),
    "dave": (NONE, READ, NONE, NONE, NONE, NONE),
    "anonymous": (NONE, READ, NONE, NONE, NONE, NONE),
}
REPOSITORIES = ("acme/app", "acme/site", "alice/own", "acme/new", "alice/new", "elsewhere/new")


@pytest.mark.parametrize("who", EXPECTED)
async def test_permission_matrix(world: World, who: str) -> None:
    principal = world.people[who]
    got = []
    for name in REPOSITORIES:
        got.append((await world.auth.access.repository_access(principal, name)).actions())
    assert tuple(got) == EXPECTED[who]


async def test_grants_are_partial_not_errors(world: World) -> None:
    scopes = parse_scopes(
        ["repository:acme/site:pull,push", "repository:acme/app:*", "registry:catalog:*"]
    )
    grants = await world.auth.access.grants(world.people["dave"], scopes)
    assert [(g.name, g.actions, g.refused) for g in grants] == [
        ("acme/site", ("pull",), ("push",)),
        ("acme/app", (), ("delete", "pull", "push")),
        ("catalog", ("*",), ()),
    ]


async def test_invalid_names_and_unknown_types_get_no_grant(world: World) -> None:
    scopes = parse_scopes(["repository:../etc:pull", "repository:UPPER:pull", "plugin:x:pull"])
    assert await world.auth.access.grants(world.people["root"], scopes) == []


async def test_creator_gets_admin_on_the_repository_it_creates(world: World) -> None:
    carol = world.people["carol"]
    await world.auth.access.ensure_for_push(carol, "acme/made-by-carol")
    access = await world.auth.access.repository_access(carol, "acme/made-by-carol")
    assert access.role is Role.ADMIN
    # the namespace's default permission applied: devs (bob) may read it
    bob_access = await world.auth.access.repository_access(
        world.people["bob"], "acme/made-by-carol"
    )
    assert bob_access.role is Role.READ


async def test_superuser_push_to_unknown_namespace_makes_an_organization(
    world: World, auth_db: Database
) -> None:
    await world.auth.access.ensure_for_push(world.people["root"], "neworg/app")
    async with auth_db.read() as session:
        owners = (await session.execute(select(Team.name).where(Team.role == "admin"))).scalars()
        assert "owners" in set(owners)
    assert (
        await world.auth.access.repository_access(world.people["dave"], "neworg/app")
    ).actions() == NONE


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [
        ("repo:read", READ),
        ("repo:write", ALL),
        ("repo:read repo:create", READ),
        ("", NONE),
    ],
)
async def test_api_token_scopes_cap_the_role(
    world: World, scopes: str, expected: frozenset[str]
) -> None:
    alice = world.people["alice"]
    capped = Principal(alice.account_id, alice.name, "user", scopes=frozenset(scopes.split()))
    assert (await world.auth.access.repository_access(capped, "acme/app")).actions() == expected
    may_create = (await world.auth.access.repository_access(capped, "alice/new")).actions()
    assert may_create == (ALL if "repo:create" in scopes else NONE)


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("root", ["acme/app", "acme/site", "alice/own"]),
        ("alice", ["acme/app", "acme/site", "alice/own"]),
        ("bob", ["acme/app", "acme/site"]),
        ("acme+ci", ["acme/app", "acme/site"]),
        ("dave", ["acme/site"]),
        ("anonymous", ["acme/site"]),
    ],
)
async def test_catalog_lists_only_what_the_caller_may_pull(
    world: World, auth_db: Database, who: str, visible: list[str]
) -> None:
    condition = world.auth.access.visible(world.people[who])
    page = await CatalogService(auth_db).list(PageRequest(100, None), condition)
    assert page.names == visible


async def test_tokens_log_in_only_as_their_owner(world: World) -> None:
    bob = world.people["bob"]
    assert bob.account_id is not None
    token = await world.auth.accounts.create_token(bob.account_id, TokenKind.CLI, "laptop")
    assert (await world.auth.accounts.authenticate("bob", token.text)) is not None
    assert await world.auth.accounts.authenticate("alice", token.text) is None
    (info,) = await world.auth.accounts.list_tokens(bob.account_id, TokenKind.CLI)
    await world.auth.accounts.revoke_token(bob.account_id, info.id, TokenKind.CLI)
    assert await world.auth.accounts.authenticate("bob", token.text) is None
    assert not await world.auth.accounts.credential_valid(bob.account_id, info.id)


async def test_robot_token_regeneration_invalidates_the_old_one(world: World) -> None:
    robot = world.people["acme+ci"]
    assert robot.account_id is not None
    first = await world.auth.accounts.regenerate_robot_token(robot.account_id)
    assert await world.auth.accounts.authenticate("acme+ci", first.text) is not None
    second = await world.auth.accounts.regenerate_robot_token(robot.account_id)
    assert await world.auth.accounts.authenticate("acme+ci", first.text) is None
    assert await world.auth.accounts.authenticate("acme+ci", second.text) is not None


async def test_passwords(world: World) -> None:
    bob = world.people["bob"]
    assert bob.account_id is not None
    assert await world.auth.accounts.authenticate("bob", "bob-password") is None
    await world.auth.accounts.set_password(bob.account_id, "bob-password")
    assert await world.auth.accounts.authenticate("bob", "bob-password") is not None
    assert await world.auth.accounts.authenticate("bob", "alice-password") is None
    assert await world.auth.accounts.authenticate("nobody", "bob-password") is None
    assert await world.auth.accounts.authenticate("acme+ci", "") is None


async def test_deleting_a_repository_row_removes_its_permissions(
    world: World, auth_db: Database
) -> None:
    async with auth_db.write() as session:
        repository = (
            await session.execute(select(Repository).where(Repository.name == "acme/app"))
        ).scalar_one()
        await session.delete(repository)
    async with auth_db.read() as session:
        left = (await session.execute(select(RepositoryPermission))).scalars().all()
    assert all(p.repository_id != repository.id for p in left)
