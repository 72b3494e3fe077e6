"""Turning a layer blob into its tar stream: which media types are layers, and which
decompressor a blob needs.

The compression is sniffed from the blob's first bytes rather than trusted from the media
type: Docker's ``...rootfs.diff.tar.gzip`` is used for uncompressed and zstd layers too, and
sniffing costs nothing. The media type only decides whether a blob is a layer at all.
"""

from __future__ import annotations

import gzip
from typing import IO, Final, Protocol, cast

import zstandard

from cargohold.scanner.indexer.errors import ImageUnsupported
from cargohold.spec import mediatypes

DOCKER_LAYER_UNCOMPRESSED: Final = "application/vnd.docker.image.rootfs.diff.tar"
LAYER_MEDIA_TYPES: Final = frozenset(
    {
        mediatypes.OCI_LAYER,
        mediatypes.OCI_LAYER_GZIP,
        mediatypes.OCI_LAYER_ZSTD,
        mediatypes.DOCKER_LAYER,
        DOCKER_LAYER_UNCOMPRESSED,
    }
    | mediatypes.FOREIGN_LAYER_TYPES
)
"""Blobs whose media type says they are filesystem layers (tar, possibly compressed)."""

GZIP_MAGIC: Final = b"\x1f\x8b"
ZSTD_MAGIC: Final = b"\x28\xb5\x2f\xfd"
_READ_SIZE: Final = 1024 * 1024


class ByteReader(Protocol):
    """A blocking binary stream."""

    def read(self, size: int = -1, /) -> bytes: ...


class PeekableStream(ByteReader, Protocol):
    """A blocking binary stream that can show its next bytes without consuming them."""

    def peek(self, size: int) -> bytes: ...


def is_layer_media_type(media_type: str) -> bool:
    """Whether a descriptor with this media type is a filesystem layer."""
    return mediatypes.strip_parameters(media_type) in LAYER_MEDIA_TYPES


def open_tar_stream(blob: PeekableStream, limit: int) -> LimitedReader:
    """The uncompressed tar stream of ``blob`` (gzip, zstd or none, by magic bytes).

    Reading past ``limit`` uncompressed bytes raises ``ImageUnsupported``.
    """
    head = blob.peek(len(ZSTD_MAGIC))
    stream: ByteReader
    # Both decompressors only call read(); the casts satisfy their stubs' wider types.
    file_like = cast(IO[bytes], blob)
    if head.startswith(GZIP_MAGIC):
        stream = gzip.GzipFile(fileobj=file_like, mode="rb")
    elif head.startswith(ZSTD_MAGIC):
        stream = zstandard.ZstdDecompressor().stream_reader(
            file_like, read_size=_READ_SIZE, read_across_frames=True, closefd=False
        )
    else:
        stream = blob
    return LimitedReader(stream, limit)


class LimitedReader:
    """Reads from ``stream`` and raises ``ImageUnsupported`` once more than ``limit``
    bytes have come through."""

    def __init__(self, stream: ByteReader, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self.bytes_read = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self.bytes_read += len(data)
        if self.bytes_read > self._limit:
            raise ImageUnsupported(
                f"a layer's uncompressed size is over the limit of {self._limit} bytes"
            )
        return data
