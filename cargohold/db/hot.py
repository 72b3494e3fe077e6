"""The lookups on every pull and every upload, and an upload's bookkeeping writes, each
one statement in one round trip without the ORM.

A manifest GET or blob HEAD through SQLAlchemy's async session cost about 2 ms of CPU
here when measured (statement building, aiosqlite's thread hops, result objects); the
same indexed query through the driver itself costs microseconds. On PostgreSQL a write
through the session is also four round trips or more (BEGIN, its statements, COMMIT); an
upload made three such writes per blob, which with the reads was most of the time a
skopeo push spent more on PostgreSQL than on SQLite (bench/, issue 5). These few
statements are written in plain SQL, once per database kind, behind one small interface;
everything else goes through SQLAlchemy.

The writes here are bookkeeping whose loss only makes a client retry (see each method),
each its own transaction. On PostgreSQL they commit without waiting for their WAL flush
(``synchronous_commit`` off on these connections, which also carry only reads): a durable
commit waited for a flush queued behind the blob data being written back. A crash of the
database server, not of cargohold, may lose them but never corrupts anything, and a later
durable commit makes them durable too (the WAL is flushed in order).

SQLite: one ``sqlite3`` connection per process in autocommit mode, queried on the event
loop thread. In WAL mode a reader never waits for a writer, and each statement sees the
latest commit; a write waits for another process's write lock, and a read for the rare
busy database (recovery of the WAL), as the engine's connections do
(``sqlite_driver.run_while_busy``), without blocking the loop. It sets what the engine's
connections set (``CONNECTION_PRAGMAS``: no fsync at commit, no inline checkpoint); its
writes are not counted by ``WalCheckpoints``, whose checkpoints follow the engine's
commits (every upload ends with one).
PostgreSQL: an asyncpg pool; asyncpg prepares and caches each statement. The pool does not
reset a connection it gets back (asyncpg's default sends ``RESET ALL``, ``UNLISTEN *``,
``CLOSE ALL`` and ``pg_advisory_unlock_all()``, a second round trip per read): these are
single statements that change no session state, and asyncpg still rolls back a
transaction left open. Identical reads (never writes) that wait for a connection at the
same moment (a fleet pulling one tag) share one statement: a read joins another only
until that one has its connection, so the statement starts after every read it answers
was asked, and sees every write committed before any of them.
"""

from __future__ import annotations

import abc
import asyncio
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from cargohold.db.sqlite_driver import CONNECTION_PRAGMAS, run_while_busy

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

# Parameters: upload id, repository name, now. No row when the repository does not exist.
START_UPLOAD = """
INSERT INTO blob_upload (id, repository_id, size, created_at, updated_at)
SELECT {0}, r.id, 0, {2}, {2} FROM repository r WHERE r.name = {1}
RETURNING repository_id
"""

# Parameters: upload id, size known to the caller, new size, new sha256, now.
RECORD_UPLOAD_SIZE = """
UPDATE blob_upload SET size = {2}, sha256 = {3}, updated_at = {4}
WHERE id = {0} AND size = {1}
RETURNING 1
"""

# The blob row first, then the job row: the order collection locks them in (each is its
# own transaction here, so they cannot deadlock with it anyway).
TOUCH_BLOB = "UPDATE blob SET created_at = {1} WHERE digest = {0} RETURNING id"
DELETE_JOB = "DELETE FROM work_item WHERE kind = {1} AND key = {0}"

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


class HotPath(abc.ABC):
    """The reads of every pull and upload (each returns None, or False, when nothing
    matches) and the bookkeeping writes of uploads (each its own transaction, not durable:
    see the module's docstring). ``now`` is an aware UTC datetime."""

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

    def __init__(self, marks: tuple[str, ...]) -> None:
        """``marks``: this database's placeholders for the first to fifth parameter."""
        self._start_upload = START_UPLOAD.format(*marks)
        self._record_size = RECORD_UPLOAD_SIZE.format(*marks)
        self._touch_blob = TOUCH_BLOB.format(*marks)
        self._delete_job = DELETE_JOB.format(*marks)

    async def start_upload(self, upload_id: str, repository: str, now: datetime) -> int | None:
        """Record the new, empty upload ``upload_id`` in ``repository`` and return the
        repository's id; None, recording nothing, when the repository does not exist."""
        row = await self._write(self._start_upload, upload_id, repository, self._time(now))
        return row[0] if row else None

    async def record_upload_size(
        self, upload_id: str, old_size: int, new_size: int, sha256: str | None, now: datetime
    ) -> bool:
        """Set the upload's size (and the sha256 of its bytes, when known) if it is still
        ``old_size``; False when the upload is gone or another request changed it."""
        parameters = (upload_id, old_size, new_size, sha256, self._time(now))
        return await self._write(self._record_size, *parameters) is not None

    async def cancel_byte_deletion(self, digest: str, job_kind: str, now: datetime) -> int | None:
        """Touch the blob row of ``digest`` (``created_at`` set to ``now``) and return its
        id; when there is no row, delete its ``job_kind`` job, if any, and return None
        (``content.gc``: a job leaves the bytes of a digest that has a row)."""
        row = await self._write(self._touch_blob, digest, self._time(now))
        if row is not None:
            return int(row[0])
        await self._write(self._delete_job, digest, job_kind)
        return None

    @abc.abstractmethod
    async def _write(self, sql: str, *params: Any) -> Any:
        """The first row (if any) of the write ``sql``, in its own transaction."""

    @staticmethod
    @abc.abstractmethod
    def _time(moment: datetime) -> Any:
        """``moment`` as the driver takes the value of a naive UTC ``DateTime`` column."""

    @abc.abstractmethod
    async def close(self) -> None: ...


