"""Go build info: finding it in an executable read as a stream, and decoding it.

The Go linker writes a build info blob (``.go.buildinfo``) into the executable's writable
data: the 14-byte magic ``\\xff Go buildinf:`` at a 16-byte aligned address, the pointer
size, a flags byte, padding to 32 bytes, and then, since Go 1.18 (flag ``2``, strings
inline), two strings, each a uvarint length and its bytes: the Go version and the module
info. Older binaries hold pointers to the two strings instead, which a single pass
through the file cannot follow; they are kept as the 32-byte header alone and reported as
not read.

``go version -m`` finds the blob by its ELF section; section headers are at the end of
the file, so here the writable segments (from the program headers at its start) are
searched, in file order, for the first aligned magic whose header decodes. Searching only
the writable segments skips the code and read-only data, where a binary that reads build
info itself (the ``go`` command) holds another copy of the magic. Memory stays bounded:
the search keeps one chunk and a magic's length of overlap, plus the blob once found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from cargohold.scanner.indexer import elf
from cargohold.scanner.indexer.decompression import ByteReader
from cargohold.scanner.indexer.errors import RecordInvalid

MAGIC: Final = b"\xff Go buildinf:"
HEADER_BYTES: Final = 32
ALIGNMENT: Final = 16
MAX_BLOB_BYTES: Final = 4 * 1024 * 1024
"""A larger build info is not believed (the biggest real ones are tens of kilobytes)."""
INLINE_STRINGS_FLAG: Final = 2
MODULE_INFO_SENTINEL_BYTES: Final = 16
_CHUNK_BYTES: Final = 1024 * 1024
_MAX_VARINT_BYTES: Final = 10


@dataclass(frozen=True)
class BuildInfo:
    """A decoded build info: ``go_version`` as the toolchain wrote it (``go1.19.8``,
    possibly followed by a space and experiment flags) and ``module_info``, the lines
    ``go version -m`` prints (empty for binaries built outside module mode)."""

    go_version: str
    module_info: str


def find_build_info(content: ByteReader) -> bytes | None:
    """The build info blob of the ELF executable ``content`` (read from its start, once,
    no further than needed): the header and the two inline strings, or the 32-byte header
    alone for a pre-1.18 binary. ``None`` if ``content`` is not ELF or holds no build info
    (not Go, or cut short)."""
    window = _StreamWindow(content)
    if not window.fill_to(elf.HEADER_BYTES):
        return None
    headers_end = elf.program_headers_end(window.bytes(0, elf.HEADER_BYTES))
    if headers_end is None or not window.fill_to(headers_end):
        return None
    for segment in elf.writable_segments(window.bytes(0, headers_end)):
        blob = _search_segment(window, segment)
        if blob is not None:
            return blob
    return None


def decode_build_info(blob: bytes) -> BuildInfo:
    """The Go version and module info in a blob from ``find_build_info``. Raises
    ``RecordInvalid`` for a pre-1.18 blob (strings not inline) or a malformed one."""
    if len(blob) < HEADER_BYTES or not blob.startswith(MAGIC):
        raise RecordInvalid("has no build info")
    if not blob[len(MAGIC) + 1] & INLINE_STRINGS_FLAG:
        raise RecordInvalid("built before Go 1.18 (build info not inline); not read")
    version, after_version = _read_string(blob, HEADER_BYTES)
    module_info, _ = _read_string(blob, after_version)
    if version is None or module_info is None:
        raise RecordInvalid("has its build info cut short")
    return BuildInfo(
        version.decode("utf-8", "replace"),
        _strip_sentinels(module_info).decode("utf-8", "replace"),
    )


def _search_segment(window: _StreamWindow, segment: elf.FileRange) -> bytes | None:
    if not window.discard_to(segment.start):
        return None
    search_from = segment.start
    while True:
        found = window.find(MAGIC, search_from, segment.end)
        if found is not None:
            blob = _read_blob(window, found) if found % ALIGNMENT == 0 else None
            if blob is not None:
                return blob
            search_from = found + 1
            continue
        searched_to = window.end
        if searched_to >= segment.end:
            return None
        window.fill_to(searched_to + _CHUNK_BYTES)
        if window.end == searched_to:
            return None
        # A magic may straddle the old end: keep its length less one byte before it.
        search_from = max(search_from, searched_to - len(MAGIC) + 1)
        window.discard_to(search_from)


def _read_blob(window: _StreamWindow, start: int) -> bytes | None:
    """The blob at ``start`` if its header is sound and its strings are all there."""
    if not window.fill_to(start + HEADER_BYTES):
        return None
    header = window.bytes(start, start + HEADER_BYTES)
    pointer_size, flags = header[len(MAGIC)], header[len(MAGIC) + 1]
    if pointer_size not in (4, 8):
        return None
    if not flags & INLINE_STRINGS_FLAG:
        return header
    end = start + HEADER_BYTES
    for _ in range(2):
        window.fill_to(min(end + _MAX_VARINT_BYTES, start + MAX_BLOB_BYTES))
        length, after_length = _read_uvarint(window.bytes(end, end + _MAX_VARINT_BYTES), 0)
        if length is None:
            return None
        end += after_length + length
        if end - start > MAX_BLOB_BYTES or not window.fill_to(end):
            return None
    return window.bytes(start, end)


def _read_string(data: bytes, at: int) -> tuple[bytes | None, int]:
    length, after_length = _read_uvarint(data, at)
    if length is None or after_length + length > len(data):
        return None, at
    return data[after_length : after_length + length], after_length + length


def _read_uvarint(data: bytes, at: int) -> tuple[int | None, int]:
    """The unsigned LEB128 (Go ``binary.Uvarint``) at ``at`` and the offset after it;
    ``None`` if it is cut short or too long."""
    value, shift = 0, 0
    for offset in range(at, min(at + _MAX_VARINT_BYTES, len(data))):
        byte = data[offset]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset + 1
        shift += 7
    return None, at


def _strip_sentinels(module_info: bytes) -> bytes:
    """The module info between the 16-byte sentinels the linker wraps it in, as
    ``debug/buildinfo`` unwraps it; empty if they are not there."""
    sentinel = MODULE_INFO_SENTINEL_BYTES
    if len(module_info) >= 2 * sentinel + 1 and module_info[-sentinel - 1] == ord("\n"):
        return module_info[sentinel:-sentinel]
    return b""


class _StreamWindow:
    """The bytes of a stream from file offset ``start`` to ``end``, read forward only."""

    def __init__(self, stream: ByteReader) -> None:
        self._stream = stream
        self._buffer = bytearray()
        self.start = 0
        self.end = 0

    def fill_to(self, offset: int) -> bool:
        """Reads until the window reaches ``offset``; ``False`` if the stream ends first."""
        while self.end < offset:
            data = self._stream.read(offset - self.end)
            if not data:
                return False
            self._buffer += data
            self.end += len(data)
        return True

    def discard_to(self, offset: int) -> bool:
        """Drops the bytes before ``offset`` (reading up to it if need be); ``False`` if the
        stream ends first."""
        while self.end < offset:
            if not self.fill_to(min(offset, self.end + _CHUNK_BYTES)):
                return False
            self._drop_before(min(offset, self.end))
        self._drop_before(offset)
        return True

    def find(self, needle: bytes, start: int, end: int) -> int | None:
        """The file offset of the first ``needle`` that lies within ``start``..``end`` and
        the window; ``None`` if there is none."""
        at = self._buffer.find(needle, start - self.start, min(end, self.end) - self.start)
        return None if at < 0 else self.start + at

    def bytes(self, start: int, end: int) -> bytes:
        """The window's bytes from ``start`` to ``end`` (clipped to what it holds)."""
        return bytes(self._buffer[start - self.start : end - self.start])

    def _drop_before(self, offset: int) -> None:
        if offset > self.start:
            del self._buffer[: offset - self.start]
            self.start = offset
