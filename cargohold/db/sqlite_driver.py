"""aiosqlite connections whose statements run on the event loop's own thread.

SQLAlchemy's aiosqlite dialect opens a cursor, executes, fetches and closes it, and stock
aiosqlite sends each of those to a connection thread and waits for the answer: four
round trips through a queue, a thread switch and the event loop per statement, which was
most of the CPU of a manifest PUT. A statement on a local SQLite database in WAL mode
takes microseconds, so here every call runs where it is made, as ``db.hot`` already does
for the hottest reads.

What could block instead is waiting for another process's write lock, so the connections
run with ``busy_timeout`` 0 and a call that finds the database busy (``SQLITE_BUSY``:
the statement did nothing) is retried after an ``asyncio.sleep`` that grows from 1 ms to
50 ms, for up to ``BUSY_TIMEOUT_SECONDS``: the loop serves other requests meanwhile.

Checkpoints, which write the WAL back into the database file and fsync both, are the
one slow thing a commit would do inline: the connections do not checkpoint on their own
(``wal_autocheckpoint=0``, set by the engine); ``WalCheckpoints`` runs a passive
checkpoint on a thread every ``CHECKPOINT_EVERY`` commits of the process.

``async_connector(path)`` is the ``async_creator`` for ``create_async_engine``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Awaitable, Callable, Generator
from functools import partial
from typing import Any

import aiosqlite

# What every connection of the process (the engine's and ``db.hot``'s) sets for itself:
# commits that wait for no fsync in WAL mode (a commit may be lost with the machine's power,
# the database is never corrupt), no checkpoint inline (``WalCheckpoints``), foreign keys
# enforced. (WAL mode itself is a setting of the database file: the engine sets it.)
CONNECTION_PRAGMAS = (
    "PRAGMA synchronous=NORMAL",
    "PRAGMA wal_autocheckpoint=0",
    "PRAGMA foreign_keys=ON",
)
BUSY_TIMEOUT_SECONDS = 30.0
CHECKPOINT_EVERY = 200  # commits; SQLite's own default is every 1,000 WAL pages
_FIRST_WAIT, _LONGEST_WAIT = 0.001, 0.05
_SQLITE_BUSY = 5  # primary result code; SQLITE_BUSY_SNAPSHOT and others are not retried


class _InlineQueue:
    """Stands in for aiosqlite's queue to its thread: runs each job at once.
    (SQLAlchemy's ``isolation_level`` setter and aiosqlite's connect and stop use it.)"""

    def put_nowait(self, job: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = job
        try:
            result = function()
        except BaseException as exc:  # handed to the waiting caller
            if future is not None:
                future.set_exception(exc)
        else:
            if future is not None:
                future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection without its thread: every call runs inline, retried while
    another process holds the write lock."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _InlineQueue()  # type: ignore[assignment]

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()  # no thread to start

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        return await run_while_busy(partial(fn, *args, **kwargs))


async def run_while_busy(call: Callable[[], Any]) -> Any:
    """``call()``, called again after a growing sleep while it fails with ``SQLITE_BUSY``,
    for up to ``BUSY_TIMEOUT_SECONDS``."""
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    wait = _FIRST_WAIT
    while True:
        try:
            return call()
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) != _SQLITE_BUSY:
                raise
            if time.monotonic() + wait > deadline:
                raise
        await asyncio.sleep(wait)
        wait = min(wait * 2, _LONGEST_WAIT)


def async_connector(path: str) -> Callable[[], Awaitable[InlineConnection]]:
    """An ``async_creator`` of connections to the SQLite database file ``path``, in
    autocommit mode (the engine issues its own ``BEGIN``) with ``busy_timeout`` 0."""

    async def connect() -> InlineConnection:
        connector = partial(
            sqlite3.connect, path, timeout=0, isolation_level=None, check_same_thread=False
        )
        connection = InlineConnection(connector)
        await connection
        return connection

    return connect


class WalCheckpoints:
    """Passive WAL checkpoints of the database file ``path`` on a worker thread, one at a
    time, every ``CHECKPOINT_EVERY`` calls of ``note_commit``."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._commits = 0
        self._running: asyncio.Future[None] | None = None

    def note_commit(self) -> None:
        self._commits += 1
        if self._commits >= CHECKPOINT_EVERY and (self._running is None or self._running.done()):
            self._commits = 0
            self._running = asyncio.get_running_loop().run_in_executor(
                None, _checkpoint, self._path
            )

    async def close(self) -> None:
        if self._running is not None:
            await self._running


def _checkpoint(path: str) -> None:
    with contextlib.closing(sqlite3.connect(path, timeout=5, isolation_level=None)) as db:
        db.execute("PRAGMA wal_checkpoint(PASSIVE)")
