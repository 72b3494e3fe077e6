"""The PostgreSQL hot reads: one statement per read, each in one round trip."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from support.postgres import PostgresServer

from cargohold.config import async_database_url
from cargohold.db.hot import PostgresHotReads, open_hot_reads
from cargohold.db.migrate import upgrade

pytestmark = pytest.mark.postgres


@pytest.fixture
async def hot(pg_server: PostgresServer) -> AsyncIterator[PostgresHotReads]:
    """Hot reads on a migrated database, through a pool of one connection."""
    url = async_database_url(pg_server.create_database())
    await asyncio.to_thread(upgrade, url)
    reads = open_hot_reads(url, pool_size=1)
    assert isinstance(reads, PostgresHotReads)
    try:
        assert not await reads.repository_exists("library/alpine")  # opens the pool
        yield reads
    finally:
        await reads.close()


def _pool(hot: PostgresHotReads) -> asyncpg.Pool:
    assert hot._pool is not None
    return hot._pool


async def test_a_read_sends_its_statement_and_nothing_else(hot: PostgresHotReads) -> None:
    sent: list[str] = []
    async with _pool(hot).acquire() as connection:
        connection.add_query_logger(lambda record: sent.append(record.query))
    for _ in range(5):
        assert await hot.manifest_by_tag("library/alpine", "latest") is None
        assert await hot.accessible_blob("library/alpine", "sha256:" + "0" * 64) is None
    assert len(sent) == 10, sent  # no per-read reset of the pooled connection


async def test_a_transaction_left_open_is_still_rolled_back(hot: PostgresHotReads) -> None:
    async with _pool(hot).acquire() as connection:
        await connection.execute("BEGIN")
    async with _pool(hot).acquire() as connection:
        assert not connection.is_in_transaction()
