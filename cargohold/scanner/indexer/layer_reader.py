"""Reading one layer's tar stream into the changes it makes to the files of interest.

The stream is read once, front to back (``tarfile`` mode ``r|``): nothing is unpacked to
disk, and only records (see ``records``) are kept, within the size limits. An rpm SQLite
database is spooled to a file in ``spool_dir`` because SQLite opens databases by path.

Executables are searched for Go build info as they pass by (``go_buildinfo``), and only
the build info is kept. Because they are found by content, a file of another kind that
replaces one in a later layer is not a record: the caller names the paths of the Go
executables below (``go_binaries_below``) so that such a file hides them.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, cast

import zstandard

from cargohold.scanner.indexer import elf, go_buildinfo, jar_contents, paths, records
from cargohold.scanner.indexer.decompression import PeekableStream, open_tar_stream
from cargohold.scanner.indexer.errors import ImageUnsupported
from cargohold.scanner.indexer.limits import IndexLimits
from cargohold.scanner.indexer.records import Capture, RecordKind

_TAR_BUFFER_SIZE = 1024 * 1024
_DECOMPRESSION_ERRORS = (OSError, EOFError, zlib.error, zstandard.ZstdError)


@dataclass(frozen=True, eq=False)
class CapturedFile:
    """A record's content: ``data`` in memory, or ``spool_path`` on disk. Compared by
    identity: each capture is a distinct version of a file."""

    kind: RecordKind
    data: bytes = b""
    spool_path: Path | None = None


@dataclass(frozen=True)
class Symlink:
    """A symlink at a record's path; ``target`` is already resolved to an image path."""

    kind: RecordKind
    target: str


Entry = CapturedFile | Symlink


@dataclass
class LayerChanges:
    """What one layer does to the files of interest.

    ``hidden`` (whiteouts, links the indexer cannot follow, and files that replace a Go
    executable with something else) and ``opaque_dirs`` apply to the layers below;
    ``entries`` are this layer's own records and apply after them.
    """

    entries: dict[str, Entry] = field(default_factory=dict)
    hidden: list[str] = field(default_factory=list)
    opaque_dirs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def read_layer(
    blob: PeekableStream,
    limits: IndexLimits,
    spool_dir: Path,
    go_binaries_below: frozenset[str] = frozenset(),
) -> LayerChanges:
    """The changes a layer blob (compressed or not) makes; ``ImageUnsupported`` if it is not
    a tar stream or is past ``limits``. ``go_binaries_below`` are the paths of the Go
    executables in the layers below; any entry at one of them hides it. Blocking: run it
    on a thread."""
    stream = open_tar_stream(blob, limits.max_layer_bytes)
    collector = _LayerCollector(limits, spool_dir, go_binaries_below)
    try:
        with tarfile.open(
            fileobj=cast(IO[bytes], stream), mode="r|", bufsize=_TAR_BUFFER_SIZE
        ) as archive:
            for member in archive:
                collector.add(archive, member)
    except tarfile.TarError as exc:
        raise ImageUnsupported(f"a layer is not a readable tar stream: {exc}") from exc
    except _DECOMPRESSION_ERRORS as exc:
        raise ImageUnsupported(f"a layer cannot be decompressed: {exc}") from exc
    return collector.changes


