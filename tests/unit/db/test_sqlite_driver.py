"""The SQLite connections of ``db.sqlite_driver`` behave as aiosqlite's for SQLAlchemy
(rows, row counts, errors), in one thread round trip per statement."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from cargohold.db.sqlite_driver import PrefetchingConnection, async_connector


async def test_statements_return_rows_counts_and_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "db.sqlite")
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}", async_creator=async_connector(path))
    round_trips = 0
    stock_execute = PrefetchingConnection._execute

    async def counting_execute(self: PrefetchingConnection, fn: object, *args: object) -> object:
        nonlocal round_trips
        round_trips += 1
        return await stock_execute(self, fn, *args)  # type: ignore[no-untyped-call]

    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
            inserted = await connection.execute(
                text("INSERT INTO t (v) VALUES (:a), (:b)"), {"a": "x", "b": "y"}
            )
            assert inserted.rowcount == 2
        monkeypatch.setattr(PrefetchingConnection, "_execute", counting_execute)
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT id, v FROM t ORDER BY id"))).all()
            assert [tuple(row) for row in rows] == [(1, "x"), (2, "y")]
            assert round_trips == 1
            first = await connection.execute(text("SELECT v FROM t WHERE id = 2"))
            assert first.scalar_one() == "y"
            with pytest.raises(IntegrityError):
                await connection.execute(text("INSERT INTO t (id, v) VALUES (1, 'z')"))
    finally:
        await engine.dispose()
