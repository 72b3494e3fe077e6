"""PostgreSQL connections are pinged before use only after sitting idle
(``session.ping_when_idle``): a busy connection costs no extra round trips, and one the
server dropped while it was idle is replaced before a transaction sees it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from support.databases import MigratedDatabases
from support.postgres import PostgresServer

from cargohold.config import async_database_url
from cargohold.db import session as session_module
from cargohold.db.session import Database

pytestmark = pytest.mark.postgres


@pytest.fixture
async def url(pg_server: PostgresServer, migrated_databases: MigratedDatabases) -> str:
    return await asyncio.to_thread(migrated_databases.postgres, pg_server)


@asynccontextmanager
async def pooled(url: str, monkeypatch: pytest.MonkeyPatch, idle: float) -> AsyncIterator[Database]:
    """A database whose pool holds one connection, used once; pinged after ``idle`` s."""
    monkeypatch.setattr(session_module, "PING_AFTER_IDLE_SECONDS", idle)
    db = Database(async_database_url(url), pool_size=1)
    try:
        await select_one(db)
        yield db
    finally:
        await db.dispose()


async def drop_other_connections(url: str) -> None:
    """What a restarted server or a proxy's idle timeout does to the pool's connection."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await connection.close()


async def select_one(db: Database) -> int:
    async with db.write() as session:
        return int((await session.execute(text("SELECT 1"))).scalar_one())


async def test_a_connection_in_use_is_not_pinged(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async with pooled(url, monkeypatch, idle=10.0) as db:
        pings: list[object] = []
        monkeypatch.setattr(
            "sqlalchemy.dialects.postgresql.asyncpg.AsyncAdapt_asyncpg_connection.ping",
            lambda self: pings.append(self),
        )
        for _ in range(3):
            assert await select_one(db) == 1
        assert pings == []


async def test_a_connection_dropped_while_idle_is_replaced_unseen(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with pooled(url, monkeypatch, idle=0.0) as db:
        await drop_other_connections(url)
        assert await select_one(db) == 1


async def test_without_the_ping_a_dropped_connection_fails_its_transaction(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scenario above is real: unpinged, the dropped connection reaches the caller."""
    async with pooled(url, monkeypatch, idle=3600.0) as db:
        await drop_other_connections(url)
        with pytest.raises(DBAPIError):
            await select_one(db)
