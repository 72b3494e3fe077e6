"""aiosqlite connections that cost one thread round trip per statement, not four.

SQLAlchemy's aiosqlite dialect opens a cursor, executes, fetches and closes it, and stock
aiosqlite sends each of those to its connection thread and waits for the answer: four
round trips through a queue and the event loop per statement, which was most of the time
of a manifest PUT (a statement cost ~0.25 ms). Here a statement is executed and its rows
fetched in one call on the connection thread; opening and closing the cursor, which do
no I/O, happen on the caller's thread (the sqlite3 connection is opened with
``check_same_thread=False``; SQLAlchemy never runs two operations on one connection at
once). Everything else is aiosqlite's.

``async_connector(path)`` is the ``async_creator`` for ``create_async_engine``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import partial
from typing import Any

import aiosqlite
from aiosqlite.context import contextmanager


class PrefetchingCursor(aiosqlite.Cursor):
    """A cursor whose ``execute`` fetches every row in the same round trip."""

    _rows: list[Any]

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> PrefetchingCursor:
        run = partial(_execute_and_fetch, self._cursor, sql, parameters or ())
        self._rows = await self._conn._execute(run)  # type: ignore[no-untyped-call]
        return self

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        count = self._cursor.arraysize if size is None else size
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def fetchall(self) -> Sequence[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._cursor.close()


class PrefetchingConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors are ``PrefetchingCursor``."""

    @contextmanager
    async def cursor(self) -> aiosqlite.Cursor:
        cursor = PrefetchingCursor(self, self._conn.cursor())
        cursor._rows = []
        return cursor


def _execute_and_fetch(cursor: sqlite3.Cursor, sql: str, parameters: Any) -> list[Any]:
    cursor.execute(sql, parameters)
    return cursor.fetchall() if cursor.description else []


def async_connector(path: str) -> Callable[[], Awaitable[PrefetchingConnection]]:
    """An ``async_creator`` of connections to the SQLite database file ``path``."""

    async def connect() -> PrefetchingConnection:
        connection = PrefetchingConnection(
            partial(sqlite3.connect, path, check_same_thread=False), iter_chunk_size=64
        )
        connection._thread.daemon = True
        await connection
        return connection

    return connect
