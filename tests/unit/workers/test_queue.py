"""The work queue on SQLite and PostgreSQL: claims are exclusive, leases expire,
re-enqueueing a running job runs it again, failures retry or give up."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from cargohold.db.models import utcnow
from cargohold.db.session import Database
from cargohold.workers import queue

LEASE = timedelta(minutes=5)


async def add(db: Database, kind: str, *keys: str) -> None:
    async with db.write() as session:
        for key in keys:
            await queue.enqueue(session, kind, key)


async def test_concurrent_claimers_never_share_a_job(db: Database) -> None:
    keys = [str(n) for n in range(40)]
    await add(db, "job", *keys)
    # Two engines: two independent claimers, as two processes would be.
    other = Database(db.url)
    try:
        results = await asyncio.gather(
            *[queue.claim(claimer, ["job"], LEASE, limit=3) for claimer in [db, other] * 10]
        )
    finally:
        await other.dispose()
    claimed = [job.key for jobs in results for job in jobs]
    assert len(claimed) == len(set(claimed))
    assert sorted(claimed, key=int) == keys[: len(claimed)]
    assert len(claimed) >= 3


async def test_a_leased_job_is_not_claimed_again_until_the_lease_expires(db: Database) -> None:
    await add(db, "job", "a")
    [first] = await queue.claim(db, ["job"], timedelta(milliseconds=300))
    assert await queue.claim(db, ["job"], LEASE) == []
    await asyncio.sleep(0.5)
    [second] = await queue.claim(db, ["job"], LEASE)
    assert (second.key, second.attempts) == ("a", 2)
    await queue.complete(db, first)  # the lost lease: no effect
    assert await queue.pending(db, "job") == 1
    await queue.complete(db, second)
    assert await queue.pending(db, "job") == 0


async def test_only_due_jobs_of_the_asked_kinds_are_claimed(db: Database) -> None:
    async with db.write() as session:
        await queue.enqueue(session, "later", "x", utcnow() + timedelta(hours=1))
        await queue.enqueue(session, "other", "y")
    assert await queue.claim(db, ["later"], LEASE) == []
    [job] = await queue.claim(db, ["other", "later"], LEASE)
    assert (job.kind, job.key) == ("other", "y")


async def test_enqueue_while_running_runs_the_job_once_more(db: Database) -> None:
    await add(db, "job", "a")
    [job] = await queue.claim(db, ["job"], LEASE)
    await add(db, "job", "a")
    await queue.complete(db, job)
    [again] = await queue.claim(db, ["job"], LEASE)
    assert again.key == "a"
    await queue.complete(db, again)
    assert await queue.claim(db, ["job"], LEASE) == []


async def test_enqueue_if_absent_keeps_the_scheduled_time(db: Database) -> None:
    later = utcnow() + timedelta(hours=1)
    async with db.write() as session:
        await queue.enqueue_if_absent(session, "tick", "all", later)
        await queue.enqueue_if_absent(session, "tick", "all")
    assert await queue.claim(db, ["tick"], LEASE) == []
    assert await queue.pending(db, "tick") == 1


async def test_failure_retries_later_or_gives_up(db: Database) -> None:
    await add(db, "job", "a", "b")
    jobs = await queue.claim(db, ["job"], LEASE, limit=2)
    await queue.fail(db, jobs[0], "boom", utcnow() + timedelta(hours=1))
    await queue.fail(db, jobs[1], "boom", None)
    assert await queue.claim(db, ["job"], LEASE) == []
    assert await queue.pending(db, "job") == 1
