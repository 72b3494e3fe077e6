"""Organizations, their teams and members, default permissions and robots; who may see and
administer a namespace or a repository, and whose audit log.

A caller gets ``NotFound`` for what they may not see, ``Denied`` for what they see but may
not change, and ``Unauthorized`` when they are anonymous and logging in might help:

- an organization is seen by superusers and by the members of its teams (robots too), and
  administered by superusers and by members of its ``admin`` teams;
- a user's namespace is seen and administered by its owner and by superusers;
- a repository is seen by whoever may pull it (``access.repository_access``);
- an API token caps all of this: administering an organization needs ``org:admin``, the
  caller's own namespace ``user:admin``, a repository ``repo:admin``, and a superuser's
  powers ``super:user``.

An organization keeps at least one user in an admin team: a change that would leave none
is refused (``InvalidRequest``), so that only a superuser could undo a lock-out. A robot
belongs to one namespace and is only given that namespace's teams and permissions.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cargohold.auth.access import (
    TEAM_ROLES,
    create_organization,
    is_superuser,
    repository_access,
    team_role,
)
from cargohold.auth.accounts import MAX_USERNAME_LENGTH, AccountService, validate_account_name
from cargohold.auth.principal import ROBOT, USER, Principal
from cargohold.auth.scopes import Role
from cargohold.auth.secrets import NewToken
from cargohold.content.gc import request_collection
from cargohold.db.auth_models import Account, DefaultPermission, Team, TeamMember
from cargohold.db.models import Namespace
from cargohold.db.session import Database
from cargohold.errors import AlreadyExists, Denied, InvalidRequest, NotFound, Unauthorized

ORGANIZATION = "organization"
TEAM, ACCOUNT = "team", "user"
"""The two kinds of grantee of a permission: a team, or an account (user or robot)."""
TEAM_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
SYNC_PROVIDERS = ("ldap", "oidc")
NAMESPACE_SCOPES = {USER: "user:admin", ORGANIZATION: "org:admin"}


@dataclass(frozen=True, slots=True)
class OrganizationInfo:
    name: str
    email: str | None
    created_at: datetime
    is_admin: bool


@dataclass(frozen=True, slots=True)
class TeamInfo:
    name: str
    role: str
    description: str | None
    sync_provider: str | None
    sync_group: str | None
    members: int


@dataclass(frozen=True, slots=True)
class TeamSettings:
    """What ``PUT`` sets on a team; ``sync_group`` names the identity provider's group whose
    members the team mirrors at each login through ``sync_provider``."""

    role: str
    description: str | None = None
    sync_provider: str | None = None
    sync_group: str | None = None


@dataclass(frozen=True, slots=True)
class Member:
    """An account in an organization, with the teams it is in there."""

    name: str
    kind: str
    teams: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Grant:
    """A role given to a team or an account (``kind`` ``team`` or ``user``)."""

    kind: str
    name: str
    role: str


@dataclass(frozen=True, slots=True)
class RobotInfo:
    name: str
    short_name: str
    description: str | None
    created_at: datetime
    last_used_at: datetime | None


# -- who sees and administers what ----------------------------------------------------------


def unseen(principal: Principal, message: str) -> Exception:
    """The refusal for something the principal may not see."""
    if principal.is_anonymous:
        return Unauthorized("authentication required")
    return NotFound(message)


async def seen_namespace(
    session: AsyncSession, principal: Principal, name: str, kind: str | None = None
) -> Namespace:
    """Namespace ``name`` (of ``kind`` when given) if the principal sees it."""
    namespace = (
        await session.execute(select(Namespace).where(Namespace.name == name))
    ).scalar_one_or_none()
    what = kind or "user or organization"
    if namespace is None or (kind is not None and namespace.kind != kind):
        raise unseen(principal, f"no {what} {name!r}")
    if not await _sees(session, principal, namespace):
        raise unseen(principal, f"no {what} {name!r}")
    return namespace


async def _sees(session: AsyncSession, principal: Principal, namespace: Namespace) -> bool:
    if is_superuser(principal):
        return True
    if principal.account_id is None:
        return False
    if namespace.kind == USER:
        return namespace.owner_id == principal.account_id
    return await team_role(session, principal.account_id, namespace.id) is not None


async def administers(session: AsyncSession, principal: Principal, namespace: Namespace) -> bool:
    """Whether the principal administers the namespace (it sees it: ``seen_namespace``)."""
    scope = NAMESPACE_SCOPES.get(namespace.kind, "org:admin")
    if principal.account_id is None or (
        principal.scopes is not None and scope not in principal.scopes
    ):
        return False
    if is_superuser(principal):
        return True
    if namespace.kind == USER:
        return namespace.owner_id == principal.account_id
    return await team_role(session, principal.account_id, namespace.id) == "admin"


async def namespace_admin(
    session: AsyncSession, principal: Principal, name: str, kind: str | None = None
) -> Namespace:
    """Namespace ``name`` if the principal administers it."""
    namespace = await seen_namespace(session, principal, name, kind)
    if not await administers(session, principal, namespace):
        scope = NAMESPACE_SCOPES.get(namespace.kind, "org:admin")
        raise Denied(f"administering {name!r} needs its admin role (and an API token's {scope})")
    return namespace


async def require_repository_role(
    session: AsyncSession, principal: Principal, name: str, needed: Role
) -> None:
    """Refuse unless the principal has ``needed`` on repository ``name``."""
    access = await repository_access(session, principal, name)
    if not access.exists or access.role is None:
        raise unseen(principal, f"no repository {name!r}")
    if access.role < needed:
        if principal.is_anonymous:
            raise Unauthorized("authentication required")
        raise Denied(f"this needs {needed.label} permission on repository {name!r}")


async def grantee(
    session: AsyncSession, namespace: Namespace, kind: str, name: str
) -> dict[str, Any]:
    """The ``account_id``/``team_id`` columns naming a grantee of the namespace: one of its
    teams, a user, or one of its robots."""
    if kind == TEAM:
        return {"team_id": (await find_team(session, namespace, name)).id, "account_id": None}
    account = await member_account(session, namespace, name)
    return {"team_id": None, "account_id": account.id}


async def find_team(session: AsyncSession, namespace: Namespace, name: str) -> Team:
    team = (
        await session.execute(
            select(Team).where(Team.namespace_id == namespace.id, Team.name == name)
        )
    ).scalar_one_or_none()
    if team is None:
        raise NotFound(f"no team {name!r} in {namespace.name!r}")
    return team


async def member_account(session: AsyncSession, namespace: Namespace, name: str) -> Account:
    """User or robot ``name``, which may be given a role in the namespace: a robot only in
    its own."""
    account = (
        await session.execute(select(Account).where(Account.name == name))
    ).scalar_one_or_none()
    if account is None:
        raise NotFound(f"no user or robot {name!r}")
    if account.kind == ROBOT and account.robot_namespace_id != namespace.id:
        raise InvalidRequest(f"robot {name!r} belongs to another namespace than {namespace.name!r}")
    return account


@asynccontextmanager
async def unique_write(db: Database, message: str) -> AsyncIterator[AsyncSession]:
    """A write transaction whose unique-constraint conflict (a concurrent writer made the same
    row) is ``AlreadyExists``."""
    try:
        async with db.write() as session:
            yield session
    except IntegrityError as exc:
        raise AlreadyExists(message) from exc


async def name_taken(session: AsyncSession, name: str) -> bool:
    """Whether a user, robot or organization has ``name``."""
    for column in (Namespace.name, Account.name):
        if (await session.execute(select(column).where(column == name))).first() is not None:
            return True
    return False


# -- organizations, teams, members, default permissions -------------------------------------


class OrganizationService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self, principal: Principal, name: str, email: str | None = None
    ) -> OrganizationInfo:
        """A new organization whose ``owners`` team (admin) holds the creating user."""
        validate_account_name(name)
        if principal.account_id is None or principal.kind != USER:
            raise Denied("only users create organizations")
        async with unique_write(self._db, f"the name {name!r} is already taken") as session:
            if await name_taken(session, name):
                raise AlreadyExists(f"the name {name!r} is already taken")
            namespace = await create_organization(session, name, principal.account_id, email)
            return OrganizationInfo(name, email, namespace.created_at, is_admin=True)

    async def require_admin(self, principal: Principal, namespace: str) -> None:
        """Refuse (``NotFound``, ``Unauthorized`` or ``Denied``) a principal who does not
        administer the user or organization ``namespace``."""
        async with self._db.read() as session:
            await namespace_admin(session, principal, namespace)

    async def require_seen(self, principal: Principal, namespace: str) -> None:
        """Refuse (``NotFound`` or ``Unauthorized``) a principal who does not see the user
        or organization ``namespace`` (its user, the organization's team members,
        superusers)."""
        async with self._db.read() as session:
            await seen_namespace(session, principal, namespace)

    async def get(self, principal: Principal, name: str) -> OrganizationInfo:
        async with self._db.read() as session:
            namespace = await seen_namespace(session, principal, name, ORGANIZATION)
            admin = await administers(session, principal, namespace)
            return OrganizationInfo(name, namespace.email, namespace.created_at, admin)

    async def delete(self, principal: Principal, name: str) -> None:
        """Delete the organization with its teams, robots and repositories."""
        async with self._db.write() as session:
            namespace = await namespace_admin(session, principal, name, ORGANIZATION)
            await session.execute(delete(Namespace).where(Namespace.id == namespace.id))
            await request_collection(session)

    async def members(self, principal: Principal, org: str) -> list[Member]:
        """Every account in a team of the organization, by name."""
        async with self._db.read() as session:
            namespace = await namespace_admin(session, principal, org, ORGANIZATION)
            rows = await session.execute(
                select(Account.name, Account.kind, Team.name)
                .join(TeamMember, TeamMember.account_id == Account.id)
                .join(Team, Team.id == TeamMember.team_id)
                .where(Team.namespace_id == namespace.id)
                .order_by(Account.name, Team.name)
            )
            teams: dict[tuple[str, str], list[str]] = {}
            for account, kind, team in rows:
                teams.setdefault((account, kind), []).append(team)
        return [Member(name, kind, tuple(names)) for (name, kind), names in teams.items()]

    async def teams(self, principal: Principal, org: str) -> list[TeamInfo]:
        async with self._db.read() as session:
            namespace = await seen_namespace(session, principal, org, ORGANIZATION)
            rows = await session.execute(
                select(Team, func.count(TeamMember.account_id))
                .outerjoin(TeamMember, TeamMember.team_id == Team.id)
                .where(Team.namespace_id == namespace.id)
                .group_by(Team.id)
                .order_by(Team.name)
            )
            return [_team_info(team, count) for team, count in rows]

    async def put_team(
        self, principal: Principal, org: str, name: str, settings: TeamSettings
    ) -> tuple[TeamInfo, bool]:
        """Create team ``name`` or replace its settings; the team and whether it is new."""
        _validate_team(name, settings)
        async with unique_write(self._db, f"team {name!r} already exists") as session:
            namespace = await namespace_admin(session, principal, org, ORGANIZATION)
            try:
                team = await find_team(session, namespace, name)
                created = False
            except NotFound:
                team = Team(namespace_id=namespace.id, name=name)
                session.add(team)
                created = True
            demoted = team.role == "admin" and settings.role != "admin"
            team.role = settings.role
            team.description = settings.description
            team.sync_provider = settings.sync_provider
            team.sync_group = settings.sync_group
            if demoted:
                await _require_an_admin(session, namespace)
            await session.flush()
            members = await _count_members(session, team.id)
            return _team_info(team, members), created

    async def delete_team(self, principal: Principal, org: str, name: str) -> None:
        async with self._db.write() as session:
            namespace = await namespace_admin(session, principal, org, ORGANIZATION)
            team = await find_team(session, namespace, name)
            await session.execute(delete(Team).where(Team.id == team.id))
            if team.role == "admin":
                await _require_an_admin(session, namespace)

    async def team_members(self, principal: Principal, org: str, team: str) -> list[Member]:
        async with self._db.read() as session:
            namespace = await namespace_admin(session, principal, org, ORGANIZATION)
            found = await find_team(session, namespace, team)
            rows = await session.execute(
                select(Account.name, Account.kind)
                .join(TeamMember, TeamMember.account_id == Account.id)
                .where(TeamMember.team_id == found.id)
                .order_by(Account.name)
            )
            return [Member(name, kind, (team,)) for name, kind in rows]

    async def team_member(self, principal: Principal, org: str, team: str, account: str) -> Member:
        """Account ``account`` as a member of the team; ``NotFound`` when it is not one."""
        for member in await self.team_members(principal, org, team):
            if member.name == account:
                return member
        raise NotFound(f"{account!r} is not a member of team {team!r}")

    async def add_team_member(
        self, principal: Principal, org: str, team: str, account: str
    ) -> tuple[Member, bool]:
        """Put a user or one of the organization's robots in the team; whether it was new."""
        async with unique_write(self._db, f"{account!r} is already in {team!r}") as session:
            namespace = await namespace_admin(session, principal, org, ORGANIZATION)
            found = await find_team(session, namespace, team)
            if found.sync_group is not None:
                raise InvalidRequest(
                    f"team {team!r} mirrors the {found.sync_provider} group "
                    f"{found.sync_group!r}: its members change in the directory"
                )
            member = await member_account(session, namespace, account)
            exists = await session.get(TeamMember, (found.id, member.id))
            if exists is None:
                session.add(TeamMember(team_id=found.id, account_id=member.id))
            return Member(member.name, member.kind, (team,)), exists is None

    async def remove_team_member(
        self, principal: Principal, org: str, team: str, account: str
    ) -> None:
        async with self._db.write() as session:
            namespace = await namespace_admin(session, principal, org, ORGANIZATION)
            found = await find_team(session, namespace, team)
            member = await member_account(session, namespace, account)
            row = await session.get(TeamMember, (found.id, member.id))
            if row is None:
                raise NotFound(f"{account!r} is not a member of team {team!r}")
            await session.delete(row)
            if found.role == "admin":
                await _require_an_admin(session, namespace)

    async def defaults(self, principal: Principal, org: str) -> list[Grant]:
        """The permissions every new repository of the organization starts with."""
        async with self._db.read() as session:
            namespace = await namespace_admin(session, principal, org, ORGANIZATION)
            rows = await session.execute(
                select(DefaultPermission.role, Account.name, Team.name)
                .outerjoin(Account, Account.id == DefaultPermission.account_id)
                .outerjoin(Team, Team.id == DefaultPermission.team_id)
                .where(DefaultPermission.namespace_id == namespace.id)
            )
            return sorted_grants(rows)

    async def set_default(
        self, principal: Principal, org: str, kind: str, name: str, role: str
    ) -> bool:
        """Give ``role`` on new repositories to a team or account; whether it is new."""
        Role.parse(role)
        async with unique_write(self._db, "this default permission already exists") as session:
            namespace = await namespace_admin(session, principal, org, ORGANIZATION)
            who = await grantee(session, namespace, kind, name)
            existing = await _default(session, namespace, who)
            if existing is not None:
                existing.role = role
                return False
            session.add(DefaultPermission(namespace_id=namespace.id, role=role, **who))
            return True

    async def delete_default(self, principal: Principal, org: str, kind: str, name: str) -> None:
        async with self._db.write() as session:
            namespace = await namespace_admin(session, principal, org, ORGANIZATION)
            existing = await _default(
                session, namespace, await grantee(session, namespace, kind, name)
            )
            if existing is None:
                raise NotFound(f"no default permission for {kind} {name!r}")
            await session.delete(existing)

    async def audit_filter(
        self, principal: Principal, namespace: str | None, repository: str | None
    ) -> tuple[str | None, str | None]:
        """The namespace and repository filters the principal may read the audit log with:
        a superuser any; a repository's admins its entries; a namespace's admins its
        entries; with neither given, the caller's own namespace."""
        if principal.account_id is None:
            raise Unauthorized("authentication required")
        if is_superuser(principal):
            return namespace, repository
        async with self._db.read() as session:
            if repository is not None:
                await require_repository_role(session, principal, repository, Role.ADMIN)
                return namespace, repository
            if namespace is None:
                if principal.kind != USER or principal.name is None:
                    raise Denied("a robot has no audit log of its own: name a namespace")
                namespace = principal.name
            await namespace_admin(session, principal, namespace)
            return namespace, None


