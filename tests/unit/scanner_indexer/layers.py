"""Building image layers in memory for the indexer tests: tar streams of real files,
whiteouts, opaque directories and links, compressed as asked, served in small chunks."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

from cargohold.scanner.indexer import LayerSource
from cargohold.spec import mediatypes

CHUNK_SIZE = 64 * 1024


@dataclass
class LayerBuilder:
    """Collects tar members in order; ``blob()`` makes the layer."""

    members: list[tuple[tarfile.TarInfo, bytes | None]] = field(default_factory=list)

    def file(self, path: str, data: bytes, mode: int = 0o644) -> LayerBuilder:
        info = tarfile.TarInfo(path)
        info.size = len(data)
        info.mode = mode
        self.members.append((info, data))
        return self

    def directory(self, path: str) -> LayerBuilder:
        info = tarfile.TarInfo(path)
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        self.members.append((info, None))
        return self

    def tree(self, source: Path, under: str) -> LayerBuilder:
        """Every file and directory below ``source``, at ``under`` in the layer."""
        for item in sorted(source.rglob("*")):
            path = f"{under}/{item.relative_to(source).as_posix()}"
            if item.is_symlink():
                self.symlink(path, str(item.readlink()))
            elif item.is_dir():
                self.directory(path)
            elif item.is_file():
                self.file(path, item.read_bytes())
        return self

    def symlink(self, path: str, target: str) -> LayerBuilder:
        return self._link(path, target, tarfile.SYMTYPE)

    def hard_link(self, path: str, target: str) -> LayerBuilder:
        return self._link(path, target, tarfile.LNKTYPE)

    def whiteout(self, path: str) -> LayerBuilder:
        directory, _, name = path.rpartition("/")
        return self.file(f"{directory}/.wh.{name}" if directory else f".wh.{name}", b"")

    def opaque(self, directory: str) -> LayerBuilder:
        return self.file(f"{directory}/.wh..wh..opq", b"")

    def tar(self) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for info, data in self.members:
                archive.addfile(info, io.BytesIO(data) if data is not None else None)
        return buffer.getvalue()

    def blob(self, compression: str = "gzip") -> bytes:
        return compress(self.tar(), compression)

    def _link(self, path: str, target: str, link_type: bytes) -> LayerBuilder:
        info = tarfile.TarInfo(path)
        info.type = link_type
        info.linkname = target
        self.members.append((info, None))
        return self


def compress(tar: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.compress(tar, compresslevel=1)
    if compression == "zstd":
        return zstandard.ZstdCompressor().compress(tar)
    assert compression == "none"
    return tar


MEDIA_TYPES = {
    "gzip": mediatypes.OCI_LAYER_GZIP,
    "zstd": mediatypes.OCI_LAYER_ZSTD,
    "none": mediatypes.OCI_LAYER,
}


@dataclass
class StreamLog:
    """What the indexer did with a layer's stream: chunks pulled, whether it was closed."""

    chunks_served: int = 0
    closed: bool = False


def layer_source(
    blob: bytes,
    media_type: str,
    chunk_size: int = CHUNK_SIZE,
    log: StreamLog | None = None,
) -> LayerSource:
    """A ``LayerSource`` serving ``blob`` in ``chunk_size`` pieces."""
    log = log if log is not None else StreamLog()

    def open_stream() -> AsyncIterator[bytes]:
        return _chunks(blob, chunk_size, log)

    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    return LayerSource(digest=digest, media_type=media_type, open=open_stream)


def layer(builder: LayerBuilder, compression: str = "gzip") -> LayerSource:
    return layer_source(builder.blob(compression), MEDIA_TYPES[compression])


async def _chunks(blob: bytes, chunk_size: int, log: StreamLog) -> AsyncIterator[bytes]:
    try:
        for start in range(0, len(blob), chunk_size):
            log.chunks_served += 1
            yield blob[start : start + chunk_size]
    finally:
        log.closed = True
