"""Continuous garbage collection: background jobs on the work queue, no pause, no read-only
mode, safe against every push that runs at the same time.

What is garbage, in the order it is removed
-------------------------------------------
1. Tag history rows that ended before the namespace's window (``tag_history_seconds``,
   default 14 days, 0 allowed).
2. Manifests (per repository) that nothing keeps. A manifest is kept by a live tag (not
   expired before the window), a tag row that ended within the window (it can still be
   restored), an index that lists it (``manifest_child``), a subject manifest that exists
   in the repository (a referrer of a kept manifest stays; a referrer's subject removed,
   the referrer goes next), or its youth: a manifest pushed less than the uploaded-blob
   protection (``uploaded_blob_protection_seconds``) ago is kept even untagged, so that a
   manifest pushed by digest before its index, or a referrer pushed before its subject,
   survives until the index arrives. Removing an index makes its children roots; the job
   repeats until nothing more goes.
3. The namespace's usage (``quotas.release_unused``): blobs no manifest of the namespace
   uses any more stop counting.
4. Blob rows that no manifest in any repository uses, no upload protection
   (``uploaded_blob``) covers, no namespace still counts, and that were not touched for
   ``gc_grace_seconds``. Each row removed queues the deletion of its bytes, ``grace``
   later.
5. Bytes (``gc-bytes`` jobs), once the row is gone and only if no row for the digest came
   back and no upload of the same digest cancelled the deletion meanwhile.
6. Abandoned uploads (no chunk for ``upload_abandon_seconds``) with their bytes, and the
   upload objects of uploads whose rows went with a deleted repository or namespace.

Deleting a repository or a namespace removes its rows at once (users see it gone) and
queues a sweep; the blobs and uploads it leaves are reclaimed by that sweep.

Why nothing a push needs is ever lost
-------------------------------------
Every step that removes something decides and removes in one write transaction, holding
the same lock as the writers it could race, so it sees their committed work and they see
its result:

- Manifests and tags change only under ``lock_repository`` (a row lock on PostgreSQL;
  SQLite has one writer at a time): pushes share it, the others hold it alone. Step 2
  holds it alone too and reads after it has it, so a push, a tag move, a tag moved back
  (restore) or an index push either happened before (and its manifest is kept) or
  happens after (and finds the manifest gone: a push stores it again, a restore reports
  it unknown). A manifest pushed by digest before its index is young and kept (pushing
  it again by digest makes it young again: ``record_push``); once the index lists it,
  the index keeps it.
- A layer uploaded a moment before its manifest is protected by its ``uploaded_blob``
  row for ``uploaded_blob_protection_seconds``; step 4 also waits ``grace`` past that
  expiry, so a push that saw the protection in time commits long before the blob could
  go. A mount (``BlobService.mount``) reads the source's blob ``FOR KEY SHARE`` and writes
  the target's protection in the same transaction; step 4 locks each candidate blob row
  ``FOR UPDATE`` before re-checking it, and every insert that references a blob (manifest
  links, protections, quota rows) takes a key-share lock through its foreign key. So a
  reference is either committed before step 4 re-checks (and seen), or it waits for step 4
  and then finds the row gone (the mount falls back to an upload; a push reports the blob
  unknown, which only happens when the protection had expired). On SQLite the writers are
  serialized and the re-check runs in the deleting transaction.
- Bytes are deleted last, ``grace`` after their row, in a transaction that holds the
  ``gc-bytes`` job's row lock and first re-checks that no blob row for the digest exists.
  An upload completing the same digest (``UploadService.complete``) first runs
  ``cancel_byte_deletion`` (when ``may_be_collected``: a digest
  with neither a row nor a job cannot lose its bytes within ``grace``). It touches the
  blob row so that step 4 leaves it alone for ``grace``, which covers the time until the
  upload's row and protection are written; the bytes of a digest with a row are safe,
  since a row comes back only after an upload cancelled the deletion. When there is no
  row, it deletes that job row instead (waiting for a deletion in progress to finish,
  after which its bytes are written anew). Either the deletion finished before the upload
  published its bytes, or it finds its job cancelled or the row back, and keeps them.

Known limit: a client that skipped uploading a layer because ``HEAD`` found it in the
repository (through a manifest that is garbage) and pushes its manifest after collection
removed that manifest gets ``MANIFEST_BLOB_UNKNOWN`` and pushes again. The tag window and
the protection of young manifests make this a matter of a zero window only.

Several workers
---------------
Work is split into queue jobs: one ``gc-sweep`` (periodic, every ``gc_interval_seconds``),
one ``gc-repository`` per repository with garbage, one ``gc-bytes`` per digest. The queue
leases each job to one worker at a time, and every job is safe to run twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from cargohold.content.quotas import charge_manifest, release_unused
from cargohold.content.repositories import lock_repository
from cargohold.content.tag_history import DEFAULT_WINDOW
from cargohold.db.lifecycle_models import NamespaceBlob
from cargohold.db.models import (
    Blob,
    BlobUpload,
    Manifest,
    ManifestBlob,
    ManifestChild,
    Namespace,
    Repository,
    Tag,
    UploadedBlob,
    utcnow,
)
from cargohold.db.scanner_models import WorkItem
from cargohold.db.session import Database
from cargohold.storage.driver import StorageDriver
from cargohold.storage.layout import UPLOADS_PREFIX, blob_key, upload_id_of_key, upload_key
from cargohold.workers import queue
from cargohold.workers.runner import Handler

log = logging.getLogger(__name__)

SWEEP_JOB = "gc-sweep"
REPOSITORY_JOB = "gc-repository"
BYTES_JOB = "gc-bytes"
SWEEP_KEY = "all"
BATCH = 500
MAX_ROUNDS = 20


@dataclass(frozen=True, slots=True)
class GcSettings:
    protection: timedelta
    """How long an uploaded blob, and an untagged manifest, are kept after their push."""
    grace: timedelta = timedelta(minutes=10)
    """Safety margin past every expiry, and the delay between a row and its bytes."""
    abandon: timedelta = timedelta(hours=24)
    """Uploads without a new chunk for this long are removed."""
    interval: timedelta = timedelta(minutes=1)
    """Time between two sweeps."""


@dataclass
class GcStats:
    """What this process's collector removed (for logs, tests and the benchmark)."""

    tags: int = 0
    manifests: int = 0
    blobs: int = 0
    bytes_reclaimed: int = 0
    uploads: int = 0
    released: dict[int, int] = field(default_factory=dict)


