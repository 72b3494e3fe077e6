"""The lookups on every pull and every upload, answered in one round trip without the ORM.

A manifest GET or blob HEAD through SQLAlchemy's async session cost about 2 ms of CPU
here when measured (statement building, aiosqlite's thread hops, result objects); the
same indexed query through the driver itself costs microseconds. These few reads are written
in plain SQL, once per database kind, behind one small interface; everything else goes
through SQLAlchemy.

SQLite: one ``sqlite3`` connection per process in autocommit mode, queried on the event
loop thread. In WAL mode a reader never waits for a writer, and each statement sees the
latest commit; the rare busy database (recovery of the WAL) is waited for as the
engine's connections do (``sqlite_driver.run_while_busy``), without blocking the loop.
PostgreSQL: an asyncpg pool; asyncpg prepares and caches each statement. The pool does not
reset a connection it gets back (asyncpg's default sends ``RESET ALL``, ``UNLISTEN *``,
``CLOSE ALL`` and ``pg_advisory_unlock_all()``, a second round trip per read): these reads
are single statements that change no session state, and asyncpg still rolls back a
transaction left open. Identical reads that wait for a connection at the same moment (a
fleet pulling one tag) share one statement: a read joins another only until that one has
its connection, so the statement starts after every read it answers was asked, and sees
every write committed before any of them.
"""

from __future__ import annotations

import abc
import asyncio
import sqlite3
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from cargohold.db.sqlite_driver import run_while_busy

# A live row whose ``expires_at`` has passed is no longer in the active set, whether or not
# the expiry job has ended it yet (``content.tag_history``); ``uq_tag_alive`` still finds
# the one live row, the expiry is checked on it.
MANIFEST_BY_TAG = """
SELECT m.digest, m.media_type, m.content FROM manifest m
JOIN repository r ON r.id = m.repository_id
JOIN tag t ON t.manifest_id = m.id
WHERE r.name = {0} AND t.name = {1} AND t.lifetime_end IS NULL
  AND (t.expires_at IS NULL OR t.expires_at > {2})
"""

MANIFEST_BY_DIGEST = """
SELECT m.digest, m.media_type, m.content FROM manifest m
JOIN repository r ON r.id = m.repository_id
WHERE r.name = {0} AND m.digest = {1}
"""

ACCESSIBLE_BLOB = """
SELECT b.digest, b.size FROM blob b, repository r
WHERE r.name = {0} AND b.digest = {1} AND (
  EXISTS (SELECT 1 FROM uploaded_blob u
          WHERE u.blob_id = b.id AND u.repository_id = r.id AND u.expires_at > {2})
  OR EXISTS (SELECT 1 FROM manifest_blob mb WHERE mb.repository_id = r.id AND mb.blob_id = b.id))
"""

REPOSITORY_EXISTS = "SELECT 1 FROM repository WHERE name = {0}"

UPLOAD_PROGRESS = """
SELECT u.repository_id, u.size, u.sha256 FROM blob_upload u
JOIN repository r ON r.id = u.repository_id
WHERE u.id = {0} AND r.name = {1}
"""

BLOB_OR_JOB = """
SELECT 1 FROM blob WHERE digest = {0}
UNION ALL SELECT 1 FROM work_item WHERE kind = {1} AND key = {0}
LIMIT 1
"""


@dataclass(frozen=True, slots=True)
class ManifestRow:
    """A manifest as it was pushed, byte for byte."""

    digest: str
    media_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class BlobRow:
    digest: str
    size: int


@dataclass(frozen=True, slots=True)
class UploadRow:
    """An upload in progress: its repository's id, the bytes received so far and, when
    recorded, their sha256 (hex)."""

    repository_id: int
    size: int
    sha256: str | None


class HotReads(abc.ABC):
    """The reads of every pull and upload. Each returns None (or False) when nothing
    matches."""

    @abc.abstractmethod
    async def manifest_by_tag(self, repository: str, tag: str) -> ManifestRow | None: ...

    @abc.abstractmethod
    async def manifest_by_digest(self, repository: str, digest: str) -> ManifestRow | None: ...

    @abc.abstractmethod
    async def accessible_blob(self, repository: str, digest: str) -> BlobRow | None:
        """The blob if ``repository`` may read it now (see ``content.blobs``)."""

    @abc.abstractmethod
    async def repository_exists(self, repository: str) -> bool: ...

    @abc.abstractmethod
    async def upload_progress(self, repository: str, upload_id: str) -> UploadRow | None:
        """The upload ``upload_id`` if it is in progress in ``repository``."""

    @abc.abstractmethod
    async def blob_or_job(self, digest: str, job_kind: str) -> bool:
        """Whether a blob row for ``digest`` or a ``job_kind`` job keyed by it exists."""

    @abc.abstractmethod
    async def close(self) -> None: ...


