"""The PostgreSQL hot path: one statement per read or write, each in one round trip."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy import text
from support.databases import MigratedDatabases
from support.postgres import PostgresServer

from cargohold.config import async_database_url
from cargohold.db.hot import PostgresHotPath, open_hot_path
from cargohold.db.session import Database

pytestmark = pytest.mark.postgres


@pytest.fixture
async def hot(
    pg_server: PostgresServer, migrated_databases: MigratedDatabases
) -> AsyncIterator[PostgresHotPath]:
    """The hot path on a migrated database, through a pool of one connection."""
    url = async_database_url(await asyncio.to_thread(migrated_databases.postgres, pg_server))
    reads = open_hot_path(url, pool_size=1)
    assert isinstance(reads, PostgresHotPath)
    try:
        assert not await reads.repository_exists("library/alpine")  # opens the pool
        yield reads
    finally:
        await reads.close()


def _pool(hot: PostgresHotPath) -> asyncpg.Pool:
    assert hot._pool is not None
    return hot._pool


async def test_a_read_sends_its_statement_and_nothing_else(hot: PostgresHotPath) -> None:
    sent: list[str] = []
    async with _pool(hot).acquire() as connection:
        connection.add_query_logger(lambda record: sent.append(record.query))
    for _ in range(5):
        assert await hot.manifest_by_tag("library/alpine", "latest") is None
        assert await hot.accessible_blob("library/alpine", "sha256:" + "0" * 64) is None
    assert len(sent) == 10, sent  # no per-read reset of the pooled connection


async def test_a_transaction_left_open_is_still_rolled_back(hot: PostgresHotPath) -> None:
    async with _pool(hot).acquire() as connection:
        await connection.execute("BEGIN")
    async with _pool(hot).acquire() as connection:
        assert not connection.is_in_transaction()


DIGEST = "sha256:" + "1" * 64
INSERT_BLOB = "INSERT INTO blob (digest, size, created_at) VALUES ($1, 1, now())"


async def test_identical_reads_waiting_for_a_connection_share_one_statement(
    hot: PostgresHotPath,
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
    hot: PostgresHotPath,
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
    hot: PostgresHotPath,
) -> None:
    async with _pool(hot).acquire():
        leaving = asyncio.create_task(hot.repository_exists("library/alpine"))
        staying = asyncio.create_task(hot.repository_exists("library/alpine"))
        await asyncio.sleep(0.05)
        leaving.cancel()
        await asyncio.sleep(0.05)
    assert await staying is False
    assert leaving.cancelled()


async def test_its_writes_are_one_statement_each(hot: PostgresHotPath) -> None:
    sent: list[str] = []
    async with _pool(hot).acquire() as connection:
        connection.add_query_logger(lambda record: sent.append(record.query))
    now = datetime.now(UTC)
    assert await hot.start_upload("0" * 32, "library/alpine", now) is None  # no repository
    assert not await hot.record_upload_size("0" * 32, 0, 10, None, now)
    assert await hot.cancel_byte_deletion(DIGEST, "gc-bytes", now) is None
    assert len(sent) == 4, sent  # no blob row to touch: the job goes
    async with _pool(hot).acquire() as connection:
        blob_id = await connection.fetchval(INSERT_BLOB + " RETURNING id", DIGEST)
    sent.clear()
    assert await hot.cancel_byte_deletion(DIGEST, "gc-bytes", now) == blob_id
    assert len(sent) == 1, sent  # the row touched: a job leaves the bytes of a digest with one


SYNCHRONOUS_COMMIT = "SHOW synchronous_commit"


async def test_only_its_writes_commit_without_waiting_for_the_flush(
    pg_server: PostgresServer, migrated_databases: MigratedDatabases
) -> None:
    url = await asyncio.to_thread(migrated_databases.postgres, pg_server)
    connection = await asyncpg.connect(url)
    try:  # the production default (the test server turns it off for speed)
        name = await connection.fetchval("SELECT current_database()")
        await connection.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = on')
    finally:
        await connection.close()
    db = Database(async_database_url(url), pool_size=1)
    try:
        assert not await db.hot.repository_exists("library/alpine")  # opens its pool
        assert isinstance(db.hot, PostgresHotPath)
        async with _pool(db.hot).acquire() as hot_connection:
            assert await hot_connection.fetchval(SYNCHRONOUS_COMMIT) == "off"
        async with db.write() as session:
            assert (await session.execute(text(SYNCHRONOUS_COMMIT))).scalar_one() == "on"
    finally:
        await db.dispose()