def _validate_team(name: str, settings: TeamSettings) -> None:
    if not TEAM_NAME.fullmatch(name):
        raise InvalidRequest(
            f"invalid team name {name!r}: a lower-case letter, then up to 63 lower-case "
            "letters, digits or '_'"
        )
    if settings.role not in TEAM_ROLES:
        raise InvalidRequest(f"unknown team role {settings.role!r}: use {', '.join(TEAM_ROLES)}")
    if (settings.sync_group is None) != (settings.sync_provider is None):
        raise InvalidRequest("sync_group and sync_provider go together")
    if settings.sync_provider is not None and settings.sync_provider not in SYNC_PROVIDERS:
        raise InvalidRequest(f"unknown identity provider {settings.sync_provider!r}")


def _team_info(team: Team, members: int) -> TeamInfo:
    return TeamInfo(
        team.name, team.role, team.description, team.sync_provider, team.sync_group, members
    )


async def _count_members(session: AsyncSession, team_id: int) -> int:
    count = await session.execute(
        select(func.count()).select_from(TeamMember).where(TeamMember.team_id == team_id)
    )
    return int(count.scalar_one())


async def _require_an_admin(session: AsyncSession, namespace: Namespace) -> None:
    """Refuse (rolling the transaction back) when no user is left in an admin team."""
    await session.flush()
    admins = await session.execute(
        select(func.count())
        .select_from(TeamMember)
        .join(Team, Team.id == TeamMember.team_id)
        .join(Account, Account.id == TeamMember.account_id)
        .where(Team.namespace_id == namespace.id, Team.role == "admin", Account.kind == USER)
    )
    if not admins.scalar_one():
        raise InvalidRequest(
            f"this would leave organization {namespace.name!r} without an administrator"
        )


