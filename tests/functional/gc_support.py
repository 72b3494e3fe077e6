"""Helpers of the garbage collection tests: a collector on the test application's database
and storage, and a way to make time pass for protections without waiting."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from starlette.applications import Starlette

from cargohold.content.fsck import check_storage
from cargohold.content.gc import GarbageCollector, GcSettings
from cargohold.db.lifecycle_models import NamespaceBlob
from cargohold.db.models import (
    Blob,
    BlobUpload,
    Manifest,
    ManifestBlob,
    Namespace,
    Repository,
    UploadedBlob,
    utcnow,
)
from cargohold.db.session import Database
from cargohold.storage.driver import StorageDriver
from cargohold.storage.layout import BLOBS_PREFIX, UPLOADS_PREFIX, digest_of_blob_key

LONG_AGO = timedelta(days=400)


def database(app: Starlette) -> Database:
    db: Database = app.state.services.blobs.db
    return db


def storage(app: Starlette) -> StorageDriver:
    driver: StorageDriver = app.state.services.blobs.storage
    return driver


def collector(
    app: Starlette,
    *,
    protection: timedelta = timedelta(hours=24),
    grace: timedelta = timedelta(0),
    abandon: timedelta = timedelta(hours=24),
) -> GarbageCollector:
    settings = GcSettings(protection=protection, grace=grace, abandon=abandon)
    return GarbageCollector(database(app), storage(app), settings)


async def set_window(app: Starlette, namespace: str, seconds: int | None) -> None:
    async with database(app).write() as session:
        await session.execute(
            update(Namespace).where(Namespace.name == namespace).values(tag_history_seconds=seconds)
        )


async def age_everything(app: Starlette) -> None:
    """As if a long time had passed: every upload protection expired, every manifest,
    blob and upload old."""
    past = utcnow() - LONG_AGO
    async with database(app).write() as session:
        await session.execute(update(UploadedBlob).values(expires_at=past))
        await session.execute(update(Manifest).values(created_at=past))
        await session.execute(update(Blob).values(created_at=past))
        await session.execute(update(BlobUpload).values(updated_at=past))


async def stored_digests(app: Starlette) -> set[str]:
    found = set()
    async for key in storage(app).list(BLOBS_PREFIX):
        digest = digest_of_blob_key(key)
        if digest is not None:
            found.add(digest)
    return found


async def stored_uploads(app: Starlette) -> list[str]:
    return [key async for key in storage(app).list(UPLOADS_PREFIX)]


async def referenced_digests(app: Starlette) -> set[str]:
    """Digests some manifest uses, or some unexpired upload protection covers."""
    async with database(app).read() as session:
        used = select(Blob.digest).join(ManifestBlob, ManifestBlob.blob_id == Blob.id)
        protected = (
            select(Blob.digest)
            .join(UploadedBlob, UploadedBlob.blob_id == Blob.id)
            .where(UploadedBlob.expires_at > utcnow())
        )
        return set((await session.execute(used.union(protected))).scalars())


async def usage(app: Starlette, namespace: str) -> tuple[int, int]:
    """The namespace's kept usage, and the usage recomputed from its manifests."""
    async with database(app).read() as session:
        namespace_id, kept = (
            await session.execute(
                select(Namespace.id, Namespace.usage_bytes).where(Namespace.name == namespace)
            )
        ).one()
        rows = (
            await session.execute(
                select(Blob.id, Blob.size)
                .join(ManifestBlob, ManifestBlob.blob_id == Blob.id)
                .join(Manifest, Manifest.id == ManifestBlob.manifest_id)
                .join(Repository, Repository.id == Manifest.repository_id)
                .where(Repository.namespace_id == namespace_id)
                .distinct()
            )
        ).all()
        counted = (
            await session.execute(
                select(NamespaceBlob.blob_id).where(NamespaceBlob.namespace_id == namespace_id)
            )
        ).scalars()
        assert set(counted) == {row.id for row in rows}
        return kept, sum(row.size for row in rows)


async def assert_fsck_clean(app: Starlette) -> None:
    report = await check_storage(database(app), storage(app), repair=False)
    assert not report.problems and not report.stale and not report.garbage, list(report.lines())
