"""Finding and creating repositories (and their namespaces) by name."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from cargohold.db.dialect import insert_ignoring_conflicts
from cargohold.db.models import Namespace, Repository
from cargohold.errors import NameUnknown
from cargohold.spec.reference import namespace_of, validate_repository_name

# Built once: a statement made per call costs more than its query (it is on every push).
_REPOSITORY_ID = select(Repository.id).where(Repository.name == bindparam("name"))
# The same, holding the repository's shared lock (``lock_repository``); SQLite ignores it.
_LOCKED_REPOSITORY_ID = _REPOSITORY_ID.with_for_update(read=True)


async def find_repository_id(session: AsyncSession, name: str, *, lock: bool = False) -> int | None:
    """The id of repository ``name``, or None when it does not exist; with ``lock``, the
    same statement takes the repository's shared lock, as ``lock_repository(shared=True)``
    does."""
    query = _LOCKED_REPOSITORY_ID if lock else _REPOSITORY_ID
    return (await session.execute(query, {"name": name})).scalar_one_or_none()


async def require_repository_id(session: AsyncSession, name: str, *, lock: bool = False) -> int:
    """The id of repository ``name`` (``lock`` as for ``find_repository_id``); raises
    ``NameUnknown`` when it does not exist."""
    repository_id = await find_repository_id(session, name, lock=lock)
    if repository_id is None:
        raise NameUnknown(f"repository {name!r} is not known to this registry")
    return repository_id


async def ensure_repository(session: AsyncSession, name: str, *, lock: bool = False) -> int:
    """The id of repository ``name``, creating it and its namespace when missing; with
    ``lock``, also holding the repository's shared lock, in the statement that finds the
    repository (one round trip of each push; see ``find_repository_id``).

    Must run in a write transaction. Safe against a concurrent creator: conflicting inserts
    are skipped and the row is read back.
    """
    validate_repository_name(name)
    existing = await find_repository_id(session, name, lock=lock)
    if existing is not None:
        return existing
    namespace = namespace_of(name)
    await insert_ignoring_conflicts(session, Namespace, [{"name": namespace}])
    namespace_id = (
        await session.execute(select(Namespace.id).where(Namespace.name == namespace))
    ).scalar_one()
    await insert_ignoring_conflicts(
        session, Repository, [{"name": name, "namespace_id": namespace_id}]
    )
    return await require_repository_id(session, name, lock=lock)


async def lock_repository(
    session: AsyncSession, repository_id: int, *, shared: bool = False
) -> None:
    """Hold the repository's lock until this transaction ends: a row lock on PostgreSQL;
    SQLite's write transactions are already serialized (``BEGIN IMMEDIATE``), so nothing
    is sent there.

    Exclusive (the default) makes the writers of one repository take turns, so that
    check-then-write steps (which manifests are garbage? which row is the live tag?) see
    each other's results. ``shared`` is for pushes (``ManifestService.put``): they run side
    by side, and only add; an exclusive holder (collection, deletes, restores, expiry and
    pruning) waits for them and they for it. What pushes must not do at once they settle
    among themselves: one stored row per manifest by its unique key, one live row per tag
    by ``tag_history.lock_tag``."""
    if session.get_bind().dialect.name == "sqlite":
        return
    await session.execute(
        select(Repository.id).where(Repository.id == repository_id).with_for_update(read=shared)
    )
