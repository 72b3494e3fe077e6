"""The storage driver interface: the only thing ``content`` knows about where bytes live.

A driver stores opaque byte objects under keys (``layout.py`` says which). Keys are
relative, ``/``-separated, and never contain ``..`` or empty components; drivers may rely
on that, because ``content`` only builds keys through ``layout``.

Contracts every driver keeps (the shared suite in ``tests/unit/storage`` checks them):

- ``write`` appends to an upload object. ``open_writer(key, offset)`` starts writing at
  ``offset``: bytes already stored past ``offset`` (left by a connection that broke
  mid-chunk, or a process killed mid-write) are discarded first. Offset 0 creates the
  object. An offset past the stored size (or any offset above 0 where nothing is stored)
  raises ``PathNotFound``: the bytes before ``offset`` are gone.
- ``commit(upload, blob)`` makes the upload's bytes durable and visible under the blob
  key atomically: a reader sees the whole blob or nothing. If the blob key already holds
  bytes (same digest pushed twice), they are kept. The upload object is consumed: it
  never shares storage with a published blob, so no later write to the upload key can
  change a blob. The caller writes the blob's database row after ``commit``: a crash in
  between leaves bytes nothing references (garbage, which ``fsck`` reports), never a row
  without bytes.
- ``read`` streams ``length`` bytes from ``offset`` (all of it when None).
- ``delete`` of a missing key is not an error.
- ``stat`` returns the size, or None when nothing is stored at the key.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from pathlib import Path


class BlobWriter(abc.ABC):
    """Appends to one upload object. Not safe for concurrent use."""

    @property
    @abc.abstractmethod
    def size(self) -> int:
        """Bytes stored in the object so far, including those written by this writer."""

    @abc.abstractmethod
    async def write(self, data: bytes) -> None:
        """Append ``data``."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Flush what was written; the object stays, ready for another writer at ``size``."""


class StorageDriver(abc.ABC):
    """Byte objects under keys. See the module docstring for the contracts."""

    name: str = "abstract"

    @abc.abstractmethod
    async def stat(self, key: str) -> int | None:
        """The size of the object at ``key``, or None when there is none."""

    @abc.abstractmethod
    def read(self, key: str, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        """Stream the object's bytes; raises ``PathNotFound`` when it does not exist."""

    @abc.abstractmethod
    async def open_writer(self, key: str, offset: int) -> BlobWriter:
        """A writer appending at ``offset``; anything stored past ``offset`` is dropped."""

    @abc.abstractmethod
    async def commit(self, upload_key: str, blob_key: str) -> None:
        """Durably publish the upload's bytes under ``blob_key``, atomically, consuming the
        upload object. Raises ``PathNotFound`` when the upload object does not exist."""

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the object at ``key``; a missing key is fine."""

    @abc.abstractmethod
    def list(self, prefix: str) -> AsyncIterator[str]:
        """Every key that starts with ``prefix``, in no particular order."""

    @abc.abstractmethod
    async def modified_at(self, key: str) -> float | None:
        """Seconds since the epoch of the object's last change, or None when missing."""

    def local_path(self, key: str) -> Path | None:
        """A filesystem path that holds the object's bytes (for tools such as ``fsck``'s
        tests). Drivers whose bytes are not on a local filesystem return None (the default).
        """
        return None

    async def close(self) -> None:  # noqa: B027 - optional hook, not abstract
        """Release connections and handles; the default has none."""
