"""Tag history (the "time machine"): every lifetime of a tag, restoring a tag to a
manifest it pointed at, the per-namespace window, and tag expiry.

A tag row is one lifetime of a name pointing at one manifest (``db.models.Tag``). Moving
a tag ends its live row and starts a new one; deleting it ends the row. A restore starts
a new row marked ``restored``. A tag with ``expires_at`` leaves the active set at that
moment: every reader of live tags (the pull path's hot read, ``tags/list``, the API)
treats a live row whose ``expires_at`` has passed as ended, and a background job
(``end_expired``) then sets its ``lifetime_end`` to ``expires_at``, so that history shows
it ended exactly when it expired. A writer that meets such a row ends it the same way
before it does anything else.

The window: the history offers (and a restore accepts) the rows that are alive or ended
within the namespace's ``tag_history_seconds`` (``DEFAULT_WINDOW`` when None; 0 offers
only live rows). Garbage collection removes what is older (``history_window``).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cargohold.content.repositories import lock_repository
from cargohold.content.tag_rules import check_mutable, matching_rule, rules_for
from cargohold.db.dialect import lock_for_transaction
from cargohold.db.models import Manifest, Namespace, Repository, Tag, utcnow
from cargohold.db.session import Database
from cargohold.errors import InvalidRequest, NameUnknown, NotFound

DEFAULT_WINDOW = timedelta(days=14)
MAX_WINDOW_SECONDS = 2**31 - 1


@dataclass(frozen=True, slots=True)
class TagMove:
    """A tag changed: ``previous`` is the digest it pointed at (None: it was not alive)."""

    tag: str
    previous: str | None


@dataclass(frozen=True, slots=True)
class TagRecord:
    """One lifetime of a tag. ``end`` is None while it is alive; an expired row ends at
    its ``expires_at``."""

    name: str
    manifest_digest: str
    start: datetime
    end: datetime | None
    expires_at: datetime | None
    restored: bool


@dataclass(frozen=True, slots=True)
class TagQuery:
    """Filters of ``TagHistory.list``: only live tags, one tag's rows, a name pattern
    (``*`` and ``?``); page ``page`` (from 1) of ``per_page`` rows, newest first."""

    active_only: bool = False
    specific_tag: str | None = None
    pattern: str | None = None
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True, slots=True)
class TagRecordPage:
    tags: list[TagRecord]
    has_more: bool


@dataclass(frozen=True, slots=True)
class EndedTag:
    """A tag row the expiry job ended."""

    repository: str
    tag: str
    manifest_digest: str
    at: datetime


async def history_window(session: AsyncSession, namespace_id: int) -> timedelta:
    """How long the namespace keeps ended tag rows (restorable, listed)."""
    seconds = (
        await session.execute(
            select(Namespace.tag_history_seconds).where(Namespace.id == namespace_id)
        )
    ).scalar_one_or_none()
    return DEFAULT_WINDOW if seconds is None else timedelta(seconds=seconds)


def alive_at(now: datetime) -> ColumnElement[bool]:
    """Tag rows in the active set at ``now``: not ended and not expired."""
    return and_(Tag.lifetime_end.is_(None), or_(Tag.expires_at.is_(None), Tag.expires_at > now))


# Built once: a statement made per call costs more than its query (it is on every push).
_LIVE_ROW = (
    select(Tag.id, Tag.manifest_id, Tag.expires_at, Manifest.digest)
    .join(Manifest, Manifest.id == Tag.manifest_id)
    .where(
        Tag.repository_id == bindparam("repository_id"),
        Tag.name == bindparam("name"),
        Tag.lifetime_end.is_(None),
    )
)


def within_window(cutoff: datetime) -> ColumnElement[bool]:
    """Tag rows alive, or ended (or expired) at ``cutoff`` or later."""
    return or_(
        Tag.lifetime_end >= cutoff,
        and_(Tag.lifetime_end.is_(None), or_(Tag.expires_at.is_(None), Tag.expires_at >= cutoff)),
    )


async def _live_row(session: AsyncSession, repository_id: int, name: str, now: datetime) -> Any:
    """The tag's live row (id, manifest_id, digest), ending it first when it expired."""
    row = (await session.execute(_LIVE_ROW, {"repository_id": repository_id, "name": name})).first()
    if row is not None and row.expires_at is not None and row.expires_at <= now:
        await session.execute(
            update(Tag).where(Tag.id == row.id).values(lifetime_end=row.expires_at)
        )
        return None
    return row


async def lock_tag(session: AsyncSession, repository_id: int, name: str) -> None:
    """Make the writers of tag ``name`` take turns until this transaction ends, so that
    each sees which row the one before left alive. The lock is the pair (repository id,
    the name's CRC-32): two names that share a checksum take turns too, which is harmless."""
    await lock_for_transaction(session, repository_id, zlib.crc32(name.encode()) - 2**31)