async def _default(
    session: AsyncSession, namespace: Namespace, who: dict[str, Any]
) -> DefaultPermission | None:
    column = (
        DefaultPermission.team_id == who["team_id"]
        if who["team_id"] is not None
        else DefaultPermission.account_id == who["account_id"]
    )
    return (
        await session.execute(
            select(DefaultPermission).where(DefaultPermission.namespace_id == namespace.id, column)
        )
    ).scalar_one_or_none()


def sorted_grants(rows: Any) -> list[Grant]:
    """Grants from ``(role, account name, team name)`` rows: teams first, then by name."""
    grants = [
        Grant(TEAM, team, role) if team is not None else Grant(ACCOUNT, account, role)
        for role, account, team in rows
    ]
    return sorted(grants, key=lambda g: (g.kind != TEAM, g.name))


# -- robots ---------------------------------------------------------------------------------


class RobotService:
    """The robots of a namespace, managed by its administrators (``namespace_admin``)."""

    def __init__(self, db: Database, accounts: AccountService) -> None:
        self._db = db
        self._accounts = accounts

    async def list(self, principal: Principal, namespace: str, kind: str) -> list[RobotInfo]:
        async with self._db.read() as session:
            found = await namespace_admin(session, principal, namespace, kind)
            rows = await session.execute(
                select(Account).where(Account.robot_namespace_id == found.id).order_by(Account.name)
            )
            return [_robot_info(robot) for robot in rows.scalars()]

    async def get(self, principal: Principal, namespace: str, kind: str, short: str) -> RobotInfo:
        async with self._db.read() as session:
            return _robot_info(await self._robot(session, principal, namespace, kind, short))

    async def create(
        self,
        principal: Principal,
        namespace: str,
        kind: str,
        short: str,
        description: str | None = None,
    ) -> tuple[RobotInfo, NewToken]:
        """Robot ``namespace+short`` and its token (whose text is shown once)."""
        async with self._db.read() as session:
            await namespace_admin(session, principal, namespace, kind)
        if len(namespace) + 1 + len(short) > MAX_USERNAME_LENGTH:
            raise InvalidRequest(
                f"robot name {namespace}+{short} is longer than {MAX_USERNAME_LENGTH} characters"
            )
        robot_id, token = await self._accounts.create_robot(namespace, short, description)
        async with self._db.read() as session:
            robot = await session.get(Account, robot_id)
            assert robot is not None
            return _robot_info(robot), token

    async def regenerate(
        self, principal: Principal, namespace: str, kind: str, short: str
    ) -> tuple[RobotInfo, NewToken]:
        """Revoke the robot's tokens and make a new one."""
        async with self._db.read() as session:
            robot = await self._robot(session, principal, namespace, kind, short)
        return _robot_info(robot), await self._accounts.regenerate_robot_token(robot.id)

    async def delete(self, principal: Principal, namespace: str, kind: str, short: str) -> None:
        async with self._db.read() as session:
            robot = await self._robot(session, principal, namespace, kind, short)
        await self._accounts.delete_account(robot.id)

    async def _robot(
        self, session: AsyncSession, principal: Principal, namespace: str, kind: str, short: str
    ) -> Account:
        found = await namespace_admin(session, principal, namespace, kind)
        robot = (
            await session.execute(
                select(Account).where(
                    Account.name == f"{namespace}+{short}",
                    Account.robot_namespace_id == found.id,
                )
            )
        ).scalar_one_or_none()
        if robot is None:
            raise NotFound(f"no robot {namespace}+{short}")
        return robot


def _robot_info(robot: Account) -> RobotInfo:
    return RobotInfo(
        name=robot.name,
        short_name=robot.name.partition("+")[2],
        description=robot.description,
        created_at=robot.created_at,
        last_used_at=robot.last_login_at,
    )
