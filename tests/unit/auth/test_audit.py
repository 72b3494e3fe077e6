"""The audit log: immediate and batched entries, filters, pages, export, rotation."""

from __future__ import annotations

import json
from datetime import timedelta

from cargohold.auth.audit import AuditEntry, AuditQuery
from cargohold.auth.principal import ANONYMOUS_PRINCIPAL, Principal
from cargohold.auth.services import AuthServices
from cargohold.db.models import utcnow
from cargohold.db.session import Database
from cargohold.workers import queue

ALICE = Principal(account_id=1, name="alice", kind="user")
ROBOT = Principal(account_id=2, name="acme+ci", kind="robot")


async def test_entries_are_filtered_and_paged_newest_first(auth: AuthServices) -> None:
    audit = auth.audit
    await audit.record(AuditEntry("login", ALICE, client_ip="10.0.0.1"))
    for n in range(5):
        audit.record_later(
            AuditEntry("push", ROBOT, repository=f"acme/app{n % 2}", details={"n": n})
        )
    audit.record_later(AuditEntry("pull", ANONYMOUS_PRINCIPAL, repository="acme/app0"))
    await audit.flush()

    everything = await audit.list(AuditQuery())
    assert [e.kind for e in everything] == ["pull"] + ["push"] * 5 + ["login"]
    assert everything[0].performer is None and everything[0].performer_kind == "anonymous"
    assert everything[-1].client_ip == "10.0.0.1" and everything[-1].namespace is None

    pushes = await audit.list(AuditQuery(repository="acme/app0", kind="push"))
    assert len(pushes) == 3 and {e.namespace for e in pushes} == {"acme"}
    by_robot = await audit.list(AuditQuery(performer="acme+ci", limit=2))
    assert len(by_robot) == 2
    rest = await audit.list(AuditQuery(performer="acme+ci", before_id=by_robot[-1].id))
    assert len(rest) == 3
    assert {e.id for e in by_robot}.isdisjoint({e.id for e in rest})


async def test_time_range_and_export(auth: AuthServices) -> None:
    audit = auth.audit
    old = utcnow() - timedelta(days=3)
    await audit.record(AuditEntry("team_create", ALICE, namespace="acme", at=old))
    await audit.record(
        AuditEntry("permission_change", ALICE, repository="acme/app", details={"role": "read"})
    )
    recent = await audit.list(AuditQuery(since=utcnow() - timedelta(days=1)))
    assert [e.kind for e in recent] == ["permission_change"]
    earlier = await audit.list(AuditQuery(until=utcnow() - timedelta(days=1)))
    assert [e.kind for e in earlier] == ["team_create"]

    lines = [line async for line in audit.export(AuditQuery(limit=1))]
    exported = [json.loads(line) for line in lines]
    assert [e["kind"] for e in exported] == ["permission_change", "team_create"]
    assert exported[0]["details"] == {"role": "read"}
    assert exported[0]["repository"] == "acme/app" and exported[0]["namespace"] == "acme"


async def test_rotation_removes_only_old_entries_and_is_scheduled(
    auth: AuthServices, auth_db: Database
) -> None:
    audit = auth.audit
    await audit.record(AuditEntry("login", ALICE, at=utcnow() - timedelta(days=400)))
    await audit.record(AuditEntry("login", ALICE))
    assert await audit.rotate(utcnow() - timedelta(days=365)) == 1
    assert len(await audit.list(AuditQuery())) == 1

    await audit.schedule_rotation(None, if_absent=True)
    await audit.schedule_rotation(None, if_absent=True)
    assert await queue.pending(auth_db, "audit-rotate") == 1


async def test_stop_flushes_what_is_buffered(auth: AuthServices) -> None:
    audit = auth.audit
    audit.start()
    audit.record_later(AuditEntry("pull", ALICE, repository="acme/app"))
    await audit.stop()
    assert [e.kind for e in await audit.list(AuditQuery())] == ["pull"]


async def test_repeated_entries_of_one_flush_become_one_row_with_a_count(
    auth: AuthServices,
) -> None:
    audit = auth.audit
    for _ in range(3):
        audit.record_later(AuditEntry("pull", ROBOT, repository="acme/app", client_ip="10.0.0.9"))
    audit.record_later(AuditEntry("pull", ROBOT, repository="acme/app", client_ip="10.0.0.8"))
    await audit.flush()
    rows = await audit.list(AuditQuery(kind="pull"))
    counts = sorted((e.client_ip, json.loads(e.details).get("count", 1)) for e in rows)
    assert counts == [("10.0.0.8", 1), ("10.0.0.9", 3)]
