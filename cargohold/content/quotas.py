"""Storage quotas: each namespace's usage against its limit, kept up to date incrementally.

A namespace's usage is the size of the blobs its manifests use, each blob counted once in
the namespace however many manifests and repositories use it (a ``namespace_blob`` row per
blob, ``namespace.usage_bytes`` their sum). It changes in two places only, both holding
the namespace's row lock (``lock_namespace``: ``FOR UPDATE`` on PostgreSQL, SQLite's
serialized writers), so that they never miscount against each other:

- a manifest push (``charge_manifest``, in the push's transaction): the manifest's blobs
  that the namespace did not use yet are added. A push that would take usage past
  ``quota_bytes`` is refused with ``DENIED`` and the quota in the message; the transaction
  rolls back, so nothing that counts is stored (its layers stay only as protected uploads,
  which garbage collection removes later). Past ``quota_warning_percent`` the push
  succeeds and a ``quota_warning`` log line and audit entry are written.
- garbage collection (``release_unused``), after manifests are removed (by users or by
  collection) or a repository is deleted: the rows of blobs that no manifest of the
  namespace uses any more are removed and their sizes subtracted.

A push that adds no new blob (a re-tag, an index of manifests already pushed) is never
refused, even when a lowered quota is already exceeded: it adds nothing to storage.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cargohold.db.auth_models import AuditEvent
from cargohold.db.lifecycle_models import NamespaceBlob
from cargohold.db.models import Blob, Manifest, ManifestBlob, Namespace, Repository, utcnow
from cargohold.db.session import Database
from cargohold.errors import Denied, InvalidRequest, NotFound

log = logging.getLogger(__name__)

GIB = 1 << 30


@dataclass(frozen=True, slots=True)
class Quota:
    """A namespace's limit (None: none), warning threshold and current usage."""

    namespace: str
    quota_bytes: int | None
    warning_percent: int
    usage_bytes: int


async def lock_namespace(session: AsyncSession, namespace_id: int) -> Namespace:
    """The namespace's row, locked until the transaction ends (PostgreSQL); SQLite's write
    transactions are serialized already."""
    query = (
        select(Namespace)
        .where(Namespace.id == namespace_id)
        .execution_options(populate_existing=True)
    )
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one()


async def charge_manifest(session: AsyncSession, repository_id: int, manifest_id: int) -> None:
    """Count the blobs of manifest ``manifest_id`` in its namespace's usage (in the push's
    transaction); ``Denied`` when that would pass the namespace's quota."""
    namespace_id = (
        await session.execute(select(Repository.namespace_id).where(Repository.id == repository_id))
    ).scalar_one()
    namespace = await lock_namespace(session, namespace_id)
    new = (
        await session.execute(
            select(Blob.id, Blob.size)
            .join(ManifestBlob, ManifestBlob.blob_id == Blob.id)
            .where(
                ManifestBlob.manifest_id == manifest_id,
                ~exists().where(
                    NamespaceBlob.namespace_id == namespace_id, NamespaceBlob.blob_id == Blob.id
                ),
            )
        )
    ).all()
    if not new:
        return
    added = int(sum(row.size for row in new))
    usage = namespace.usage_bytes + added
    if namespace.quota_bytes is not None and usage > namespace.quota_bytes:
        raise Denied(
            f"pushing this image would use {_human(usage)} of {namespace.name}'s "
            f"{_human(namespace.quota_bytes)} quota",
            {"quota_bytes": namespace.quota_bytes, "usage_bytes": namespace.usage_bytes},
        )
    await session.execute(
        insert(NamespaceBlob),
        [{"namespace_id": namespace_id, "blob_id": row.id, "size": row.size} for row in new],
    )
    await session.execute(
        update(Namespace)
        .where(Namespace.id == namespace_id)
        .values(usage_bytes=Namespace.usage_bytes + added)
    )
    if namespace.quota_bytes is not None and usage * 100 >= (
        namespace.quota_bytes * namespace.quota_warning_percent
    ):
        await _warn(session, namespace, usage)


async def release_unused(session: AsyncSession, namespace_id: int) -> int:
    """Stop counting the blobs no manifest of the namespace uses any more; the bytes
    released. Call in a write transaction after manifests were removed."""
    await lock_namespace(session, namespace_id)
    used = (
        exists()
        .where(
            ManifestBlob.blob_id == NamespaceBlob.blob_id,
            Manifest.id == ManifestBlob.manifest_id,
            Repository.id == Manifest.repository_id,
            Repository.namespace_id == namespace_id,
        )
        .correlate(NamespaceBlob)
    )
    unused = (
        await session.execute(
            select(NamespaceBlob.blob_id, NamespaceBlob.size).where(
                NamespaceBlob.namespace_id == namespace_id, ~used
            )
        )
    ).all()
    if not unused:
        return 0
    released = int(sum(row.size for row in unused))
    ids = [row.blob_id for row in unused]
    for start in range(0, len(ids), 500):
        await session.execute(
            delete(NamespaceBlob).where(
                NamespaceBlob.namespace_id == namespace_id,
                NamespaceBlob.blob_id.in_(ids[start : start + 500]),
            )
        )
    await session.execute(
        update(Namespace)
        .where(Namespace.id == namespace_id)
        .values(usage_bytes=Namespace.usage_bytes - released)
    )
    return released


class QuotaService:
    """Reads and sets namespaces' quotas (the API's permission checks come first)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, namespace: str) -> Quota:
        async with self._db.read() as session:
            row = await _namespace(session, namespace)
            return _quota(row)

    async def set(self, namespace: str, quota_bytes: int | None, warning_percent: int) -> Quota:
        """Set the limit (None: none) and the warning threshold, in percent of it."""
        if quota_bytes is not None and quota_bytes < 0:
            raise InvalidRequest("quota_bytes must be 0 or more, or null for no quota")
        if not 1 <= warning_percent <= 100:
            raise InvalidRequest("warning_percent must be between 1 and 100")
        async with self._db.write() as session:
            row = await _namespace(session, namespace)
            await lock_namespace(session, row.id)
            await session.execute(
                update(Namespace)
                .where(Namespace.id == row.id)
                .values(quota_bytes=quota_bytes, quota_warning_percent=warning_percent)
            )
            row = await lock_namespace(session, row.id)
            return _quota(row)


async def _namespace(session: AsyncSession, name: str) -> Namespace:
    row = (
        await session.execute(select(Namespace).where(Namespace.name == name))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"namespace {name!r} does not exist")
    return row


def _quota(row: Namespace) -> Quota:
    return Quota(row.name, row.quota_bytes, row.quota_warning_percent, row.usage_bytes)


async def _warn(session: AsyncSession, namespace: Namespace, usage: int) -> None:
    assert namespace.quota_bytes is not None
    details = {
        "usage_bytes": usage,
        "quota_bytes": namespace.quota_bytes,
        "warning_percent": namespace.quota_warning_percent,
    }
    log.warning("quota_warning", extra={"fields": {"namespace": namespace.name, **details}})
    await session.execute(
        insert(AuditEvent).values(
            kind="quota_warning",
            performer=None,
            performer_kind="anonymous",
            namespace=namespace.name,
            details=json.dumps(details, sort_keys=True),
            created_at=utcnow(),
        )
    )


def _human(size: int) -> str:
    for unit, scale in (("GiB", GIB), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"
