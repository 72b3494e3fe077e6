"""The runner: handlers run per kind, ``RetryLater`` and failures come back later, a job
that keeps failing is given up, ``stop`` ends the loops."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from cargohold.db.models import utcnow
from cargohold.db.session import Database
from cargohold.workers import queue
from cargohold.workers.runner import RetryLater, RunnerSettings, WorkerRunner

from .test_queue import add

SETTINGS = RunnerSettings(poll_seconds=0.05, max_attempts=2, first_retry=timedelta(0))


async def test_jobs_run_and_are_removed(db: Database) -> None:
    seen: list[tuple[str, int]] = []

    async def handler(key: str, attempt: int) -> None:
        seen.append((key, attempt))

    await add(db, "job", "a", "b")
    runner = WorkerRunner(db, {"job": handler}, SETTINGS)
    runner.start()
    try:
        for _ in range(500):
            if len(seen) == 2 and await queue.pending(db, "job") == 0:
                break
            await asyncio.sleep(0.02)
    finally:
        await runner.stop()
    assert sorted(seen) == [("a", 1), ("b", 1)]
    assert await queue.pending(db, "job") == 0


async def test_retry_later_keeps_the_job_until_its_time(db: Database) -> None:
    async def handler(key: str, attempt: int) -> None:
        raise RetryLater("not yet", timedelta(hours=1))

    await add(db, "job", "a")
    runner = WorkerRunner(db, {"job": handler}, SETTINGS)
    assert await runner.run_once()
    assert not await runner.run_once()
    assert await queue.pending(db, "job") == 1


async def test_a_job_interrupted_by_stop_is_released_at_once(db: Database) -> None:
    started = asyncio.Event()

    async def handler(key: str, attempt: int) -> None:
        started.set()
        await asyncio.sleep(3600)

    await add(db, "job", "a")
    runner = WorkerRunner(db, {"job": handler}, SETTINGS)
    runner.start()
    await asyncio.wait_for(started.wait(), 30)
    await runner.stop()
    [job] = await queue.claim(db, ["job"], timedelta(minutes=1))
    assert (job.key, job.attempts) == ("a", 2)


async def test_a_failing_job_is_retried_then_given_up(db: Database) -> None:
    attempts: list[int] = []

    async def handler(key: str, attempt: int) -> None:
        attempts.append(attempt)
        raise ValueError("broken")

    await add(db, "job", "a")
    runner = WorkerRunner(db, {"job": handler}, SETTINGS)
    while await runner.run_once():
        pass
    assert attempts == [1, 2]
    assert await queue.pending(db, "job") == 0


async def test_startup_hooks_run(db: Database) -> None:
    ran = asyncio.Event()

    async def hook() -> None:
        async with db.write() as session:
            await queue.enqueue(session, "job", "from-hook", utcnow())
        ran.set()

    runner = WorkerRunner(db, {}, SETTINGS, startup=[hook])
    runner.start()
    try:
        await asyncio.wait_for(ran.wait(), 30)
    finally:
        await runner.stop()
    assert await queue.pending(db, "job") == 1
