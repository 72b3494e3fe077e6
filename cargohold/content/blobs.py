"""Blobs as a repository sees them: which it may read, and reading, mounting, deleting.

A repository may read a blob when one of its manifests references it, or when the blob
was uploaded or mounted into it and that protection has not expired (``uploaded_blob``).
Bytes are shared by all repositories; visibility is decided here, in the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, exists, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cargohold.content.repositories import ensure_repository, find_repository_id
from cargohold.db.dialect import insert_returning_id
from cargohold.db.models import Blob, Manifest, ManifestBlob, UploadedBlob, utcnow
from cargohold.db.session import Database
from cargohold.errors import BlobUnknown, Denied
from cargohold.spec.digest import Digest
from cargohold.storage.driver import StorageDriver
from cargohold.storage.layout import blob_key


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """A blob a repository may read."""

    digest: str
    size: int

    @property
    def key(self) -> str:
        algorithm, _, hex_digest = self.digest.partition(":")
        return blob_key(algorithm, hex_digest)


def accessible_blobs(
    repository_id: int, digests: Collection[str], now: datetime
) -> Select[int, str, int]:
    """SELECT (id, digest, size) of those ``digests`` that repository ``repository_id`` may
    read at ``now``."""
    referenced = exists().where(
        ManifestBlob.repository_id == repository_id, ManifestBlob.blob_id == Blob.id
    )
    uploaded = exists().where(
        UploadedBlob.blob_id == Blob.id,
        UploadedBlob.repository_id == repository_id,
        UploadedBlob.expires_at > now,
    )
    return select(Blob.id, Blob.digest, Blob.size).where(
        Blob.digest.in_(list(digests)), or_(uploaded, referenced)
    )


async def protect_blob(
    session: AsyncSession, repository_id: int, blob_id: int, protection: timedelta
) -> None:
    """Let the repository read the blob for ``protection`` even if no manifest uses it."""
    await session.execute(
        delete(UploadedBlob).where(
            UploadedBlob.repository_id == repository_id, UploadedBlob.blob_id == blob_id
        )
    )
    await session.execute(
        insert(UploadedBlob).values(
            repository_id=repository_id, blob_id=blob_id, expires_at=utcnow() + protection
        )
    )


async def record_blob(session: AsyncSession, digest: str, size: int) -> int:
    """The id of the blob row for ``digest``, inserting it when missing."""
    inserted = await insert_returning_id(session, Blob, {"digest": digest, "size": size})
    if inserted is not None:
        return inserted
    return (await session.execute(select(Blob.id).where(Blob.digest == digest))).scalar_one()


class BlobService:
    """Reads, mounts and deletes blobs within repositories."""

    def __init__(self, db: Database, storage: StorageDriver, protection: timedelta) -> None:
        self.db = db
        self.storage = storage
        self.protection = protection

    async def stat(self, repository: str, digest: Digest) -> BlobInfo:
        """The blob as ``repository`` sees it; ``BlobUnknown`` when it may not read it."""
        row = await self.db.hot.accessible_blob(repository, str(digest))
        if row is not None:
            return BlobInfo(row.digest, row.size)
        raise BlobUnknown(f"blob {digest} is not known in repository {repository!r}")

    def read(
        self, blob: BlobInfo, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        """Stream the blob's bytes from ``offset``."""
        return self.storage.read(blob.key, offset, length)

    async def mount(self, repository: str, source: str, digest: Digest) -> BlobInfo | None:
        """Make a blob that ``source`` may read readable in ``repository`` without copying
        bytes. Returns None (the caller starts an upload instead) when ``source`` may not
        read it."""
        async with self.db.write() as session:
            source_id = await find_repository_id(session, source)
            if source_id is None:
                return None
            # FOR KEY SHARE: collection cannot remove the blob row between this read and
            # the target's protection below (see ``content.gc``).
            readable = accessible_blobs(source_id, [str(digest)], utcnow())
            row = (
                await session.execute(readable.with_for_update(read=True, key_share=True))
            ).first()
            if row is None:
                return None
            target_id = await ensure_repository(session, repository)
            await protect_blob(session, target_id, row.id, self.protection)
            return BlobInfo(row.digest, row.size)

    async def delete(self, repository: str, digest: Digest) -> None:
        """Take the blob out of ``repository``. Refused while a manifest there uses it, so
        that deleting a layer cannot break an image; the bytes are reclaimed later by
        garbage collection when no repository uses them."""
        async with self.db.write() as session:
            repository_id = await find_repository_id(session, repository)
            if repository_id is None:
                raise BlobUnknown(f"blob {digest} is not known in repository {repository!r}")
            row = (
                await session.execute(accessible_blobs(repository_id, [str(digest)], utcnow()))
            ).first()
            if row is None:
                raise BlobUnknown(f"blob {digest} is not known in repository {repository!r}")
            user = (
                await session.execute(
                    select(Manifest.digest)
                    .join(ManifestBlob, ManifestBlob.manifest_id == Manifest.id)
                    .where(
                        ManifestBlob.repository_id == repository_id, ManifestBlob.blob_id == row.id
                    )
                    .limit(1)
                )
            ).scalar_one_or_none()
            if user is not None:
                raise Denied(
                    f"blob {digest} is used by manifest {user} in repository {repository!r}; "
                    "delete the manifest first"
                )
            await session.execute(
                delete(UploadedBlob).where(
                    UploadedBlob.repository_id == repository_id, UploadedBlob.blob_id == row.id
                )
            )
