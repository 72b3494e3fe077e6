"""Who may do what on which repository.

A principal's role on a repository is the highest of:

- ``admin`` for a superuser, for the owner of a user namespace, and for members of an
  organization team whose role is ``admin``;
- the permissions granted on the repository to the account or to one of its teams;
- ``read`` when the repository is public (anonymous callers included).

Creating a repository (by pushing to it) is allowed to superusers, to the owner of the
user namespace, and to members of an organization's ``creator`` and ``admin`` teams. A
superuser who pushes into a namespace nobody has makes it an organization that they own
(an ``owners`` admin team). A new repository starts private, with the namespace's default
permissions, and, when its creator would not otherwise administer it, ``admin`` for them.

An API token's scopes cap what its account may do (``repo:read``, ``repo:write``,
``repo:admin``, ``repo:create``, ``org:admin``, ``user:admin``, ``super:user``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, false, literal, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from cargohold.auth.principal import Principal
from cargohold.auth.scopes import REPOSITORY_ACTIONS, Role, Scope, actions_of
from cargohold.auth.tokens import Grant
from cargohold.content.repositories import find_repository_id
from cargohold.db.auth_models import (
    DefaultPermission,
    RepositoryPermission,
    Team,
    TeamMember,
)
from cargohold.db.dialect import insert_ignoring_conflicts, insert_returning_id
from cargohold.db.models import Namespace, Repository
from cargohold.db.session import Database
from cargohold.spec.reference import NAME_PATTERN, namespace_of

TEAM_ROLES = ("member", "creator", "admin")
PUBLIC, PRIVATE = "public", "private"
SCOPE_ROLES = {"repo:read": Role.READ, "repo:write": Role.WRITE, "repo:admin": Role.ADMIN}
API_SCOPES = (*SCOPE_ROLES, "repo:create", "org:admin", "user:admin", "super:user")


@dataclass(frozen=True, slots=True)
class RepositoryAccess:
    """What one principal may do on one repository name."""

    exists: bool
    role: Role | None
    may_create: bool

    def actions(self) -> frozenset[str]:
        """The registry actions (pull, push, delete) this allows."""
        if not self.exists:
            return frozenset(REPOSITORY_ACTIONS) if self.may_create else frozenset()
        return actions_of(self.role)


def is_superuser(principal: Principal) -> bool:
    return principal.superuser and (principal.scopes is None or "super:user" in principal.scopes)


def _capped(principal: Principal, role: Role | None) -> Role | None:
    if role is None or principal.scopes is None:
        return role
    cap = max((SCOPE_ROLES[s] for s in principal.scopes if s in SCOPE_ROLES), default=None)
    return None if cap is None else min(role, cap)


def _may_create_scoped(principal: Principal) -> bool:
    return principal.scopes is None or "repo:create" in principal.scopes


class AccessService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def repository_access(self, principal: Principal, name: str) -> RepositoryAccess:
        async with self._db.read() as session:
            return await repository_access(session, principal, name)

    async def grants(self, principal: Principal, scopes: list[Scope]) -> list[Grant]:
        """What to put in a token asked for ``scopes``: for each, the asked actions the
        principal has (possibly none) and those refused. Unknown resource types are left
        out."""
        grants: list[Grant] = []
        async with self._db.read() as session:
            for scope in scopes:
                if scope.type == "registry" and scope.name == "catalog":
                    grants.append(Grant("registry", "catalog", ("*",)))
                elif scope.type == "repository" and NAME_PATTERN.fullmatch(scope.name):
                    access = await repository_access(session, principal, scope.name)
                    allowed = access.actions()
                    asked = REPOSITORY_ACTIONS if "*" in scope.actions else scope.actions
                    granted = tuple(sorted(allowed.intersection(asked)))
                    refused = tuple(sorted(set(asked) - allowed))
                    grants.append(Grant("repository", scope.name, granted, refused))
        return grants

    async def ensure_for_push(self, principal: Principal, name: str) -> None:
        """Create repository ``name`` for a push when it does not exist yet, with its
        namespace's default permissions and its creator's. The caller has checked that the
        principal's token grants ``push`` on it."""
        if await self._db.hot.repository_exists(name):
            return
        async with self._db.write() as session:
            if await find_repository_id(session, name) is None:
                await create_repository(session, principal, name, PRIVATE)

    def visible(self, principal: Principal) -> ColumnElement[bool]:
        """A condition on ``Repository`` rows: those the principal may pull."""
        return visible_condition(principal)


async def repository_access(
    session: AsyncSession, principal: Principal, name: str
) -> RepositoryAccess:
    row = (
        await session.execute(
            select(Repository.id, Repository.visibility).where(Repository.name == name)
        )
    ).one_or_none()
    if row is None:
        may_create = await may_create_in(session, principal, namespace_of(name))
        return RepositoryAccess(False, None, may_create)
    repository_id, visibility = row
    role = await _role(session, principal, repository_id)
    if visibility == PUBLIC:
        role = max(role or Role.READ, Role.READ)
    return RepositoryAccess(True, _capped(principal, role), False)


