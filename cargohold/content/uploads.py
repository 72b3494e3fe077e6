"""Blob uploads: start, append chunks, report progress, complete, cancel.

An upload's state is a ``blob_upload`` row (its committed size) and the bytes under
``uploads/<id>`` in storage, so any process can continue it: after a client disconnect,
a server restart, or on another node. The row's size is the truth; bytes stored past it
(a chunk cut short by a crash) are dropped by the next writer.

The digest is computed while the bytes stream in. The running hash lives in this
process only (``hashlib`` state cannot be saved); when a chunk lands on a process that
did not see the previous ones, completion re-reads the stored bytes once to hash them.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from cargohold.content.blobs import BlobInfo, protect_blob, record_blob
from cargohold.content.gc import cancel_byte_deletion, may_be_collected
from cargohold.content.repositories import ensure_repository
from cargohold.db.models import BlobUpload, utcnow
from cargohold.db.session import Database
from cargohold.errors import (
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    PathNotFound,
    RangeInvalid,
    SizeInvalid,
)
from cargohold.spec.digest import Digest, new_hasher
from cargohold.storage.driver import StorageDriver
from cargohold.storage.layout import blob_key, upload_key

_Hash = Any  # hashlib's hash objects have no public type

MAX_CACHED_HASHERS = 4096

# Built once: a statement made per call costs more than its query (several per blob).
_DELETE_ROW = delete(BlobUpload).where(
    BlobUpload.id == bindparam("upload_id"),
    BlobUpload.repository_id == bindparam("repository_id"),
)


@dataclass(frozen=True, slots=True)
class UploadState:
    """An upload in progress: its id, its repository (name and id), the bytes received so
    far and, when known, their sha256 (hex)."""

    id: str
    repository: str
    repository_id: int
    size: int
    sha256: str | None = None


class RunningHashes:
    """sha256 states of uploads this process has seen every byte of, by upload id."""

    def __init__(self, capacity: int = MAX_CACHED_HASHERS) -> None:
        self._states: OrderedDict[str, tuple[int, _Hash]] = OrderedDict()
        self._capacity = capacity

    def take(self, upload_id: str, offset: int) -> _Hash | None:
        """The running hash of the first ``offset`` bytes, or None if this process does not
        have it. Taking removes it: a failed write must not leave a stale state behind."""
        entry = self._states.pop(upload_id, None)
        if offset == 0:
            return hashlib.sha256()
        if entry is None or entry[0] != offset:
            return None
        return entry[1]

    def keep(self, upload_id: str, offset: int, state: _Hash) -> None:
        self._states[upload_id] = (offset, state)
        self._states.move_to_end(upload_id)
        while len(self._states) > self._capacity:
            self._states.popitem(last=False)

    def forget(self, upload_id: str) -> None:
        self._states.pop(upload_id, None)


class UploadService:
    """Resumable, stateless (across processes) blob uploads."""

    def __init__(self, db: Database, storage: StorageDriver, protection: timedelta) -> None:
        self.db = db
        self.storage = storage
        self.protection = protection
        self.hashes = RunningHashes()

    async def start(self, repository: str) -> UploadState:
        """Open a new, empty upload in ``repository`` (created if missing)."""
        upload_id = uuid.uuid4().hex
        # Bookkeeping (``db.hot``): an upload lost with the database server's crash is
        # unknown to the client's next request, which starts a new one.
        repository_id = await self.db.hot.start_upload(upload_id, repository, utcnow())
        if repository_id is None:  # the first upload to a new repository
            async with self.db.write() as session:
                repository_id = await ensure_repository(session, repository)
                await session.execute(
                    insert(BlobUpload).values(id=upload_id, repository_id=repository_id, size=0)
                )
        writer = await self.storage.open_writer(upload_key(upload_id), 0)
        await writer.close()
        return UploadState(upload_id, repository, repository_id, 0)

    async def status(self, repository: str, upload_id: str) -> UploadState:
        """The upload's progress; ``BlobUploadUnknown`` for an unknown, finished or
        cancelled upload, or one that belongs to another repository."""
        row = await self.db.hot.upload_progress(repository, upload_id)
        if row is None:
            raise BlobUploadUnknown(f"upload {upload_id} is not in progress in {repository!r}")
        return UploadState(upload_id, repository, row.repository_id, row.size, row.sha256)

    async def append(
        self,
        repository: str,
        upload_id: str,
        body: AsyncIterable[bytes],
        *,
        start: int | None = None,
        length: int | None = None,
    ) -> UploadState:
        """Append ``body`` to the upload.

        ``start`` (from ``Content-Range``), when given, must equal the bytes received so
        far, else ``RangeInvalid`` (416). ``length``, when given, is the exact body size:
        a body that ends early because the client went away keeps what arrived (the
        client can ask for the status and resume), one that runs longer is refused and
        keeps nothing of this chunk.
        """
        state = await self.status(repository, upload_id)
        if start is not None and start != state.size:
            raise RangeInvalid(
                f"chunk starts at byte {start}, but the upload has {state.size} bytes; "
                f"resume at {state.size}",
                {"size": state.size},
            )
        running = self.hashes.take(upload_id, state.size)
        try:
            writer = await self.storage.open_writer(upload_key(upload_id), state.size)
        except PathNotFound as exc:
            raise BlobUploadUnknown(f"upload {upload_id} has lost its data") from exc
        received = 0
        keep = True
        try:
            async for chunk in body:
                if length is not None and received + len(chunk) > length:
                    keep = False
                    raise SizeInvalid(f"body is longer than the declared {length} bytes")
                await writer.write(chunk)
                received += len(chunk)  # stored: a chunk the storage failed on is not counted
                if running is not None:
                    running.update(chunk)
        finally:
            await writer.close()
            if keep:
                new_size = state.size + received
                sha256 = running.copy().hexdigest() if running is not None else None
                await self._record_size(upload_id, state.size, new_size, sha256)
                if running is not None:
                    self.hashes.keep(upload_id, new_size, running)
        return UploadState(
            upload_id, repository, state.repository_id, state.size + received, sha256
        )

    async def complete(
        self,
        repository: str,
        upload_id: str,
        digest: Digest,
        body: AsyncIterable[bytes] | None = None,
        *,
        start: int | None = None,
        length: int | None = None,
    ) -> BlobInfo:
        """Append the optional last chunk (``start`` and ``length`` as for ``append``),
        verify ``digest`` against every byte received, and publish the blob in
        ``repository``. A wrong digest cancels the upload (``DigestInvalid``): nothing of
        it becomes visible."""
        if body is not None:
            state = await self.append(repository, upload_id, body, start=start, length=length)
        else:
            state = await self.status(repository, upload_id)
        actual = await self._digest_of(state, digest.algorithm)
        if actual != digest:
            await self.cancel(repository, upload_id)
            raise DigestInvalid(
                f"the uploaded content has digest {actual}, not {digest}",
                {"expected": str(digest), "actual": str(actual)},
            )
        # Before the bytes are published: garbage collection must not delete them between
        # now and this upload's row (see ``content.gc``). Not durable (``db.hot``): it
        # matters only once the row below is committed, durably, which makes it durable too.
        blob_id = None  # the row of a digest stored before, kept from collection for grace
        if await may_be_collected(self.db, str(digest)):
            blob_id = await cancel_byte_deletion(self.db, str(digest))
        try:
            await self.storage.commit(upload_key(upload_id), blob_key(digest.algorithm, digest.hex))
        except PathNotFound as exc:
            raise BlobUploadUnknown(f"upload {upload_id} has lost its data") from exc
        async with self.db.write() as session:
            await self._delete_row(session, state)
            if blob_id is None:
                blob_id = await record_blob(session, str(digest), state.size)
            await protect_blob(session, state.repository_id, blob_id, self.protection)
        return BlobInfo(str(digest), state.size)

    async def cancel(self, repository: str, upload_id: str) -> None:
        """Forget the upload and drop its bytes."""
        state = await self.status(repository, upload_id)
        async with self.db.write() as session:
            await self._delete_row(session, state)
        self.hashes.forget(upload_id)
        await self.storage.delete(upload_key(upload_id))

    async def _digest_of(self, state: UploadState, algorithm: str) -> Digest:
        """The digest of the upload's bytes: from this process's running hash, or the
        sha256 recorded with its size by the request that stored them, or read again."""
        if algorithm == "sha256":
            running = self.hashes.take(state.id, state.size)
            if running is not None:
                return Digest(algorithm, running.hexdigest())
            if state.sha256 is not None:
                return Digest(algorithm, state.sha256)
        hasher = new_hasher(algorithm)
        async for chunk in self.storage.read(upload_key(state.id), 0, state.size):
            hasher.update(chunk)
        return Digest(algorithm, hasher.hexdigest())

    async def _record_size(
        self, upload_id: str, old_size: int, new_size: int, sha256: str | None
    ) -> None:
        # Bookkeeping (``db.hot``): a size lost with the database server's crash is behind
        # the bytes stored, so the client's next PATCH is refused (416) and the digest of
        # its PUT does not match; it uploads again.
        if not await self.db.hot.record_upload_size(
            upload_id, old_size, new_size, sha256, utcnow()
        ):
            raise BlobUploadInvalid(
                f"upload {upload_id} was changed by another request at the same time"
            )

    async def _delete_row(self, session: AsyncSession, state: UploadState) -> None:
        """Delete the upload's row; ``BlobUploadUnknown`` when another request finished or
        cancelled the upload since ``state`` was read."""
        parameters = {"upload_id": state.id, "repository_id": state.repository_id}
        result: Any = await session.execute(_DELETE_ROW, parameters)
        if result.rowcount != 1:
            raise BlobUploadUnknown(f"upload {state.id} is no longer in progress")
