"""``cargohold fsck``: blob storage checked against the database.

Problems (the database points at bytes that are not there, or not whole):

- a blob row whose bytes are missing or of another size. Repair removes the row when no
  manifest uses it (with the repositories' upload protections); otherwise it cannot be
  repaired here and is reported again: the image has to be pushed again.

Stale uploads (an upload row whose bytes are missing or shorter than the row says: a
crash between publishing an upload's bytes as a blob and deleting its row leaves one).
Nothing acknowledged is lost, since the client never got its 201 and starts again; the
upload answers ``BLOB_UPLOAD_UNKNOWN``. Reported; repair deletes them.

Garbage (bytes nothing points at: left by a crash between writing bytes and writing the
row, or by deletions): reported, and removed by repair once older than ``GRACE_SECONDS``,
so that fsck never races a push whose row is about to be written.

Only problems make ``fsck`` exit with status 1.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import delete, exists, select

from cargohold.db.models import Blob, BlobUpload, ManifestBlob, UploadedBlob
from cargohold.db.session import Database
from cargohold.storage.driver import StorageDriver
from cargohold.storage.layout import (
    BLOBS_PREFIX,
    UPLOADS_PREFIX,
    blob_key,
    digest_of_blob_key,
    upload_id_of_key,
    upload_key,
)

GRACE_SECONDS = 3600


@dataclass
class FsckReport:
    problems: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    garbage: list[str] = field(default_factory=list)
    checked_blobs: int = 0
    checked_uploads: int = 0

    def lines(self) -> Iterator[str]:
        for problem in self.problems:
            yield f"PROBLEM  {problem}"
        for upload in self.stale:
            yield f"STALE    {upload}"
        for fixed in self.repaired:
            yield f"REPAIRED {fixed}"
        for item in self.garbage:
            yield f"GARBAGE  {item}"
        yield (
            f"checked {self.checked_blobs} blobs and {self.checked_uploads} uploads: "
            f"{len(self.problems)} problems, {len(self.stale)} stale uploads, "
            f"{len(self.repaired)} repaired, "
            f"{len(self.garbage)} garbage objects"
        )


async def check_storage(db: Database, storage: StorageDriver, *, repair: bool) -> FsckReport:
    """Compare every blob and upload row with storage, and every stored object with the
    rows. With ``repair``, fix what can be fixed; ``problems`` then lists what remains."""
    report = FsckReport()
    known_blobs = await _check_blob_rows(db, storage, report, repair)
    known_uploads = await _check_upload_rows(db, storage, report, repair)
    await _check_objects(storage, report, repair, known_blobs, known_uploads)
    return report


async def _check_blob_rows(
    db: Database, storage: StorageDriver, report: FsckReport, repair: bool
) -> set[str]:
    async with db.read() as session:
        rows = (await session.execute(select(Blob.id, Blob.digest, Blob.size))).all()
    for row in rows:
        report.checked_blobs += 1
        algorithm, _, hex_digest = row.digest.partition(":")
        stored = await storage.stat(blob_key(algorithm, hex_digest))
        if stored == row.size:
            continue
        what = "missing" if stored is None else f"{stored} bytes instead of {row.size}"
        problem = f"blob {row.digest}: bytes {what}"
        if repair and await _drop_unused_blob(db, row.id):
            report.repaired.append(f"{problem}; removed its unused row")
        else:
            report.problems.append(
                problem + ("; used by a manifest: push it again" if repair else "")
            )
    return {row.digest for row in rows}


async def _drop_unused_blob(db: Database, blob_id: int) -> bool:
    async with db.write() as session:
        used = await session.scalar(select(exists().where(ManifestBlob.blob_id == blob_id)))
        if used:
            return False
        await session.execute(delete(UploadedBlob).where(UploadedBlob.blob_id == blob_id))
        await session.execute(delete(Blob).where(Blob.id == blob_id))
        return True


async def _check_upload_rows(
    db: Database, storage: StorageDriver, report: FsckReport, repair: bool
) -> set[str]:
    async with db.read() as session:
        rows = (await session.execute(select(BlobUpload.id, BlobUpload.size))).all()
    for row in rows:
        report.checked_uploads += 1
        stored = await storage.stat(upload_key(row.id))
        if stored is not None and stored >= row.size:
            continue
        what = "missing" if stored is None else f"{stored} bytes of {row.size}"
        stale = f"upload {row.id}: bytes {what}"
        if repair:
            async with db.write() as session:
                await session.execute(delete(BlobUpload).where(BlobUpload.id == row.id))
            await storage.delete(upload_key(row.id))
            report.repaired.append(f"{stale}; upload removed")
        else:
            report.stale.append(stale)
    return {row.id for row in rows}


async def _check_objects(
    storage: StorageDriver,
    report: FsckReport,
    repair: bool,
    known_blobs: set[str],
    known_uploads: set[str],
) -> None:
    old_enough = time.time() - GRACE_SECONDS
    for prefix in (BLOBS_PREFIX, UPLOADS_PREFIX):
        async for key in storage.list(prefix):
            digest = digest_of_blob_key(key)
            upload_id = upload_id_of_key(key)
            if digest in known_blobs or upload_id in known_uploads:
                continue
            modified = await storage.modified_at(key)
            if modified is None or modified > old_enough:
                continue
            if repair:
                await storage.delete(key)
                report.repaired.append(f"{key}: nothing referenced it; deleted")
            else:
                report.garbage.append(f"{key}: nothing references it")
