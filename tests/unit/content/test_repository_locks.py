"""Who waits for whom among the writers of one repository.

Pushes share the repository's lock (``lock_repository(shared=True)``), so that pushes of
different tags run side by side; the writers that remove or rewrite (collection, deletes,
restores, expiry, pruning) hold it alone; the writers of one tag take turns
(``lock_tag``). On SQLite every write transaction waits for the one before
(``BEGIN IMMEDIATE``, one writer connection), so every case waits there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cargohold.content.repositories import ensure_repository, lock_repository
from cargohold.content.tag_history import lock_tag
from cargohold.db.session import Database

from .conftest import Backend

Lock = Callable[[AsyncSession, int], Awaitable[None]]

# A writer that is blocked is still waiting after STILL_WAITING_SECONDS; one that is not
# takes its lock in milliseconds (allowed: PROCEEDS_WITHIN_SECONDS, for a loaded machine).
STILL_WAITING_SECONDS = 0.5
PROCEEDS_WITHIN_SECONDS = 10


def shared(session: AsyncSession, repository_id: int) -> Awaitable[None]:
    return lock_repository(session, repository_id, shared=True)


def exclusive(session: AsyncSession, repository_id: int) -> Awaitable[None]:
    return lock_repository(session, repository_id)


async def pushing(session: AsyncSession, repository_id: int) -> None:
    """The shared lock as a push takes it: while finding the repository by name."""
    assert await ensure_repository(session, REPOSITORY, lock=True) == repository_id


def tag(name: str) -> Lock:
    def lock(session: AsyncSession, repository_id: int) -> Awaitable[None]:
        return lock_tag(session, repository_id, name)

    return lock


REPOSITORY = "team/locks"


async def _hold(db: Database, lock: Lock, held: asyncio.Event, release: asyncio.Event) -> None:
    """Take ``lock`` in a write transaction, the way the writers do (after finding the
    repository in it), and hold it until ``release``."""
    async with db.write() as session:
        await lock(session, await ensure_repository(session, REPOSITORY))
        held.set()
        await release.wait()


async def _check_second_writer(backend: Backend, first: Lock, second: Lock, waits: bool) -> None:
    """While one writer holds ``first``, a writer taking ``second`` is still waiting after
    ``STILL_WAITING_SECONDS`` (``waits``), or gets its lock meanwhile; either way it gets it
    once the first transaction ends. (A slow machine can only make a writer that should
    wait look as if it waited, never fail a writer that should proceed.)"""
    async with backend.db.write() as session:
        await ensure_repository(session, REPOSITORY)
    held, release = asyncio.Event(), asyncio.Event()
    holder = asyncio.create_task(_hold(backend.db, first, held, release))
    await asyncio.wait_for(held.wait(), PROCEEDS_WITHIN_SECONDS)
    taken, done = asyncio.Event(), asyncio.Event()
    second_writer = asyncio.create_task(_hold(backend.db, second, taken, done))
    if waits:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(taken.wait()), STILL_WAITING_SECONDS)
    else:
        await asyncio.wait_for(asyncio.shield(taken.wait()), PROCEEDS_WITHIN_SECONDS)
    release.set()
    await holder
    await asyncio.wait_for(taken.wait(), PROCEEDS_WITHIN_SECONDS)
    done.set()
    await second_writer


@pytest.mark.parametrize(
    ("first", "second", "waits_on_postgresql"),
    [
        pytest.param(shared, shared, False, id="push beside push"),
        pytest.param(shared, exclusive, True, id="collection after push"),
        pytest.param(exclusive, shared, True, id="push after collection"),
        pytest.param(pushing, pushing, False, id="push beside push, found by name"),
        pytest.param(pushing, exclusive, True, id="collection after push, found by name"),
        pytest.param(exclusive, pushing, True, id="push after collection, found by name"),
        pytest.param(tag("latest"), tag("latest"), True, id="one tag"),
        pytest.param(tag("latest"), tag("stable"), False, id="two tags"),
    ],
)
async def test_who_waits(
    backend: Backend, database_kind: str, first: Lock, second: Lock, waits_on_postgresql: bool
) -> None:
    waits = waits_on_postgresql or database_kind == "sqlite"
    await _check_second_writer(backend, first, second, waits)
