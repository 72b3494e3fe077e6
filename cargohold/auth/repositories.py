"""Repositories as the management API shows and changes them: listing what the caller may
see, creating, describing, visibility, deletion and permissions.

Reading a repository needs ``read`` on it (anything less: ``NotFound``, or
``Unauthorized`` for an anonymous caller); changing it needs ``admin`` (``Denied`` for a
reader). Creating one follows ``access.may_create_in``. The rules themselves live in
``access`` and ``organizations``; this module applies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cargohold.auth.access import (
    PRIVATE,
    PUBLIC,
    create_repository,
    may_create_in,
    repository_access,
    visible_condition,
)
from cargohold.auth.organizations import (
    Grant,
    grantee,
    require_repository_role,
    seen_namespace,
    sorted_grants,
    unique_write,
    unseen,
)
from cargohold.auth.principal import Principal
from cargohold.auth.scopes import Role
from cargohold.content.gc import request_collection
from cargohold.content.repositories import find_repository_id
from cargohold.db.auth_models import Account, RepositoryPermission, Team
from cargohold.db.dialect import insert_or_update
from cargohold.db.models import Namespace, Repository
from cargohold.db.session import Database
from cargohold.errors import AlreadyExists, Denied, InvalidRequest, NotFound, Unauthorized
from cargohold.spec.reference import namespace_of, validate_repository_name

VISIBILITIES = (PUBLIC, PRIVATE)


@dataclass(frozen=True, slots=True)
class RepositoryInfo:
    """A repository; ``role`` is the caller's (None in listings)."""

    name: str
    namespace: str
    visibility: str
    description: str | None
    created_at: datetime
    role: str | None = None


@dataclass(frozen=True, slots=True)
class RepositoryPage:
    repositories: list[RepositoryInfo]
    has_more: bool


