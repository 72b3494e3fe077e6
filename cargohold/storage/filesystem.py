"""The filesystem driver: objects are files under one root directory.

Uploads are appended with plain ``os.write`` on the event loop (measured fastest here; a
page-cache write does not block for long). The ``fsync`` that makes a blob durable
happens at ``commit``, on a thread; but writeback starts early: every ``WRITEBACK_BYTES``
written, and when a chunk's writer closes, one background thread ``fdatasync``s the
upload while the client sends on, so that the commit's ``fsync`` finds little left to
write (that background sync guarantees nothing; the commit's does). Publishing is a hard
link of the fsynced upload file to the blob path (which never replaces an existing blob),
then the upload name is removed and the directory fsynced: the blob appears whole or not
at all. An upload of a blob that is already published is not fsynced, only discarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
from collections.abc import AsyncIterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from cargohold.errors import PathNotFound, StorageError
from cargohold.storage.driver import BlobWriter, StorageDriver

# Reads of 2 MiB on a thread, handed to the server as response bodies, served blobs at
# about 2.2 GiB/s here; granian's own file sending (``pathsend``) reads 128 KiB at a
# time and reached about 1.3 GiB/s; 1 MiB and 4 MiB reads were slower (bench/, issue 5).
READ_CHUNK = 2 * 1024 * 1024
WRITEBACK_BYTES = 16 * 1024 * 1024
# Writes are made in pieces of at most this size. On this machine's kernel (6.18, ext4,
# in a VM) one write(2) of the 3-4 MiB that the server hands over per body chunk takes
# the page cache's large-folio path, whose copy cost 3x the CPU: 256 MiB written in
# 4 MiB calls with the early writeback below ran at ~280 MiB/s and 0.93 s of CPU, in
# 256 KiB calls at ~850 MiB/s and 0.31 s; a 256 MiB upload through the server went from
# ~225 to ~440 MiB/s (bench/, issue 5).
WRITE_PIECE = 256 * 1024
# One thread: writebacks queue behind each other (one disk), and a writer's close is
# queued after its own writeback, so the descriptor outlives it.
_writeback = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cargohold-writeback")


class FilesystemWriter(BlobWriter):
    def __init__(self, fd: int, size: int) -> None:
        self._fd = fd
        self._size = size
        self._unsynced = 0
        self._syncing: Future[None] | None = None

    @property
    def size(self) -> int:
        return self._size

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view[:WRITE_PIECE])
                view = view[written:]
                self._size += written
        except OSError as exc:
            raise StorageError(f"cannot write upload: {exc}") from exc
        self._unsynced += len(data)
        if self._unsynced >= WRITEBACK_BYTES and (self._syncing is None or self._syncing.done()):
            self._unsynced = 0
            self._syncing = _writeback.submit(_sync_quietly, self._fd)

    async def close(self) -> None:
        if self._fd < 0:
            return
        if self._unsynced:
            _writeback.submit(_sync_and_close, self._fd)
        elif self._syncing is not None:
            _writeback.submit(os.close, self._fd)  # after the writeback that still uses it
        else:
            os.close(self._fd)  # nothing written: an upload's empty start, for one
        self._fd = -1


def _sync_quietly(fd: int) -> None:
    with contextlib.suppress(OSError):  # the commit's fsync reports what matters
        os.fdatasync(fd)


def _sync_and_close(fd: int) -> None:
    try:
        _sync_quietly(fd)
    finally:
        os.close(fd)


class FilesystemDriver(StorageDriver):
    """Objects as files under ``root``."""

    name = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if not key or key.startswith("/") or any(p in ("", ".", "..") for p in key.split("/")):
            raise StorageError(f"invalid storage key {key!r}")
        return self.root / key

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    async def stat(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    async def modified_at(self, key: str) -> float | None:
        try:
            return self._path(key).stat().st_mtime
        except FileNotFoundError:
            return None

    async def read(
        self, key: str, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        try:
            fd = await asyncio.to_thread(os.open, self._path(key), os.O_RDONLY)
        except FileNotFoundError as exc:
            raise PathNotFound(key) from exc
        try:
            end = None if length is None else offset + length
            while end is None or offset < end:
                size = READ_CHUNK if end is None else min(READ_CHUNK, end - offset)
                chunk = await asyncio.to_thread(os.pread, fd, size, offset)
                if not chunk:
                    break
                offset += len(chunk)
                yield chunk
        finally:
            os.close(fd)

    async def open_writer(self, key: str, offset: int) -> BlobWriter:
        path = self._path(key)
        flags = os.O_WRONLY
        if offset == 0:
            flags |= os.O_CREAT
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, flags, 0o640)
        except FileNotFoundError as exc:
            raise PathNotFound(key) from exc
        except OSError as exc:
            raise StorageError(f"cannot open upload {key}: {exc}") from exc
        size = os.fstat(fd).st_size
        if offset > size:
            os.close(fd)
            raise PathNotFound(f"{key} at offset {offset}: only {size} bytes stored")
        if offset < size:
            os.ftruncate(fd, offset)
        os.lseek(fd, offset, os.SEEK_SET)
        return FilesystemWriter(fd, offset)

    async def commit(self, upload_key: str, blob_key: str) -> None:
        await asyncio.to_thread(self._commit, self._path(upload_key), self._path(blob_key))

    @staticmethod
    def _commit(upload: Path, blob: Path) -> None:
        try:
            fd = os.open(upload, os.O_RDONLY)
        except FileNotFoundError as exc:
            raise PathNotFound(str(upload)) from exc
        if blob.exists():
            _discard(upload, fd)
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        blob.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(upload, blob)
        except FileExistsError:  # published by another upload since the check above
            pass
        except OSError as exc:
            if exc.errno == errno.EXDEV:
                raise StorageError("uploads and blobs must live on one filesystem") from exc
            raise StorageError(f"cannot publish blob {blob.name}: {exc}") from exc
        else:
            _fsync_directory(blob.parent)
        upload.unlink()

    async def delete(self, key: str) -> None:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StorageError(f"cannot delete {key}: {exc}") from exc

    async def list(self, prefix: str) -> AsyncIterator[str]:
        keys = await asyncio.to_thread(_keys_under, self.root, prefix)
        for key in keys:
            yield key


def _keys_under(root: Path, prefix: str) -> list[str]:
    base = root / prefix.rstrip("/") if prefix else root
    keys: list[str] = []
    for directory, _subdirs, files in os.walk(base):
        rel = os.path.relpath(directory, root)
        keys.extend(name if rel == "." else f"{rel}/{name}" for name in files)
    return [key for key in keys if key.startswith(prefix)]


def _discard(upload: Path, fd: int) -> None:
    """Remove the upload of a blob already published (same digest, same bytes: nothing
    to fsync), with ``fd`` open on it. Its name goes now; its pages and blocks are freed
    when the last descriptor closes, which happens on the writeback thread: for a 29 MiB
    upload, ``unlink`` of a closed file took ~7 ms, and it also waited for the upload's
    writeback. If the process dies first, closing its descriptors frees the file all
    the same."""
    try:
        upload.unlink()
    finally:
        _writeback.submit(os.close, fd)


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
