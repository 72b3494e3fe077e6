"""Just enough of ELF to know where an executable's writable data lies in the file.

Only the file header and the program headers are read; both sit at the start of every
executable the Go and GNU linkers write, so a stream can learn the layout before the
bytes it describes go by. 32- and 64-bit, little- and big-endian.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

ELF_MAGIC: Final = b"\x7fELF"
HEADER_BYTES: Final = 64
"""The size of a 64-bit ELF file header (a 32-bit one is 52 bytes)."""
MAX_PROGRAM_HEADER_END: Final = 64 * 1024
"""Program headers ending past this offset are not read (linkers put them right after
the file header)."""

_CLASS_32, _CLASS_64 = 1, 2
_LITTLE_ENDIAN, _BIG_ENDIAN = 1, 2
_PT_LOAD: Final = 1
_PF_W: Final = 2


@dataclass(frozen=True)
class _Layout:
    """Where the program header fields are, for one ELF class."""

    header: str  # e_phoff, e_phentsize, e_phnum from offset ``header_at``
    header_at: int
    entry: str  # p_type, p_flags, p_offset, p_filesz in ``entry_order``
    entry_size: int
    entry_order: tuple[int, int, int, int]


_LAYOUTS: Final = {
    # Elf32_Phdr: type, offset, vaddr, paddr, filesz, memsz, flags, align.
    _CLASS_32: _Layout("I10xHH", 0x1C, "IIIIIIII", 32, (0, 6, 1, 4)),
    # Elf64_Phdr: type, flags, offset, vaddr, paddr, filesz, memsz, align.
    _CLASS_64: _Layout("Q14xHH", 0x20, "IIQQQQQQ", 56, (0, 1, 2, 5)),
}


@dataclass(frozen=True)
class FileRange:
    """Bytes ``start`` (inclusive) to ``end`` (exclusive) of a file."""

    start: int
    end: int


def program_headers_end(header: bytes) -> int | None:
    """How many bytes from the start of the file hold the file header and the program
    headers, given the first ``HEADER_BYTES`` of it; ``None`` if it is not ELF, or the
    program headers are not near the start."""
    parsed = _parse_header(header)
    if parsed is None:
        return None
    layout, _, phoff, phentsize, phnum = parsed
    end = phoff + phentsize * phnum
    if phentsize < layout.entry_size or end > MAX_PROGRAM_HEADER_END:
        return None
    return max(end, HEADER_BYTES)


def writable_segments(head: bytes) -> list[FileRange]:
    """The file ranges of the loadable, writable segments, in file order, given the first
    ``program_headers_end(head)`` bytes of the file (more is fine); empty if ``head`` is not
    ELF or too short."""
    parsed = _parse_header(head)
    if parsed is None:
        return []
    layout, order, phoff, phentsize, phnum = parsed
    ranges = []
    for index in range(phnum):
        at = phoff + index * phentsize
        if at + layout.entry_size > len(head):
            return []
        fields = struct.unpack_from(order + layout.entry, head, at)
        kind, flags, offset, size = (fields[i] for i in layout.entry_order)
        if kind == _PT_LOAD and flags & _PF_W and size > 0:
            ranges.append(FileRange(offset, offset + size))
    return sorted(ranges, key=lambda item: item.start)


def _parse_header(head: bytes) -> tuple[_Layout, str, int, int, int] | None:
    if len(head) < HEADER_BYTES or not head.startswith(ELF_MAGIC):
        return None
    layout = _LAYOUTS.get(head[4])
    order = {_LITTLE_ENDIAN: "<", _BIG_ENDIAN: ">"}.get(head[5])
    if layout is None or order is None:
        return None
    phoff, phentsize, phnum = struct.unpack_from(order + layout.header, head, layout.header_at)
    return layout, order, phoff, phentsize, phnum