class RepositoryService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def visible(
        self, principal: Principal, namespace: str | None, page: int, per_page: int
    ) -> RepositoryPage:
        """Page ``page`` (from 1) of the repositories the principal may pull, by name."""
        query = (
            select(Repository)
            .where(visible_condition(principal))
            .order_by(Repository.name)
            .offset((page - 1) * per_page)
            .limit(per_page + 1)
        )
        if namespace is not None:
            in_namespace = select(Namespace.id).where(Namespace.name == namespace)
            query = query.where(Repository.namespace_id == in_namespace.scalar_subquery())
        async with self._db.read() as session:
            rows = list((await session.execute(query)).scalars())
        found = [_info(repository) for repository in rows[:per_page]]
        return RepositoryPage(found, len(rows) > per_page)

    async def create(
        self,
        principal: Principal,
        name: str,
        visibility: str = PRIVATE,
        description: str | None = None,
    ) -> RepositoryInfo:
        """Repository ``name`` in an existing namespace, with its default permissions."""
        validate_repository_name(name)
        _check_visibility(visibility)
        namespace = namespace_of(name)
        async with unique_write(self._db, f"repository {name!r} already exists") as session:
            await _require_namespace(session, principal, namespace)
            if not await may_create_in(session, principal, namespace):
                if principal.is_anonymous:
                    raise Unauthorized("authentication required")
                raise Denied(
                    f"you may not create repositories in {namespace!r} (an API token also "
                    "needs repo:create)"
                )
            if await find_repository_id(session, name) is not None:
                raise AlreadyExists(f"repository {name!r} already exists")
            repository_id = await create_repository(session, principal, name, visibility)
            await _set(session, repository_id, description=description)
        return await self.get(principal, name)

    async def get(self, principal: Principal, name: str) -> RepositoryInfo:
        async with self._db.read() as session:
            access = await repository_access(session, principal, name)
            if not access.exists or access.role is None:
                raise unseen(principal, f"no repository {name!r}")
            repository = (
                await session.execute(select(Repository).where(Repository.name == name))
            ).scalar_one()
            return _info(repository, access.role.label)

    async def require_read(self, principal: Principal, name: str) -> None:
        """Refuse unless the principal may pull repository ``name``."""
        async with self._db.read() as session:
            await require_repository_role(session, principal, name, Role.READ)

    async def require_role(self, principal: Principal, name: str, role: Role) -> None:
        """Refuse unless the principal has ``role`` on repository ``name``."""
        async with self._db.read() as session:
            await require_repository_role(session, principal, name, role)

    async def describe(
        self, principal: Principal, name: str, description: str | None
    ) -> RepositoryInfo:
        await self._change(principal, name, description=description)
        return await self.get(principal, name)

    async def set_visibility(
        self, principal: Principal, name: str, visibility: str
    ) -> tuple[RepositoryInfo, str]:
        """Make the repository public or private; it and its visibility before."""
        _check_visibility(visibility)
        before = await self._change(principal, name, visibility=visibility)
        return await self.get(principal, name), before.visibility

    async def delete(self, principal: Principal, name: str) -> None:
        """Delete the repository's rows; its blobs' bytes go when garbage collection finds
        nothing else uses them."""
        async with self._db.write() as session:
            await require_repository_role(session, principal, name, Role.ADMIN)
            await session.execute(delete(Repository).where(Repository.name == name))
            await request_collection(session)

    async def permissions(self, principal: Principal, name: str) -> list[Grant]:
        async with self._db.read() as session:
            await require_repository_role(session, principal, name, Role.ADMIN)
            rows = await session.execute(
                select(RepositoryPermission.role, Account.name, Team.name)
                .join(Repository, Repository.id == RepositoryPermission.repository_id)
                .outerjoin(Account, Account.id == RepositoryPermission.account_id)
                .outerjoin(Team, Team.id == RepositoryPermission.team_id)
                .where(Repository.name == name)
            )
            return sorted_grants(rows)

    async def set_permission(
        self, principal: Principal, name: str, kind: str, who: str, role: str
    ) -> Grant:
        """Give ``role`` on the repository to a team of its namespace or an account."""
        Role.parse(role)
        async with unique_write(self._db, "this permission was just set") as session:
            repository, namespace = await self._administered(session, principal, name)
            columns = await grantee(session, namespace, kind, who)
            row = {"repository_id": repository.id, "role": role, **columns}
            conflict = ["repository_id", "team_id" if columns["team_id"] else "account_id"]
            await insert_or_update(session, RepositoryPermission, row, conflict, {"role": role})
        return Grant(kind, who, role)

    async def delete_permission(self, principal: Principal, name: str, kind: str, who: str) -> None:
        async with self._db.write() as session:
            repository, namespace = await self._administered(session, principal, name)
            columns = await grantee(session, namespace, kind, who)
            column = (
                RepositoryPermission.team_id == columns["team_id"]
                if columns["team_id"]
                else RepositoryPermission.account_id == columns["account_id"]
            )
            result = await session.execute(
                delete(RepositoryPermission).where(
                    RepositoryPermission.repository_id == repository.id, column
                )
            )
            if not getattr(result, "rowcount", 0):
                raise NotFound(f"{kind} {who!r} has no permission on {name!r}")

    async def _administered(
        self, session: AsyncSession, principal: Principal, name: str
    ) -> tuple[Repository, Namespace]:
        await require_repository_role(session, principal, name, Role.ADMIN)
        repository, namespace = (
            await session.execute(
                select(Repository, Namespace)
                .join(Namespace, Namespace.id == Repository.namespace_id)
                .where(Repository.name == name)
            )
        ).one()
        return repository, namespace

    async def _change(self, principal: Principal, name: str, **values: Any) -> RepositoryInfo:
        """Set columns of an administered repository; the repository as it was."""
        async with self._db.write() as session:
            repository, _ = await self._administered(session, principal, name)
            before = _info(repository)
            await _set(session, repository.id, **values)
            return before


async def _require_namespace(session: AsyncSession, principal: Principal, name: str) -> None:
    """Namespace ``name`` must exist; the caller learns that only when they may see it."""
    try:
        await seen_namespace(session, principal, name)
    except NotFound:
        exists = await session.execute(select(Namespace.id).where(Namespace.name == name))
        if exists.first() is None:
            raise
        raise Denied(f"you may not create repositories in {name!r}") from None


async def _set(session: AsyncSession, repository_id: int, **values: Any) -> None:
    await session.execute(update(Repository).where(Repository.id == repository_id).values(values))


def _check_visibility(visibility: str) -> None:
    if visibility not in VISIBILITIES:
        raise InvalidRequest(f"unknown visibility {visibility!r}: use public or private")


def _info(repository: Repository, role: str | None = None) -> RepositoryInfo:
    return RepositoryInfo(
        repository.name,
        namespace_of(repository.name),
        repository.visibility,
        repository.description,
        repository.created_at,
        role,
    )
