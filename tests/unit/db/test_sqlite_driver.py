"""The SQLite connections of ``db.sqlite_driver`` behave as aiosqlite's for SQLAlchemy
(rows, row counts, errors) without a thread, and wait for another process's write lock
without blocking the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from cargohold.db import sqlite_driver
from cargohold.db.hot import open_hot_path
from cargohold.db.session import Database
from cargohold.db.sqlite_driver import async_connector


@contextlib.asynccontextmanager
async def loop_ticks() -> AsyncIterator[list[int]]:
    """``[n]``: how many 5 ms sleeps the event loop completed while the block ran (a loop
    blocked by a waiting statement completes none)."""
    ticks = [0]

    async def tick() -> None:
        while True:
            await asyncio.sleep(0.005)
            ticks[0] += 1

    ticker = asyncio.create_task(tick())
    try:
        yield ticks
    finally:
        ticker.cancel()


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    path = str(tmp_path / "db.sqlite")
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}", async_creator=async_connector(path))
    async with engine.begin() as connection:
        await connection.execute(text("PRAGMA journal_mode=WAL"))
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
        await connection.execute(text("INSERT INTO t (v) VALUES ('x'), ('y')"))
    yield engine
    await engine.dispose()


async def test_statements_return_rows_counts_and_errors_without_a_thread(
    engine: AsyncEngine,
) -> None:
    threads = threading.active_count()
    async with engine.begin() as connection:
        rows = (await connection.execute(text("SELECT id, v FROM t ORDER BY id"))).all()
        assert [tuple(row) for row in rows] == [(1, "x"), (2, "y")]
        updated = await connection.execute(text("UPDATE t SET v = 'z' WHERE id > 0"))
        assert updated.rowcount == 2
        with pytest.raises(IntegrityError):
            await connection.execute(text("INSERT INTO t (id, v) VALUES (1, 'dup')"))
    assert threading.active_count() == threads


async def test_a_write_lock_held_elsewhere_is_waited_for_while_the_loop_runs(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")

    async def write() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("BEGIN IMMEDIATE"))
            await connection.execute(text("INSERT INTO t (v) VALUES ('w')"))

    async with loop_ticks() as ticks:
        writer = asyncio.create_task(write())
        await asyncio.sleep(0.2)
        assert not writer.done() and ticks[0] >= 10  # waiting, and the loop kept running
        other.execute("COMMIT")
        other.close()
        await asyncio.wait_for(writer, 5)
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar_one() == 3


async def test_a_lock_held_past_the_timeout_is_an_error(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_driver, "BUSY_TIMEOUT_SECONDS", 0.1)
    other = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        async with engine.connect() as connection:
            with pytest.raises(OperationalError, match="locked"):
                await connection.execute(text("BEGIN IMMEDIATE"))
    finally:
        other.execute("ROLLBACK")
        other.close()


async def test_commits_are_checkpointed_into_the_database_file_by_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's connections never checkpoint (``wal_autocheckpoint=0``); every
    ``CHECKPOINT_EVERY`` commits of ``Database.write`` a thread does, so that the database
    file alone (without its ``-wal``) has the rows."""
    monkeypatch.setattr(sqlite_driver, "CHECKPOINT_EVERY", 3)
    path = tmp_path / "db.sqlite"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.write() as session:
            await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        for row in (1, 2):
            async with db.write() as session:
                await session.execute(text("INSERT INTO t (id) VALUES (:id)"), {"id": row})
        assert db._checkpoints is not None
        await db._checkpoints.close()
        copy = tmp_path / "copy.sqlite"
        copy.write_bytes(path.read_bytes())  # the file alone: no -wal beside it
        with contextlib.closing(sqlite3.connect(copy)) as alone:
            assert alone.execute("SELECT count(*) FROM t").fetchone() == (2,)
    finally:
        await db.dispose()


async def test_hot_reads_wait_for_a_locked_database_while_the_loop_runs(tmp_path: Path) -> None:
    """``db.hot``'s inline reads share the engine's busy wait."""
    path = tmp_path / "db.sqlite"
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE repository (id INTEGER PRIMARY KEY, name TEXT)")
        setup.execute("INSERT INTO repository (name) VALUES ('team/app')")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA locking_mode=EXCLUSIVE")  # holds the file until it closes
    other.execute("INSERT INTO repository (name) VALUES ('team/other')")
    hot = open_hot_path(f"sqlite+aiosqlite:///{path}", pool_size=1)

    try:
        async with loop_ticks() as ticks:
            read = asyncio.create_task(hot.repository_exists("team/app"))
            await asyncio.sleep(0.2)
            assert not read.done() and ticks[0] >= 10
            other.close()
            assert await asyncio.wait_for(read, 5) is True
    finally:
        await hot.close()


PRAGMAS = ("synchronous", "wal_autocheckpoint", "foreign_keys")


async def test_the_hot_path_and_the_engine_set_their_connections_up_alike(
    tmp_path: Path,
) -> None:
    """Without ``synchronous=NORMAL`` each write of ``db.hot`` waited for an fsync of the WAL,
    queued behind the upload's data (chunked uploads: 226 -> 194 MiB/s, bench/)."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        async with db.write() as session:
            engine = [(await session.execute(text(f"PRAGMA {p}"))).scalar() for p in PRAGMAS]
        hot = [await db.hot._one(f"PRAGMA {p}") for p in PRAGMAS]  # type: ignore[attr-defined]
        assert engine == [1, 0, 1]  # NORMAL, never, on
        assert [row[0] for row in hot] == engine
    finally:
        await db.dispose()