async def move_tag(
    session: AsyncSession,
    repository_id: int,
    name: str,
    manifest_id: int,
    *,
    expires_at: datetime | None = None,
    restored: bool = False,
) -> TagMove | None:
    """Point tag ``name`` at ``manifest_id``: end its live row (if it points elsewhere)
    and start a new one, expiring at ``expires_at`` (ignored for an immutable tag). None
    when it already points there. ``TagImmutable`` when a rule forbids the move. Run it
    under the repository's lock (``lock_repository``, shared at least); it takes the
    tag's own (``lock_tag``)."""
    await lock_tag(session, repository_id, name)
    now = utcnow()
    current = await _live_row(session, repository_id, name, now)
    if current is not None and current.manifest_id == manifest_id:
        return None
    if current is not None:
        await check_mutable(session, repository_id, name, "move")
        await session.execute(update(Tag).where(Tag.id == current.id).values(lifetime_end=now))
    if expires_at is not None and matching_rule(await rules_for(session, repository_id), name):
        expires_at = None
    await session.execute(
        insert(Tag).values(
            repository_id=repository_id,
            name=name,
            manifest_id=manifest_id,
            lifetime_start=now,
            expires_at=expires_at,
            restored=restored,
        )
    )
    return TagMove(name, current.digest if current is not None else None)


async def end_tag(session: AsyncSession, repository_id: int, name: str) -> bool:
    """End the live row of tag ``name``; False when the tag is not alive. ``TagImmutable``
    when a rule forbids deleting it."""
    now = utcnow()
    current = await _live_row(session, repository_id, name, now)
    if current is None:
        return False
    await check_mutable(session, repository_id, name, "delete")
    await session.execute(update(Tag).where(Tag.id == current.id).values(lifetime_end=now))
    return True


async def check_manifest_deletable(
    session: AsyncSession, repository_id: int, manifest_id: int
) -> None:
    """Refuse (``TagImmutable``) to delete a manifest that a live immutable tag points at."""
    names = (
        await session.execute(
            select(Tag.name).where(Tag.manifest_id == manifest_id, alive_at(utcnow()))
        )
    ).scalars()
    for name in names:
        await check_mutable(session, repository_id, name, "delete (with its manifest)")