def window_of(tag_history_seconds: int | None) -> timedelta:
    """A namespace's time-machine window from its column (None: the default), the rule of
    ``tag_history.history_window`` for a column already read (the sweep reads them all)."""
    return DEFAULT_WINDOW if tag_history_seconds is None else timedelta(seconds=tag_history_seconds)


async def request_collection(session: AsyncSession, repository_id: int | None = None) -> None:
    """Queue collection (in the caller's transaction): of one repository after a tag or
    manifest delete, or a sweep of everything (``None``: after a repository or namespace
    was deleted)."""
    if repository_id is None:
        await queue.enqueue(session, SWEEP_JOB, SWEEP_KEY)
    else:
        await queue.enqueue(session, REPOSITORY_JOB, str(repository_id))


async def may_be_collected(db: Database, digest: str) -> bool:
    """Whether collection could delete the bytes of ``digest`` within ``grace``: a blob row
    or a pending ``gc-bytes`` job exists for it. When neither does, the bytes of an upload
    published now are safe without ``cancel_byte_deletion``: their deletion needs a row
    untouched for ``grace``, then a job that runs ``grace`` after it."""
    return await db.hot.blob_or_job(digest, BYTES_JOB)


async def cancel_byte_deletion(db: Database, digest: str) -> int | None:
    """Called by an upload of ``digest`` before it publishes the bytes: keep the blob row
    from collection for ``grace`` and return its id, or, when there is no row, cancel a
    pending deletion of the bytes and return None (see the module docstring)."""
    return await db.hot.cancel_byte_deletion(digest, BYTES_JOB, utcnow())