def open_hot_path(url: str, pool_size: int) -> HotPath:
    """The implementation for ``url`` (an async-driver SQLAlchemy URL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database is not None
        return SqliteHotPath(parsed.database)
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    return PostgresHotPath(dsn, pool_size)


# Now, in SQLAlchemy's storage format for SQLite ``DateTime`` columns to the millisecond
# (``2026-11-28 12:40:07.123``), so that it compares with them as a string in time order.
# Asked of SQLite itself (the same clock as Python's on this machine): ~2 µs less per read.
SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"

# Now, as the naive UTC ``timestamp`` of the columns; the statement's start time.
POSTGRES_NOW = "(now() AT TIME ZONE 'UTC')"


class SqliteHotPath(HotPath):
    def __init__(self, path: str) -> None:
        self._connection = sqlite3.connect(
            path, timeout=0, isolation_level=None, check_same_thread=False
        )
        self._set_up = False
        super().__init__(("?1", "?2", "?3", "?4", "?5"))
        self._by_tag = MANIFEST_BY_TAG.format("?", "?", SQLITE_NOW)
        self._by_digest = MANIFEST_BY_DIGEST.format("?", "?")
        self._blob = ACCESSIBLE_BLOB.format("?", "?", SQLITE_NOW)
        self._upload = UPLOAD_PROGRESS.format("?", "?")
        self._blob_or_job = BLOB_OR_JOB.format("?1", "?2")

    async def _one(self, sql: str, *params: Any) -> Any:
        return await run_while_busy(lambda: self._first_row(sql, params))

    def _first_row(self, sql: str, params: tuple[Any, ...]) -> Any:
        if not self._set_up:  # here, where a busy database is waited for: some read it
            for pragma in CONNECTION_PRAGMAS:  # without them, each write waited for an fsync
                self._connection.execute(pragma)
            self._set_up = True
        return self._connection.execute(sql, params).fetchone()

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

    async def _write(self, sql: str, *params: Any) -> Any:
        return await self._one(sql, *params)

    @staticmethod
    def _time(moment: datetime) -> str:
        """As SQLAlchemy stores it in SQLite."""
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    async def close(self) -> None:
        self._connection.close()


class PostgresHotPath(HotPath):
    def __init__(self, dsn: str, pool_size: int) -> None:
        super().__init__(("$1", "$2", "$3", "$4", "$5"))
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

    async def _write(self, sql: str, *params: Any) -> Any:
        pool = self._pool or await self._open_pool()
        async with pool.acquire() as connection:
            return await connection.fetchrow(sql, *params)

    @staticmethod
    def _time(moment: datetime) -> datetime:
        """As asyncpg takes a ``timestamp`` (naive)."""
        return moment.astimezone(UTC).replace(tzinfo=None)

    async def _open_pool(self) -> asyncpg.Pool:
        async with self._pool_lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=1,
                    max_size=self._pool_size,
                    init=_commit_without_waiting_for_the_flush,
                    reset=_keep_session,
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


async def _commit_without_waiting_for_the_flush(connection: asyncpg.Connection) -> None:
    """The pool's set-up of each new connection (see the module's docstring). A session
    setting, not a startup parameter, which a connection pooler may refuse."""
    await connection.execute("SET synchronous_commit TO off")


async def _keep_session(connection: asyncpg.Connection) -> None:
    """The pool's reset: nothing to undo after a hot statement (see the module's
    docstring)."""


def _retrieve_exception(read: asyncio.Task[Any]) -> None:
    """Mark a failed read's exception as seen: its callers may all have been cancelled."""
    if not read.cancelled():
        read.exception()
