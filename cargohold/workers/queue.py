"""A small work queue in the metadata database, shared by every process.

A job is a row of ``work_item`` unique by (``kind``, ``key``): the scanner's
``("scan-manifest", "<manifest id>")``, a garbage collector's ``("gc-blob", "<digest>")``.
Contracts:

- ``enqueue`` (in the caller's transaction, so a job exists exactly when the change that
  asks for it commits): the job runs at ``not_before`` or later. If the job is already
  queued its time is moved to ``not_before``; if it is running, it runs once more after
  the current run (its ``generation`` moves on, so ``complete`` does not delete it).
  ``enqueue_if_absent`` leaves an existing job untouched (periodic jobs, start-up scans).
- ``claim`` leases up to ``limit`` due jobs to one owner until ``lease_until``: no other
  claimer gets them until the lease expires (a crashed worker's jobs come back then).
  On PostgreSQL the rows are selected ``FOR UPDATE SKIP LOCKED``, so concurrent claimers
  skip each other's rows instead of waiting; on SQLite ``FOR UPDATE`` is not rendered and
  the write transaction (``BEGIN IMMEDIATE``) already excludes every other claimer.
- ``complete`` removes the job unless it was enqueued again while running (then it is
  released, to run again). ``fail`` releases it with an error and a retry time, or removes
  it when ``retry_at`` is None. Both do nothing when the lease was lost (expired and taken
  by another claimer): that claimer owns the job now.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cargohold.db.dialect import insert_ignoring_conflicts, insert_or_update
from cargohold.db.models import utcnow
from cargohold.db.scanner_models import WorkItem
from cargohold.db.session import Database

__all__ = ["Claim", "claim", "complete", "enqueue", "enqueue_if_absent", "fail", "pending"]


@dataclass(frozen=True, slots=True)
class Claim:
    """A job leased to one owner: run it, then ``complete`` or ``fail`` it."""

    id: int
    kind: str
    key: str
    attempts: int
    """How many times the job was claimed, this time included."""
    generation: int
    token: str


async def enqueue(
    session: AsyncSession, kind: str, key: str, not_before: datetime | None = None
) -> None:
    """Queue job (``kind``, ``key``) to run at ``not_before`` (default now); see the module
    docstring for a job that is already queued or running."""
    when = not_before or utcnow()
    await insert_or_update(
        session,
        WorkItem,
        {"kind": kind, "key": key, "not_before": when, "generation": 0, "attempts": 0},
        ["kind", "key"],
        {
            "not_before": when,
            "generation": WorkItem.generation + 1,
            "attempts": 0,
            "last_error": None,
        },
    )


async def enqueue_if_absent(
    session: AsyncSession, kind: str, key: str, not_before: datetime | None = None
) -> None:
    """Queue job (``kind``, ``key``) unless it is already queued or running."""
    await insert_ignoring_conflicts(
        session,
        WorkItem,
        [
            {
                "kind": kind,
                "key": key,
                "not_before": not_before or utcnow(),
                "generation": 0,
                "attempts": 0,
            }
        ],
    )


async def claim(
    db: Database, kinds: Sequence[str], lease: timedelta, limit: int = 1
) -> list[Claim]:
    """Lease up to ``limit`` due jobs of ``kinds`` (oldest ``not_before`` first)."""
    now = utcnow()
    token = uuid.uuid4().hex
    due = and_(
        WorkItem.kind.in_(list(kinds)),
        WorkItem.not_before <= now,
        or_(WorkItem.lease_until.is_(None), WorkItem.lease_until < now),
    )
    # Idle pollers must not take SQLite's write lock: look before claiming.
    async with db.read() as session:
        if (await session.execute(select(WorkItem.id).where(due).limit(1))).first() is None:
            return []
    async with db.write() as session:
        rows = (
            await session.execute(
                select(
                    WorkItem.id, WorkItem.kind, WorkItem.key, WorkItem.attempts, WorkItem.generation
                )
                .where(due)
                .order_by(WorkItem.not_before, WorkItem.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if not rows:
            return []
        await session.execute(
            update(WorkItem)
            .where(WorkItem.id.in_([row.id for row in rows]))
            .values(lease_until=now + lease, lease_owner=token, attempts=WorkItem.attempts + 1)
        )
    return [
        Claim(row.id, row.kind, row.key, row.attempts + 1, row.generation, token) for row in rows
    ]


async def complete(db: Database, job: Claim) -> None:
    """The job is done: remove it, or release it when it was enqueued again meanwhile."""
    async with db.write() as session:
        removed = await session.execute(
            delete(WorkItem).where(
                WorkItem.id == job.id,
                WorkItem.lease_owner == job.token,
                WorkItem.generation == job.generation,
            )
        )
        if not removed.rowcount:  # type: ignore[attr-defined]
            await session.execute(
                update(WorkItem)
                .where(WorkItem.id == job.id, WorkItem.lease_owner == job.token)
                .values(lease_until=None, lease_owner=None, attempts=0)
            )


async def fail(db: Database, job: Claim, error: str, retry_at: datetime | None) -> None:
    """The job failed: run it again at ``retry_at``, or give it up when None."""
    owned = and_(WorkItem.id == job.id, WorkItem.lease_owner == job.token)
    async with db.write() as session:
        if retry_at is None:
            await session.execute(delete(WorkItem).where(owned))
            return
        await session.execute(
            update(WorkItem)
            .where(owned)
            .values(
                lease_until=None, lease_owner=None, last_error=error[:4000], not_before=retry_at
            )
        )


async def pending(db: Database, kind: str) -> int:
    """How many jobs of ``kind`` are queued or running (for tests and metrics)."""
    async with db.read() as session:
        rows = await session.execute(select(WorkItem.id).where(WorkItem.kind == kind))
        return len(rows.all())