async def record_push(
    session: AsyncSession, repository_id: int, manifest_id: int, *, new: bool, by_digest: bool
) -> None:
    """The push transaction's bookkeeping (``ManifestService.put``): a ``new`` manifest's
    blobs count in its namespace's usage (``quotas.charge_manifest``: ``Denied`` past the
    quota; a manifest stored before is counted already), and a manifest pushed again by
    digest counts as young again, so that it survives until its index or tag arrives
    exactly as a new one would."""
    if new:
        await charge_manifest(session, repository_id, manifest_id)
    elif by_digest:
        await session.execute(
            update(Manifest).where(Manifest.id == manifest_id).values(created_at=utcnow())
        )


class GarbageCollector:
    """The collection jobs' handlers on one database and storage."""

    def __init__(self, db: Database, storage: StorageDriver, settings: GcSettings) -> None:
        self.db = db
        self.storage = storage
        self.settings = settings
        self.stats = GcStats()

    def handlers(self) -> Mapping[str, Handler]:
        return {
            SWEEP_JOB: self.sweep,
            REPOSITORY_JOB: self.collect_repository,
            BYTES_JOB: self.delete_bytes,
        }

    async def schedule(self) -> None:
        """Start-up hook: make sure a sweep is queued."""
        async with self.db.write() as session:
            await queue.enqueue_if_absent(session, SWEEP_JOB, SWEEP_KEY)

    async def sweep(self, key: str = SWEEP_KEY, attempt: int = 1) -> None:
        """Find repositories with garbage (queued as their own jobs), release unused
        quota, remove unused blob rows and abandoned uploads; then schedule the next sweep."""
        try:
            await self.queue_repositories()
            await self.release_quotas()
            await self.collect_blobs()
            await self.collect_uploads()
        finally:
            async with self.db.write() as session:
                await queue.enqueue(
                    session, SWEEP_JOB, SWEEP_KEY, utcnow() + self.settings.interval
                )

    async def queue_repositories(self) -> int:
        """Queue a ``gc-repository`` job for each repository with something to remove."""
        now = utcnow()
        async with self.db.read() as session:
            namespaces = (
                await session.execute(select(Namespace.id, Namespace.tag_history_seconds))
            ).all()
            found: set[int] = set()
            for namespace in namespaces:
                cutoff = now - window_of(namespace.tag_history_seconds)
                in_namespace = Repository.namespace_id == namespace.id
                found.update(
                    (
                        await session.execute(
                            select(Manifest.repository_id)
                            .join(Repository, Repository.id == Manifest.repository_id)
                            .where(in_namespace, self._unkept(now, cutoff))
                            .distinct()
                        )
                    ).scalars()
                )
                found.update(
                    (
                        await session.execute(
                            select(Tag.repository_id)
                            .join(Repository, Repository.id == Tag.repository_id)
                            .where(in_namespace, Tag.lifetime_end < cutoff)
                            .distinct()
                        )
                    ).scalars()
                )
        if found:
            async with self.db.write() as session:
                for repository_id in sorted(found):
                    await queue.enqueue_if_absent(session, REPOSITORY_JOB, str(repository_id))
        return len(found)

    async def collect_repository(self, key: str, attempt: int = 1) -> None:
        """Remove the repository's old tag rows and unkept manifests, then release the
        namespace's quota for blobs no longer used."""
        repository_id = int(key)
        async with self.db.write() as session:
            await lock_repository(session, repository_id)
            row = (
                await session.execute(
                    select(Repository.namespace_id, Namespace.tag_history_seconds)
                    .join(Namespace, Namespace.id == Repository.namespace_id)
                    .where(Repository.id == repository_id)
                )
            ).first()
            if row is None:
                return
            now = utcnow()
            cutoff = now - window_of(row.tag_history_seconds)
            ended = await session.execute(
                delete(Tag).where(Tag.repository_id == repository_id, Tag.lifetime_end < cutoff)
            )
            self.stats.tags += ended.rowcount  # type: ignore[attr-defined]
            finished = await self._remove_manifests(session, repository_id, now, cutoff)
            released = await release_unused(session, row.namespace_id)
            self.stats.released[row.namespace_id] = (
                self.stats.released.get(row.namespace_id, 0) + released
            )
        if not finished:
            async with self.db.write() as session:
                await request_collection(session, repository_id)

    async def _remove_manifests(
        self, session: AsyncSession, repository_id: int, now: datetime, cutoff: datetime
    ) -> bool:
        """Remove unkept manifests round by round (an index's children become roots once
        it is gone); False when it stopped at ``MAX_ROUNDS`` with more to do."""
        for _ in range(MAX_ROUNDS):
            ids = list(
                (
                    await session.execute(
                        select(Manifest.id)
                        .where(Manifest.repository_id == repository_id, self._unkept(now, cutoff))
                        .limit(BATCH)
                    )
                ).scalars()
            )
            if not ids:
                return True
            await session.execute(delete(Manifest).where(Manifest.id.in_(ids)))
            self.stats.manifests += len(ids)
        return False

    def _unkept(self, now: datetime, cutoff: datetime) -> ColumnElement[bool]:
        """Manifests that nothing keeps (see the module docstring)."""
        subject = aliased(Manifest)
        tagged = exists().where(
            Tag.manifest_id == Manifest.id,
            or_(
                and_(
                    Tag.lifetime_end.is_(None),
                    or_(Tag.expires_at.is_(None), Tag.expires_at > cutoff),
                ),
                Tag.lifetime_end >= cutoff,
            ),
        )
        listed = exists().where(ManifestChild.child_id == Manifest.id)
        referring = exists().where(
            subject.repository_id == Manifest.repository_id,
            subject.digest == Manifest.subject_digest,
            subject.id != Manifest.id,
        )
        return and_(
            Manifest.created_at < now - self.settings.protection,
            ~tagged,
            ~listed,
            or_(Manifest.subject_digest.is_(None), ~referring),
        )

    async def release_quotas(self) -> int:
        """Release, in every namespace, the usage of blobs no manifest there uses (after
        manifest deletes by users and repository deletes)."""
        async with self.db.read() as session:
            ids = list((await session.execute(select(Namespace.id))).scalars())
        total = 0
        for namespace_id in ids:
            async with self.db.write() as session:
                if await session.get(Namespace, namespace_id) is None:
                    continue
                total += await release_unused(session, namespace_id)
        return total

    def _unused_blob(self, now: datetime) -> ColumnElement[bool]:
        grace = self.settings.grace
        return and_(
            Blob.created_at < now - grace,
            ~exists().where(ManifestBlob.blob_id == Blob.id),
            ~exists().where(NamespaceBlob.blob_id == Blob.id),
            ~exists().where(UploadedBlob.blob_id == Blob.id, UploadedBlob.expires_at > now - grace),
        )

    async def collect_blobs(self) -> int:
        """Remove unused blob rows, queueing the deletion of their bytes; how many."""
        removed = 0
        while True:
            now = utcnow()
            async with self.db.read() as session:
                ids = list(
                    (
                        await session.execute(
                            select(Blob.id).where(self._unused_blob(now)).limit(BATCH)
                        )
                    ).scalars()
                )
            if not ids:
                return removed
            removed += await self._remove_blob_rows(ids)
            if len(ids) < BATCH:
                return removed

    async def _remove_blob_rows(self, ids: list[int]) -> int:
        async with self.db.write() as session:
            locking = select(Blob.id).where(Blob.id.in_(ids)).order_by(Blob.id)
            if session.get_bind().dialect.name != "sqlite":
                locking = locking.with_for_update()
            await session.execute(locking)
            now = utcnow()
            rows = (
                await session.execute(
                    select(Blob.id, Blob.digest).where(Blob.id.in_(ids), self._unused_blob(now))
                )
            ).all()
            if not rows:
                return 0
            doomed = [row.id for row in rows]
            await session.execute(delete(UploadedBlob).where(UploadedBlob.blob_id.in_(doomed)))
            await session.execute(delete(Blob).where(Blob.id.in_(doomed)))
            for row in rows:
                await queue.enqueue(session, BYTES_JOB, row.digest, now + self.settings.grace)
        self.stats.blobs += len(rows)
        return len(rows)

    async def delete_bytes(self, digest: str, attempt: int = 1) -> None:
        """Delete the bytes of ``digest`` unless a blob row for it exists again or an
        upload cancelled the deletion (its job row is gone)."""
        algorithm, _, hex_digest = digest.partition(":")
        key = blob_key(algorithm, hex_digest)
        async with self.db.write() as session:
            job = select(WorkItem.id).where(WorkItem.kind == BYTES_JOB, WorkItem.key == digest)
            if session.get_bind().dialect.name != "sqlite":
                job = job.with_for_update()
            if (await session.execute(job)).first() is None:
                return
            back = await session.scalar(select(exists().where(Blob.digest == digest)))
            if back:
                return
            size = await self.storage.stat(key)
            await self.storage.delete(key)
        self.stats.bytes_reclaimed += size or 0

    async def collect_uploads(self) -> int:
        """Remove uploads abandoned for ``abandon`` and upload objects whose row is gone;
        how many."""
        cutoff = utcnow() - self.settings.abandon
        async with self.db.write() as session:
            ids = list(
                (
                    await session.execute(
                        delete(BlobUpload)
                        .where(BlobUpload.updated_at < cutoff)
                        .returning(BlobUpload.id)
                    )
                ).scalars()
            )
        for upload_id in ids:
            await self.storage.delete(upload_key(upload_id))
        removed = len(ids) + await self._collect_orphan_uploads()
        self.stats.uploads += removed
        return removed

    async def _collect_orphan_uploads(self) -> int:
        old_enough = time.time() - self.settings.grace.total_seconds()
        keys: dict[str, str] = {}
        async for key in self.storage.list(UPLOADS_PREFIX):
            upload_id = upload_id_of_key(key)
            if upload_id is not None:
                keys[upload_id] = key
        if not keys:
            return 0
        async with self.db.read() as session:
            known = set(
                (
                    await session.execute(
                        select(BlobUpload.id).where(BlobUpload.id.in_(list(keys)))
                    )
                ).scalars()
            )
        removed = 0
        for upload_id, key in keys.items():
            if upload_id in known:
                continue
            modified = await self.storage.modified_at(key)
            if modified is not None and modified < old_enough:
                await self.storage.delete(key)
                removed += 1
        return removed

    async def settle(self) -> GcStats:
        """Run every collection step until nothing is left to do now (tests, benchmarks):
        a sweep, the repository jobs, and the due byte deletions. A collection job that
        another worker (the application's background workers) holds is waited for, so
        that what it deletes is gone when this returns."""
        for _ in range(MAX_ROUNDS):
            await self.queue_repositories()
            repositories = await _due_keys(self.db, REPOSITORY_JOB)
            for key in repositories:
                await self.collect_repository(key)
                await _drop_job(self.db, REPOSITORY_JOB, key)
            await self.release_quotas()
            blobs = await self.collect_blobs()
            await self.collect_uploads()
            digests = await _due_keys(self.db, BYTES_JOB)
            for digest in digests:
                await self.delete_bytes(digest)
                await _drop_job(self.db, BYTES_JOB, digest)
            idle = not repositories and not blobs and not digests
            if idle and not await _wait_for_held_jobs(self.db):
                break
        return self.stats


async def _due_keys(db: Database, kind: str) -> list[str]:
    async with db.read() as session:
        return list(
            (
                await session.execute(
                    select(WorkItem.key).where(
                        WorkItem.kind == kind,
                        WorkItem.not_before <= utcnow(),
                        WorkItem.lease_until.is_(None),
                    )
                )
            ).scalars()
        )


async def _wait_for_held_jobs(db: Database) -> bool:
    """Wait until no worker holds an unexpired lease on a collection job; whether any did.
    A lease ends when its job does, or when it expires."""
    held = False
    while await _held_jobs(db):
        held = True
        await asyncio.sleep(0.05)
    return held


async def _held_jobs(db: Database) -> int:
    async with db.read() as session:
        held = select(func.count()).where(
            WorkItem.kind.in_((REPOSITORY_JOB, BYTES_JOB)), WorkItem.lease_until > utcnow()
        )
        return int((await session.execute(held)).scalar_one())


async def _drop_job(db: Database, kind: str, key: str) -> None:
    async with db.write() as session:
        await session.execute(
            delete(WorkItem).where(
                WorkItem.kind == kind, WorkItem.key == key, WorkItem.lease_until.is_(None)
            )
        )
