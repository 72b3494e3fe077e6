"""The PostgreSQL engine's pool is bounded and keeps its connections: more transactions at
once than ``pool_size`` wait for a connection instead of each opening (and closing) one of
its own, which cost a PostgreSQL backend's start per request under load."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, text
from support.databases import MigratedDatabases
from support.postgres import PostgresServer

from cargohold.config import async_database_url
from cargohold.db.session import Database

pytestmark = pytest.mark.postgres


async def test_transactions_beyond_the_pool_wait_and_reuse_its_connections(
    pg_server: PostgresServer, migrated_databases: MigratedDatabases
) -> None:
    url = await asyncio.to_thread(migrated_databases.postgres, pg_server)
    db = Database(async_database_url(url), pool_size=2)
    opened: list[object] = []
    event.listen(db.writer.sync_engine, "connect", lambda connection, record: opened.append(1))
    backends: set[int] = set()

    async def transaction() -> None:
        async with db.write() as session:
            backends.add((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            await session.execute(text("SELECT pg_sleep(0.02)"))

    try:
        for _ in range(3):
            await asyncio.gather(*(transaction() for _ in range(8)))
        assert len(opened) == 2
        assert len(backends) == 2
    finally:
        await db.dispose()