class TagHistory:
    """The API's view of tags: history, restore, expiry, the window."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def history(self, repository: str, query: TagQuery) -> TagRecordPage:
        now = utcnow()
        async with self._db.read() as session:
            repository_id, namespace_id = await _repository(session, repository)
            if query.active_only:
                shown = alive_at(now)
            else:
                shown = within_window(now - await history_window(session, namespace_id))
            statement = (
                _records()
                .where(Tag.repository_id == repository_id, shown)
                .order_by(Tag.lifetime_start.desc(), Tag.id.desc())
                .offset((query.page - 1) * query.per_page)
                .limit(query.per_page + 1)
            )
            if query.specific_tag is not None:
                statement = statement.where(Tag.name == query.specific_tag)
            if query.pattern is not None:
                statement = statement.where(_name_matches(session, query.pattern))
            rows = (await session.execute(statement)).all()
        records = [_record(row, now) for row in rows[: query.per_page]]
        return TagRecordPage(records, len(rows) > query.per_page)

    async def restore(
        self, repository: str, tag: str, digest: str
    ) -> tuple[TagRecord, TagMove | None]:
        """Point ``tag`` (alive or not) at manifest ``digest`` again, which it pointed at
        within the namespace's window; the live row, and the move (None when the tag
        already pointed there). ``InvalidRequest`` for a manifest that is gone or that
        the tag did not point at within the window; ``TagImmutable`` when the tag is
        alive elsewhere and a rule protects it."""
        async with self._db.write() as session:
            repository_id, namespace_id = await _repository(session, repository)
            await lock_repository(session, repository_id)
            manifest_id = (
                await session.execute(
                    select(Manifest.id).where(
                        Manifest.repository_id == repository_id, Manifest.digest == digest
                    )
                )
            ).scalar_one_or_none()
            if manifest_id is None:
                raise InvalidRequest(
                    f"manifest {digest} no longer exists in {repository!r}: it cannot be restored"
                )
            window = await history_window(session, namespace_id)
            now = utcnow()
            pointed = await session.execute(
                select(Tag.id)
                .where(
                    Tag.repository_id == repository_id,
                    Tag.name == tag,
                    Tag.manifest_id == manifest_id,
                    within_window(now - window),
                )
                .limit(1)
            )
            if pointed.first() is None:
                raise InvalidRequest(
                    f"tag {tag!r} did not point at {digest} within the last "
                    f"{int(window.total_seconds())} seconds (the history window of "
                    f"{repository.split('/', 1)[0]!r})"
                )
            move = await move_tag(session, repository_id, tag, manifest_id, restored=True)
            await session.flush()
            return await _live_record(session, repository_id, tag), move

    async def set_expiry(
        self, repository: str, tag: str, expires_at: datetime | None
    ) -> tuple[TagRecord, datetime | None]:
        """Make live tag ``tag`` expire at ``expires_at`` (never, with None); the row and
        its expiry before. ``NotFound`` for a tag not alive, ``InvalidRequest`` for a time
        in the past, ``TagImmutable`` for an immutable tag."""
        now = utcnow()
        if expires_at is not None and expires_at <= now:
            raise InvalidRequest("expires_at must be in the future (or null: never)")
        async with self._db.write() as session:
            repository_id, _ = await _repository(session, repository)
            await lock_repository(session, repository_id)
            current = await _live_row(session, repository_id, tag, now)
            if current is None:
                raise NotFound(f"tag {tag!r} is not alive in {repository!r}")
            if expires_at is not None:
                await check_mutable(session, repository_id, tag, "expire")
            await session.execute(
                update(Tag).where(Tag.id == current.id).values(expires_at=expires_at)
            )
            return await _live_record(session, repository_id, tag), current.expires_at

    async def window(self, namespace: str) -> timedelta:
        async with self._db.read() as session:
            return await history_window(session, await _namespace_id(session, namespace))

    async def set_window(self, namespace: str, seconds: int) -> timedelta:
        """Set the namespace's window; the window before."""
        if not 0 <= seconds <= MAX_WINDOW_SECONDS:
            raise InvalidRequest(f"seconds must be between 0 and {MAX_WINDOW_SECONDS}")
        async with self._db.write() as session:
            namespace_id = await _namespace_id(session, namespace)
            before = await history_window(session, namespace_id)
            await session.execute(
                update(Namespace)
                .where(Namespace.id == namespace_id)
                .values(tag_history_seconds=seconds)
            )
            return before

    async def end_expired(self, limit: int = 1000) -> list[EndedTag]:
        """End up to ``limit`` live rows whose expiry has passed, at their ``expires_at``."""
        now = utcnow()
        async with self._db.write() as session:
            rows = (
                await session.execute(
                    select(Tag.id, Tag.name, Tag.expires_at, Repository.name, Manifest.digest)
                    .join(Repository, Repository.id == Tag.repository_id)
                    .join(Manifest, Manifest.id == Tag.manifest_id)
                    .where(Tag.lifetime_end.is_(None), Tag.expires_at <= now)
                    .order_by(Tag.expires_at)
                    .limit(limit)
                )
            ).all()
            for row in rows:
                await session.execute(
                    update(Tag)
                    .where(Tag.id == row[0], Tag.lifetime_end.is_(None))
                    .values(lifetime_end=row.expires_at)
                )
        return [EndedTag(row[3], row[1], row[4], row.expires_at) for row in rows]


def _records() -> Any:
    return select(
        Tag.name,
        Manifest.digest,
        Tag.lifetime_start,
        Tag.lifetime_end,
        Tag.expires_at,
        Tag.restored,
    ).join(Manifest, Manifest.id == Tag.manifest_id)


def _record(row: Any, now: datetime) -> TagRecord:
    end = row.lifetime_end
    if end is None and row.expires_at is not None and row.expires_at <= now:
        end = row.expires_at
    return TagRecord(
        row.name, row.digest, row.lifetime_start, end, row.expires_at, bool(row.restored)
    )


async def _live_record(session: AsyncSession, repository_id: int, tag: str) -> TagRecord:
    row = (
        await session.execute(
            _records().where(
                Tag.repository_id == repository_id, Tag.name == tag, Tag.lifetime_end.is_(None)
            )
        )
    ).one()
    return _record(row, utcnow())


async def _repository(session: AsyncSession, name: str) -> tuple[int, int]:
    row = (
        await session.execute(
            select(Repository.id, Repository.namespace_id).where(Repository.name == name)
        )
    ).first()
    if row is None:
        raise NameUnknown(f"repository {name!r} is not known to this registry")
    return row.id, row.namespace_id


async def _namespace_id(session: AsyncSession, name: str) -> int:
    namespace_id = (
        await session.execute(select(Namespace.id).where(Namespace.name == name))
    ).scalar_one_or_none()
    if namespace_id is None:
        raise NotFound(f"no user or organization {name!r}")
    return namespace_id


def _name_matches(session: AsyncSession, pattern: str) -> ColumnElement[bool]:
    """Tag names matching a shell-style ``pattern`` of ``*`` and ``?``, case-sensitively:
    SQLite's GLOB is exactly that (its LIKE ignores case); PostgreSQL's LIKE is
    case-sensitive, with ``_`` and ``%`` escaped."""
    if session.get_bind().dialect.name == "sqlite":
        return Tag.name.op("GLOB", is_comparison=True)(pattern)
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return Tag.name.like(escaped.replace("*", "%").replace("?", "_"), escape="\\")
