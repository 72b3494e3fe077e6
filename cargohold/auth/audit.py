"""The audit log: who did what, to which namespace and repository, when, from where.

Security changes (logins, failed logins, permissions, teams, robots, tokens, visibility)
are written at once, each in its own transaction. The registry's own traffic (pushes,
pulls, deletes) is written in batches by a background task about once a second, so that a
pull does not wait for a write; a process killed between two flushes loses at most that
second of pull and push entries (the content itself is in the database either way). In a
batch, identical entries (one account pulling one manifest from one address, many times
in that second) are one row with a ``count``.

``details`` never holds a secret: callers pass names, digests and ids, not credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select

from cargohold.auth.principal import ANONYMOUS, Principal
from cargohold.db.auth_models import AuditEvent
from cargohold.db.models import utcnow
from cargohold.db.session import Database
from cargohold.spec.reference import namespace_of
from cargohold.workers import queue

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
MAX_BUFFER = 10_000
ROTATE_JOB = "audit-rotate"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    kind: str
    principal: Principal
    repository: str | None = None
    namespace: str | None = None
    client_ip: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=utcnow)

    def batch_key(self) -> tuple[Any, ...]:
        """What entries that may share one row (differing only in time) have in common."""
        details = tuple(sorted((k, str(v)) for k, v in self.details.items()))
        principal = (self.principal.name, self.principal.kind)
        return (self.kind, principal, self.namespace, self.repository, self.client_ip, details)

    def row(self) -> dict[str, Any]:
        namespace = self.namespace or (namespace_of(self.repository) if self.repository else None)
        return {
            "kind": self.kind,
            "performer": self.principal.name,
            "performer_kind": self.principal.kind if self.principal.name else ANONYMOUS,
            "namespace": namespace,
            "repository": self.repository,
            "client_ip": self.client_ip,
            "details": json.dumps(dict(self.details), sort_keys=True, default=str),
            "created_at": self.at,
        }


@dataclass(slots=True)
class _Batched:
    row: dict[str, Any]
    count: int = 1

    def final_row(self) -> dict[str, Any]:
        if self.count == 1:
            return self.row
        details = json.loads(self.row["details"]) | {"count": self.count}
        return self.row | {"details": json.dumps(details, sort_keys=True, default=str)}


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters of ``AuditLog.list``; every one optional. ``before_id`` pages backwards."""

    namespace: str | None = None
    repository: str | None = None
    performer: str | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    limit: int = 100


class AuditLog:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._buffer: dict[tuple[Any, ...], _Batched] = {}
        self._flusher: asyncio.Task[None] | None = None

    async def record(self, entry: AuditEntry) -> None:
        """Write ``entry`` now."""
        async with self._db.write() as session:
            await session.execute(insert(AuditEvent), [entry.row()])

    def record_later(self, entry: AuditEntry) -> None:
        """Queue ``entry`` for the next flush (registry traffic). Entries that differ only
        in their time (the same performer pulling the same manifest from the same address)
        become one row with ``"count"`` in its details and the first one's time. When the
        buffer is full (the database is not keeping up), the entry is logged as a warning
        instead."""
        key = entry.batch_key()
        batched = self._buffer.get(key)
        if batched is not None:
            batched.count += 1
        elif len(self._buffer) >= MAX_BUFFER:
            log.warning("audit buffer full; entry not stored: %s", entry.row())
        else:
            self._buffer[key] = _Batched(entry.row())

    async def flush(self) -> None:
        batched, self._buffer = self._buffer, {}
        rows = [b.final_row() for b in batched.values()]
        if rows:
            async with self._db.write() as session:
                await session.execute(insert(AuditEvent), rows)

    def start(self) -> None:
        self._flusher = asyncio.create_task(self._flush_forever(), name="audit-flush")

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush()

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            try:
                await self.flush()
            except Exception:
                log.exception("audit flush failed; will retry")

    async def list(self, query: AuditQuery) -> list[AuditEvent]:
        """Entries matching ``query``, newest first."""
        statement = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(query.limit)
        for column, value in (
            (AuditEvent.namespace, query.namespace),
            (AuditEvent.repository, query.repository),
            (AuditEvent.performer, query.performer),
            (AuditEvent.kind, query.kind),
        ):
            if value is not None:
                statement = statement.where(column == value)
        if query.since is not None:
            statement = statement.where(AuditEvent.created_at >= query.since)
        if query.until is not None:
            statement = statement.where(AuditEvent.created_at < query.until)
        if query.before_id is not None:
            statement = statement.where(AuditEvent.id < query.before_id)
        async with self._db.read() as session:
            return list((await session.execute(statement)).scalars())

    async def export(self, query: AuditQuery) -> AsyncIterator[str]:
        """Every entry matching ``query`` (its limit is the page size), oldest page last,
        as JSON lines."""
        before = query.before_id
        while True:
            page = await self.list(_replace_before(query, before))
            for event in page:
                yield json.dumps(render_event(event), sort_keys=True) + "\n"
            if len(page) < query.limit:
                return
            before = page[-1].id

    async def schedule_rotation(self, not_before: datetime | None, *, if_absent: bool) -> None:
        """Queue the background job that removes old entries (``rotate``), at
        ``not_before`` (now when None); ``if_absent`` keeps an already scheduled run."""
        async with self._db.write() as session:
            if if_absent:
                await queue.enqueue_if_absent(session, ROTATE_JOB, "all", not_before)
            else:
                await queue.enqueue(session, ROTATE_JOB, "all", not_before)

    async def rotate(self, older_than: datetime) -> int:
        """Delete entries older than ``older_than``; how many."""
        async with self._db.write() as session:
            result = await session.execute(
                delete(AuditEvent).where(AuditEvent.created_at < older_than)
            )
        return int(getattr(result, "rowcount", 0) or 0)


def _replace_before(query: AuditQuery, before_id: int | None) -> AuditQuery:
    return AuditQuery(
        query.namespace,
        query.repository,
        query.performer,
        query.kind,
        query.since,
        query.until,
        before_id,
        query.limit,
    )


def render_event(event: AuditEvent) -> dict[str, Any]:
    """An entry as the API and the export show it."""
    return {
        "id": event.id,
        "kind": event.kind,
        "performer": event.performer,
        "performer_kind": event.performer_kind,
        "namespace": event.namespace,
        "repository": event.repository,
        "client_ip": event.client_ip,
        "details": json.loads(event.details),
        "time": event.created_at.isoformat(),
    }
