"""``Database.write(durable=False)``: on PostgreSQL that one transaction commits without
waiting for its WAL flush; every other transaction waits as configured."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text
from support.databases import MigratedDatabases
from support.postgres import PostgresServer

from cargohold.config import async_database_url
from cargohold.db.session import Database

pytestmark = pytest.mark.postgres

SETTING = text("SHOW synchronous_commit")


async def test_only_a_transaction_asked_not_to_be_durable_skips_the_flush(
    pg_server: PostgresServer, migrated_databases: MigratedDatabases
) -> None:
    url = await asyncio.to_thread(migrated_databases.postgres, pg_server)
    connection = await asyncpg.connect(url)
    try:  # the production default (the test server turns it off for speed)
        name = await connection.fetchval("SELECT current_database()")
        await connection.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = on')
    finally:
        await connection.close()
    db = Database(async_database_url(url), pool_size=1)  # one connection: the same session
    try:
        async with db.write(durable=False) as session:
            assert (await session.execute(SETTING)).scalar_one() == "off"
        async with db.write() as session:
            assert (await session.execute(SETTING)).scalar_one() == "on"
        async with db.read() as session:
            assert (await session.execute(SETTING)).scalar_one() == "on"
    finally:
        await db.dispose()