async def _role(session: AsyncSession, principal: Principal, repository_id: int) -> Role | None:
    if is_superuser(principal):
        return Role.ADMIN
    if principal.account_id is None:
        return None
    account_id = principal.account_id
    namespace = (
        await session.execute(
            select(Namespace.id, Namespace.owner_id)
            .join(Repository, Repository.namespace_id == Namespace.id)
            .where(Repository.id == repository_id)
        )
    ).one()
    if namespace.owner_id == account_id:
        return Role.ADMIN
    if await team_role(session, account_id, namespace.id) == "admin":
        return Role.ADMIN
    teams = select(TeamMember.team_id).where(TeamMember.account_id == account_id)
    labels = (
        await session.execute(
            select(RepositoryPermission.role).where(
                RepositoryPermission.repository_id == repository_id,
                or_(
                    RepositoryPermission.account_id == account_id,
                    RepositoryPermission.team_id.in_(teams),
                ),
            )
        )
    ).scalars()
    return max((Role.parse(label) for label in labels), default=None)


async def team_role(session: AsyncSession, account_id: int, namespace_id: int) -> str | None:
    """The highest role of the account's teams in the organization, or None."""
    roles = set(
        (
            await session.execute(
                select(Team.role)
                .join(TeamMember, TeamMember.team_id == Team.id)
                .where(Team.namespace_id == namespace_id, TeamMember.account_id == account_id)
            )
        ).scalars()
    )
    return next((r for r in reversed(TEAM_ROLES) if r in roles), None)


async def may_create_in(session: AsyncSession, principal: Principal, namespace: str) -> bool:
    """Whether the principal may create repositories in ``namespace``."""
    if principal.account_id is None or not _may_create_scoped(principal):
        return False
    if is_superuser(principal):
        return True
    row = (
        await session.execute(
            select(Namespace.id, Namespace.owner_id).where(Namespace.name == namespace)
        )
    ).one_or_none()
    if row is None:
        return False
    if row.owner_id == principal.account_id:
        return True
    return await team_role(session, principal.account_id, row.id) in ("creator", "admin")


async def create_repository(
    session: AsyncSession, principal: Principal, name: str, visibility: str
) -> int:
    """Make repository ``name`` (and, for a superuser, its organization when missing),
    with the namespace's default permissions and admin for a creator who would not
    otherwise administer it. The caller has checked ``may_create_in``."""
    namespace_name = namespace_of(name)
    namespace = (
        await session.execute(select(Namespace).where(Namespace.name == namespace_name))
    ).scalar_one_or_none()
    if namespace is None:
        namespace = await _organization_for_push(session, namespace_name, principal.account_id)
    await insert_ignoring_conflicts(
        session,
        Repository,
        [{"name": name, "namespace_id": namespace.id, "visibility": visibility}],
    )
    repository_id = await find_repository_id(session, name)
    assert repository_id is not None
    defaults = (
        await session.execute(
            select(DefaultPermission).where(DefaultPermission.namespace_id == namespace.id)
        )
    ).scalars()
    rows = [
        {
            "repository_id": repository_id,
            "account_id": d.account_id,
            "team_id": d.team_id,
            "role": d.role,
        }
        for d in defaults
    ]
    if await _creator_needs_admin(session, principal, namespace):
        assert principal.account_id is not None
        rows.append(
            {
                "repository_id": repository_id,
                "account_id": principal.account_id,
                "team_id": None,
                "role": "admin",
            }
        )
    for row in rows:
        await insert_ignoring_conflicts(session, RepositoryPermission, [row])
    return repository_id


async def _creator_needs_admin(
    session: AsyncSession, principal: Principal, namespace: Namespace
) -> bool:
    creator = principal.account_id
    if creator is None or namespace.owner_id == creator or is_superuser(principal):
        return False
    return await team_role(session, creator, namespace.id) != "admin"


async def _organization_for_push(
    session: AsyncSession, name: str, owner_account_id: int | None
) -> Namespace:
    """Organization ``name``, made with its ``owners`` team when missing. Concurrent first
    pushes into it are safe: one makes it, the others wait for that and find it."""
    made = await insert_returning_id(session, Namespace, {"name": name, "kind": "organization"})
    if made is not None:
        await _add_owners_team(session, made, owner_account_id)
    return (await session.execute(select(Namespace).where(Namespace.name == name))).scalar_one()


async def _add_owners_team(
    session: AsyncSession, namespace_id: int, owner_account_id: int | None
) -> None:
    owners = Team(namespace_id=namespace_id, name="owners", role="admin")
    session.add(owners)
    await session.flush()
    if owner_account_id is not None:
        session.add(TeamMember(team_id=owners.id, account_id=owner_account_id))


async def create_organization(
    session: AsyncSession, name: str, owner_account_id: int | None, email: str | None = None
) -> Namespace:
    """An organization with an ``owners`` team (role admin) holding ``owner_account_id``."""
    namespace = Namespace(name=name, kind="organization", email=email)
    session.add(namespace)
    await session.flush()
    await _add_owners_team(session, namespace.id, owner_account_id)
    return namespace


def visible_condition(principal: Principal) -> ColumnElement[bool]:
    """Repositories the principal may pull, as a condition on ``Repository``."""
    public = Repository.visibility == PUBLIC
    if is_superuser(principal):
        return true()
    if principal.account_id is None:
        return public
    if principal.scopes is not None and not principal.scopes & set(SCOPE_ROLES):
        return false()
    account_id = principal.account_id
    teams = select(TeamMember.team_id).where(TeamMember.account_id == account_id)
    owned = exists().where(
        Namespace.id == Repository.namespace_id, Namespace.owner_id == literal(account_id)
    )
    org_admin = exists().where(
        Team.namespace_id == Repository.namespace_id,
        Team.role == "admin",
        Team.id.in_(teams),
    )
    granted = exists().where(
        RepositoryPermission.repository_id == Repository.id,
        or_(RepositoryPermission.account_id == account_id, RepositoryPermission.team_id.in_(teams)),
    )
    return or_(public, owned, org_admin, granted)
