"""LDAP users log in to cargohold: accounts made on first login, teams synced from groups,
against the real slapd of ``support.slapd``. Each test adds its own users and groups, as
the directory is shared by the session."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from support.ldap_fixtures import slapd_server  # noqa: F401
from support.slapd import SlapdServer, slapd_settings

from cargohold.auth.access import create_organization
from cargohold.auth.ldap import LdapProvider
from cargohold.auth.secrets import TokenKind
from cargohold.auth.services import AuthServices
from cargohold.db.auth_models import Account, Team, TeamMember
from cargohold.db.models import Namespace
from cargohold.db.session import Database

from .conftest import SECRET


@pytest.fixture
async def ldap_auth(auth_db: Database, slapd_server: SlapdServer) -> AuthServices:  # noqa: F811
    provider = LdapProvider(slapd_settings(slapd_server))
    services = AuthServices.build(
        auth_db, secret=SECRET, service="cargohold", token_lifetime=300, ldap=provider
    )
    await services.keys.load()
    return services


def _uid() -> str:
    return f"u{uuid.uuid4().hex[:10]}"


async def _team_members(db: Database, team_id: int) -> set[str]:
    async with db.read() as session:
        rows = await session.execute(
            select(Account.name)
            .join(TeamMember, TeamMember.account_id == Account.id)
            .where(TeamMember.team_id == team_id)
        )
        return set(rows.scalars())


async def test_first_login_makes_the_account_and_its_namespace(
    ldap_auth: AuthServices,
    auth_db: Database,
    slapd_server: SlapdServer,  # noqa: F811
) -> None:
    uid = _uid()
    slapd_server.add_user(uid, password="directory-pw", mail=f"{uid}@corp.example")
    assert await ldap_auth.accounts.authenticate(uid, "wrong") is None
    assert await ldap_auth.accounts.find(uid) is None

    principal = await ldap_auth.accounts.authenticate(uid, "directory-pw")
    assert principal is not None and principal.name == uid and principal.kind == "user"
    account = await ldap_auth.accounts.find(uid)
    assert account is not None
    assert (account.provider, account.email, account.password_hash) == (
        "ldap",
        f"{uid}@corp.example",
        None,
    )
    assert account.external_subject is not None and uid in account.external_subject
    async with auth_db.read() as session:
        namespace = (
            await session.execute(select(Namespace).where(Namespace.name == uid))
        ).scalar_one()
    assert (namespace.kind, namespace.owner_id) == ("user", account.id)

    again = await ldap_auth.accounts.authenticate(uid, "directory-pw")
    assert again is not None and again.account_id == principal.account_id


async def test_groups_sync_into_teams_at_each_login(
    ldap_auth: AuthServices,
    auth_db: Database,
    slapd_server: SlapdServer,  # noqa: F811
) -> None:
    uid, other, group = _uid(), _uid(), f"g{uuid.uuid4().hex[:8]}"
    slapd_server.add_user(uid)
    slapd_server.add_user(other)
    slapd_server.add_group(group, [uid, other])
    async with auth_db.write() as session:
        org = await create_organization(session, f"org-{group}", None)
        team = Team(
            namespace_id=org.id,
            name="synced",
            role="member",
            sync_provider="ldap",
            sync_group=group,
        )
        session.add(team)
        await session.flush()
        team_id = team.id

    assert await ldap_auth.accounts.authenticate(uid, f"{uid}-pw") is not None
    assert await _team_members(auth_db, team_id) == {uid}

    slapd_server.remove_from_group(group, uid)
    assert await ldap_auth.accounts.authenticate(uid, f"{uid}-pw") is not None
    assert await _team_members(auth_db, team_id) == set()


async def test_ldap_users_get_cli_tokens_that_work_without_the_directory(
    ldap_auth: AuthServices,
    auth_db: Database,
    slapd_server: SlapdServer,  # noqa: F811
) -> None:
    uid = _uid()
    slapd_server.add_user(uid)
    principal = await ldap_auth.accounts.authenticate(uid, f"{uid}-pw")
    assert principal is not None and principal.account_id is not None
    token = await ldap_auth.accounts.create_token(principal.account_id, TokenKind.CLI, "ci")
    unreachable = AuthServices.build(
        auth_db,
        secret=SECRET,
        service="cargohold",
        token_lifetime=300,
        ldap=LdapProvider(slapd_settings(slapd_server, url="ldap://127.0.0.1:9")),
    )
    assert await unreachable.accounts.authenticate(uid, token.text) is not None


async def test_a_local_account_is_not_taken_over_by_a_directory_entry(
    ldap_auth: AuthServices,
    slapd_server: SlapdServer,  # noqa: F811
) -> None:
    uid = _uid()
    await ldap_auth.accounts.create_user(uid, password="local password")
    slapd_server.add_user(uid, password="directory password")
    assert await ldap_auth.accounts.authenticate(uid, "directory password") is None
    assert await ldap_auth.accounts.authenticate(uid, "local password") is not None
