"""Database engines and transactions.

``Database.read()`` and ``Database.write()`` are the only ways the services open a
transaction. On PostgreSQL both use one engine. On SQLite, writers use their own engine
whose transactions start with ``BEGIN IMMEDIATE`` and whose pool holds one connection:
writers queue in the process instead of failing with "database is locked" when a
read transaction would upgrade to a write, and writers in other processes are waited for
without blocking the event loop (``sqlite_driver``: statements run inline, a busy
database is retried after a sleep). SQLite runs in WAL mode so that readers never wait
for the writer.

``Database.hot`` answers the few reads every pull makes, and writes an upload's bookkeeping,
without the ORM (``hot.py``).

On PostgreSQL the engine holds at most ``pool_size`` connections, opened as needed and
kept; a transaction beyond them waits for one (none is nested in another). A pooled
connection is pinged before use only when it sat idle for ``PING_AFTER_IDLE_SECONDS``
(``ping_when_idle``); a dead one is then replaced unseen.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from cargohold.db.hot import HotPath, open_hot_path
from cargohold.db.sqlite_driver import CONNECTION_PRAGMAS, WalCheckpoints, async_connector

PING_AFTER_IDLE_SECONDS = 10.0


class Database:
    """Engines and session factories for one metadata database URL (async driver)."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self._checkpoints: WalCheckpoints | None = None
        if self.is_sqlite:
            self.reader = _sqlite_engine(url, begin="BEGIN", pool_size=pool_size)
            self.writer = _sqlite_engine(url, begin="BEGIN IMMEDIATE", pool_size=1)
            self._checkpoints = WalCheckpoints(_sqlite_path(url))
        else:
            # No overflow: a connection opened past the pool is closed as soon as it is
            # returned, so under load each request paid a PostgreSQL backend's start.
            self.reader = self.writer = create_async_engine(
                url, pool_size=pool_size, max_overflow=0
            )
            ping_when_idle(self.writer, PING_AFTER_IDLE_SECONDS)
        self.hot: HotPath = open_hot_path(url, pool_size)
        self._read_sessions = async_sessionmaker(self.reader, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(self.writer, expire_on_commit=False)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads; it is rolled back at the end."""
        async with self._read_sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits when the block ends without an exception."""
        async with self._write_sessions() as session, session.begin():
            yield session
        if self._checkpoints is not None:
            self._checkpoints.note_commit()

    async def dispose(self) -> None:
        if self._checkpoints is not None:
            await self._checkpoints.close()
        await self.hot.close()
        await self.reader.dispose()
        if self.writer is not self.reader:
            await self.writer.dispose()


def ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Ping a pooled connection when it is checked out after ``idle_seconds`` unused; if
    the ping fails, the pool replaces the connection (a restarted server, a connection a
    firewall or proxy dropped) before the caller sees it.

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout, which on asyncpg is three
    round trips (BEGIN, the ping, ROLLBACK): three of the ten of the transaction that
    completes an upload (bench/, issue 5). A connection used seconds ago is alive unless it
    broke in those seconds, and then its statement fails as it could right after a ping."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _note_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < idle_seconds:
            return
        try:
            dbapi_connection.ping()
        except Exception as error:
            raise exc.DisconnectionError(f"connection lost while idle: {error}") from error


def _sqlite_path(url: str) -> str:
    path = make_url(url).database
    assert path is not None
    return path


def _sqlite_engine(url: str, *, begin: str, pool_size: int) -> AsyncEngine:
    engine = create_async_engine(
        url, pool_size=pool_size, max_overflow=0, async_creator=async_connector(_sqlite_path(url))
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # The connections are in autocommit mode (``async_connector``), so that "begin"
        # below is the only BEGIN and it can be IMMEDIATE.
        cursor = dbapi_connection.cursor()
        for pragma in ("PRAGMA journal_mode=WAL", *CONNECTION_PRAGMAS):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine
