"""The PostgreSQL hot reads: one statement per read, each in one round trip."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from support.databases import MigratedDatabases
from support.postgres import PostgresServer

from cargohold.config import async_database_url
from cargohold.db.hot import PostgresHotReads, open_hot_reads

pytestmark = pytest.mark.postgres


@pytest.fixture
async def hot(
    pg_server: PostgresServer, migrated_databases: MigratedDatabases
) -> AsyncIterator[PostgresHotReads]:
    """Hot reads on a migrated database, through a pool of one connection."""
    url = async_database_url(await asyncio.to_thread(migrated_databases.postgres, pg_server))
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


DIGEST = "sha256:" + "1" * 64
INSERT_BLOB = "INSERT INTO blob (digest, size, created_at) VALUES ($1, 1, now())"


async def test_identical_reads_waiting_for_a_connection_share_one_statement(
    hot: PostgresHotReads,
) -> None:
    sent: list[str] = []
    async with _pool(hot).acquire() as only:
        await only.execute(INSERT_BLOB, DIGEST)
        only.add_query_logger(lambda record: sent.append(record.query))
        same = [asyncio.create_task(hot.blob_or_job(DIGEST, "scan")) for _ in range(8)]
        other = asyncio.create_task(hot.blob_or_job("sha256:" + "2" * 64, "scan"))
        await asyncio.sleep(0.05)
        assert sent == []  # all wait for the one connection
    assert await asyncio.gather(*same) == [True] * 8
    assert await other is False
    assert len(sent) == 2, sent
    assert await hot.blob_or_job(DIGEST, "scan")  # a read asked later sends its own
    assert len(sent) == 3, sent


async def test_a_shared_read_sees_what_was_committed_before_any_of_its_callers_asked(
    hot: PostgresHotReads,
) -> None:
    async with _pool(hot).acquire():
        first = asyncio.create_task(hot.blob_or_job(DIGEST, "scan"))
        await asyncio.sleep(0.05)
        writer = await asyncpg.connect(hot._dsn)
        try:
            await writer.execute(INSERT_BLOB, DIGEST)
        finally:
            await writer.close()
        second = asyncio.create_task(hot.blob_or_job(DIGEST, "scan"))
        await asyncio.sleep(0.05)
    assert await first is True  # asked before the commit, answered after it
    assert await second is True


async def test_a_cancelled_caller_leaves_the_shared_read_to_the_others(
    hot: PostgresHotReads,
) -> None:
    async with _pool(hot).acquire():
        leaving = asyncio.create_task(hot.repository_exists("library/alpine"))
        staying = asyncio.create_task(hot.repository_exists("library/alpine"))
        await asyncio.sleep(0.05)
        leaving.cancel()
        await asyncio.sleep(0.05)
    assert await staying is False
    assert leaving.cancelled()