def open_hot_reads(url: str, pool_size: int) -> HotReads:
    """The implementation for ``url`` (an async-driver SQLAlchemy URL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database is not None
        return SqliteHotReads(parsed.database)
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    return PostgresHotReads(dsn, pool_size)


# Now, in SQLAlchemy's storage format for SQLite ``DateTime`` columns to the millisecond
# (``2026-11-28 12:40:07.123``), so that it compares with them as a string in time order.
# Asked of SQLite itself (the same clock as Python's on this machine): ~2 µs less per read.
SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"

# Now, as the naive UTC ``timestamp`` of the columns; the statement's start time.
POSTGRES_NOW = "(now() AT TIME ZONE 'UTC')"


class SqliteHotReads(HotReads):
    def __init__(self, path: str) -> None:
        self._connection = sqlite3.connect(
            path, timeout=0, isolation_level=None, check_same_thread=False
        )
        self._by_tag = MANIFEST_BY_TAG.format("?", "?", SQLITE_NOW)
        self._by_digest = MANIFEST_BY_DIGEST.format("?", "?")
        self._blob = ACCESSIBLE_BLOB.format("?", "?", SQLITE_NOW)
        self._upload = UPLOAD_PROGRESS.format("?", "?")
        self._blob_or_job = BLOB_OR_JOB.format("?1", "?2")

    async def _one(self, sql: str, *params: Any) -> Any:
        return await run_while_busy(lambda: self._connection.execute(sql, params).fetchone())

    async def manifest_by_tag(self, repository: str, tag: str) -> ManifestRow | None:
        row = await self._one(self._by_tag, repository, tag)
        return ManifestRow(*row) if row else None

    async def manifest_by_digest(self, repository: str, digest: str) -> ManifestRow | None:
        row = await self._one(self._by_digest, repository, digest)
        return ManifestRow(*row) if row else None

    async def accessible_blob(self, repository: str, digest: str) -> BlobRow | None:
        row = await self._one(self._blob, repository, digest)
        return BlobRow(*row) if row else None

    async def repository_exists(self, repository: str) -> bool:
        return await self._one(REPOSITORY_EXISTS.format("?"), repository) is not None

    async def upload_progress(self, repository: str, upload_id: str) -> UploadRow | None:
        row = await self._one(self._upload, upload_id, repository)
        return UploadRow(*row) if row else None

    async def blob_or_job(self, digest: str, job_kind: str) -> bool:
        return await self._one(self._blob_or_job, digest, job_kind) is not None

    async def close(self) -> None:
        self._connection.close()


class PostgresHotReads(HotReads):
    def __init__(self, dsn: str, pool_size: int) -> None:
        self._dsn = dsn
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self._waiting: dict[tuple[str, tuple[Any, ...]], asyncio.Task[Any]] = {}
        self._by_tag = MANIFEST_BY_TAG.format("$1", "$2", POSTGRES_NOW)
        self._by_digest = MANIFEST_BY_DIGEST.format("$1", "$2")
        self._blob = ACCESSIBLE_BLOB.format("$1", "$2", POSTGRES_NOW)
        self._upload = UPLOAD_PROGRESS.format("$1", "$2")
        self._blob_or_job = BLOB_OR_JOB.format("$1", "$2")

    async def _one(self, sql: str, *params: Any) -> Any:
        """The first row of ``sql``, from the same read as an identical one still waiting
        for a connection, if there is one (see the module's docstring). A caller that is
        cancelled leaves the read to the others."""
        key = (sql, params)
        read = self._waiting.get(key)
        if read is None:
            read = self._waiting[key] = asyncio.create_task(self._read(key))
            read.add_done_callback(_retrieve_exception)
        return await asyncio.shield(read)

    async def _read(self, key: tuple[str, tuple[Any, ...]]) -> Any:
        try:
            pool = self._pool or await self._open_pool()
            async with pool.acquire() as connection:
                del self._waiting[key]  # a read asked from now on sends its own statement
                return await connection.fetchrow(key[0], *key[1])
        finally:
            if self._waiting.get(key) is asyncio.current_task():
                del self._waiting[key]

    async def _open_pool(self) -> asyncpg.Pool:
        async with self._pool_lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn, min_size=1, max_size=self._pool_size, reset=_keep_session
                )
            return self._pool

    async def manifest_by_tag(self, repository: str, tag: str) -> ManifestRow | None:
        row = await self._one(self._by_tag, repository, tag)
        return ManifestRow(row[0], row[1], bytes(row[2])) if row else None

    async def manifest_by_digest(self, repository: str, digest: str) -> ManifestRow | None:
        row = await self._one(self._by_digest, repository, digest)
        return ManifestRow(row[0], row[1], bytes(row[2])) if row else None

    async def accessible_blob(self, repository: str, digest: str) -> BlobRow | None:
        row = await self._one(self._blob, repository, digest)
        return BlobRow(row[0], row[1]) if row else None

    async def repository_exists(self, repository: str) -> bool:
        return await self._one(REPOSITORY_EXISTS.format("$1"), repository) is not None

    async def upload_progress(self, repository: str, upload_id: str) -> UploadRow | None:
        row = await self._one(self._upload, upload_id, repository)
        return UploadRow(row[0], row[1], row[2]) if row else None

    async def blob_or_job(self, digest: str, job_kind: str) -> bool:
        return await self._one(self._blob_or_job, digest, job_kind) is not None

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()


async def _keep_session(connection: asyncpg.Connection) -> None:
    """The pool's reset: nothing to undo after a hot read (see the module's docstring)."""


def _retrieve_exception(read: asyncio.Task[Any]) -> None:
    """Mark a failed read's exception as seen: its callers may all have been cancelled."""
    if not read.cancelled():
        read.exception()