class _LayerCollector:
    """Sorts tar members into a ``LayerChanges``, keeping count of what it holds."""

    def __init__(
        self, limits: IndexLimits, spool_dir: Path, go_binaries_below: frozenset[str]
    ) -> None:
        self.changes = LayerChanges()
        self._limits = limits
        self._spool_dir = spool_dir
        self._go_binaries_below = go_binaries_below
        self._captured_bytes = 0

    def add(self, archive: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        path = paths.normalize(member.name)
        whiteout = paths.whiteout_of(path)
        if whiteout is not None:
            self._add_whiteout(whiteout)
            return
        if path in self._go_binaries_below:
            # Replaced: by another Go executable (an entry below) or by anything else.
            self.changes.hidden.append(path)
        kind = records.classify(path)
        if kind is None:
            self._add_unnamed(archive, member, path)
            return
        if member.isreg():
            self.changes.entries[path] = self._capture(archive, member, path, kind)
        elif member.issym():
            self.changes.entries[path] = Symlink(kind, paths.symlink_target(path, member.linkname))
        elif member.islnk():
            self._add_hard_link(path, kind, paths.normalize(member.linkname))

    def _add_unnamed(self, archive: tarfile.TarFile, member: tarfile.TarInfo, path: str) -> None:
        """A file that no name makes a record: kept only if it is a Go executable (or a
        hard link to one in this layer)."""
        if member.isreg() and records.may_be_go_binary(member.mode, member.size):
            build_info = self._read_go_build_info(archive, member, path)
            if build_info is not None:
                self.changes.entries[path] = self._keep(RecordKind.GO_BINARY, build_info)
        elif member.islnk():
            linked = self.changes.entries.get(paths.normalize(member.linkname))
            if isinstance(linked, CapturedFile) and linked.kind is RecordKind.GO_BINARY:
                self.changes.entries[path] = linked

    def _read_go_build_info(
        self, archive: tarfile.TarFile, member: tarfile.TarInfo, path: str
    ) -> bytes | None:
        content = archive.extractfile(member)
        if content is None:
            return None
        limit = self._limits.max_executable_bytes
        if member.size <= limit:
            return go_buildinfo.find_build_info(content)
        if content.read(len(elf.ELF_MAGIC)) == elf.ELF_MAGIC:
            self.changes.warnings.append(
                f"{path}: an executable of {member.size} bytes, over the limit of {limit}"
                " bytes; not searched for Go build info"
            )
        return None

    def _add_whiteout(self, whiteout: paths.Whiteout) -> None:
        if whiteout.opaque:
            self.changes.opaque_dirs.append(whiteout.path)
        elif whiteout.path:
            self.changes.hidden.append(whiteout.path)

    def _add_hard_link(self, path: str, kind: RecordKind, target: str) -> None:
        # A hard link names an earlier member of the same layer; only records were kept.
        linked = self.changes.entries.get(target)
        if isinstance(linked, CapturedFile) and linked.kind is kind:
            self.changes.entries[path] = linked
        elif isinstance(linked, CapturedFile):
            self.changes.entries[path] = CapturedFile(kind, linked.data, linked.spool_path)
        else:
            self.changes.hidden.append(path)
            self.changes.warnings.append(f"{path}: hard link to {target}, which was not read")

    def _capture(
        self, archive: tarfile.TarFile, member: tarfile.TarInfo, path: str, kind: RecordKind
    ) -> CapturedFile:
        capture = records.CAPTURE[kind]
        if capture is Capture.PRESENCE:
            return CapturedFile(kind)
        content = archive.extractfile(member)
        if content is None:
            return CapturedFile(kind)
        if capture is Capture.SPOOL:
            return self._spool(content, member.size, path, kind)
        if capture is Capture.ARCHIVE:
            return self._keep(kind, self._reduce_archive(content, member.size))
        self._check_size(path, member.size, self._limits.max_record_bytes)
        return self._keep(kind, records.reduce_content(kind, content.read()))

    def _keep(self, kind: RecordKind, data: bytes) -> CapturedFile:
        self._captured_bytes += len(data)
        if self._captured_bytes > self._limits.max_captured_bytes_per_layer:
            raise ImageUnsupported(
                "a layer holds more package records than the limit of "
                f"{self._limits.max_captured_bytes_per_layer} bytes"
            )
        return CapturedFile(kind, data)

    def _reduce_archive(self, content: IO[bytes], size: int) -> bytes:
        limit = self._limits.max_java_archive_bytes
        if size > limit:
            return jar_contents.unread(f"{size} bytes, over the limit of {limit} bytes")
        return jar_contents.reduce_archive(content, self._spool_dir)

    def _spool(self, content: IO[bytes], size: int, path: str, kind: RecordKind) -> CapturedFile:
        self._check_size(path, size, self._limits.max_spooled_record_bytes)
        with tempfile.NamedTemporaryFile(dir=self._spool_dir, delete=False) as spool:
            shutil.copyfileobj(content, spool, _TAR_BUFFER_SIZE)
        return CapturedFile(kind, spool_path=Path(spool.name))

    @staticmethod
    def _check_size(path: str, size: int, limit: int) -> None:
        if size > limit:
            raise ImageUnsupported(f"{path} is {size} bytes, over the limit of {limit} bytes")
