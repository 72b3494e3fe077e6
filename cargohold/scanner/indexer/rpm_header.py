"""A reader for rpm header blobs, the records of every rpm database backend.

Layout (rpm's ``lib/header.c``; all integers big-endian): ``il`` (int32, the number of
index entries), ``dl`` (int32, the size of the data store), ``il`` entries of 16 bytes
(tag, type, offset into the data store, count), then the data store. Headers stored in a
database carry no leading magic. Only the types the indexer needs are decoded.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from cargohold.scanner.indexer.errors import RecordInvalid

_COUNTS: Final = struct.Struct(">ii")
_ENTRY: Final = struct.Struct(">iiii")
_MAX_ENTRIES: Final = 0xFFFF
_MAX_DATA: Final = 256 * 1024 * 1024


class Tag(IntEnum):
    """The header tags the indexer reads."""

    NAME = 1000
    VERSION = 1001
    RELEASE = 1002
    EPOCH = 1003
    ARCH = 1022
    OLDFILENAMES = 1027
    SOURCERPM = 1044
    DIRINDEXES = 1116
    BASENAMES = 1117
    DIRNAMES = 1118


class _Type(IntEnum):
    INT32 = 4
    STRING = 6
    STRING_ARRAY = 8
    I18NSTRING = 9


@dataclass(frozen=True)
class _IndexEntry:
    type: int
    offset: int
    count: int


class RpmHeader:
    """One parsed header; values are decoded on access."""

    def __init__(self, blob: bytes) -> None:
        """Parses the index of ``blob``; ``RecordInvalid`` if it is not a header."""
        if len(blob) < _COUNTS.size:
            raise RecordInvalid("rpm header: shorter than its counts")
        entry_count, data_size = _COUNTS.unpack_from(blob)
        store_start = _COUNTS.size + entry_count * _ENTRY.size
        if not 0 < entry_count <= _MAX_ENTRIES or not 0 <= data_size <= _MAX_DATA:
            raise RecordInvalid(f"rpm header: implausible counts {entry_count}, {data_size}")
        if len(blob) < store_start + data_size:
            raise RecordInvalid("rpm header: shorter than its index and data store")
        self._store = blob[store_start : store_start + data_size]
        self._entries = _read_index(blob, entry_count)

    def string(self, tag: Tag) -> str | None:
        """A ``STRING``/``I18NSTRING`` value (the first of an array), or ``None``."""
        values = self.strings(tag)
        return values[0] if values else None

    def strings(self, tag: Tag) -> list[str]:
        """A string or string-array value; empty when the tag is absent."""
        entry = self._entries.get(tag)
        if entry is None or entry.type not in (
            _Type.STRING,
            _Type.STRING_ARRAY,
            _Type.I18NSTRING,
        ):
            return []
        count = entry.count if entry.type == _Type.STRING_ARRAY else 1
        return self._read_strings(entry.offset, count)

    def integers(self, tag: Tag) -> list[int]:
        """An ``INT32`` (array) value; empty when the tag is absent."""
        entry = self._entries.get(tag)
        if entry is None or entry.type != _Type.INT32:
            return []
        end = entry.offset + 4 * entry.count
        if entry.offset < 0 or entry.count < 0 or end > len(self._store):
            raise RecordInvalid(f"rpm header: tag {tag} points outside the data store")
        return list(struct.unpack_from(f">{entry.count}i", self._store, entry.offset))

    def _read_strings(self, offset: int, count: int) -> list[str]:
        values = []
        for _ in range(count):
            end = self._store.find(b"\0", offset)
            if offset < 0 or end < 0:
                raise RecordInvalid("rpm header: a string runs outside the data store")
            values.append(self._store[offset:end].decode("utf-8", errors="replace"))
            offset = end + 1
        return values


def _read_index(blob: bytes, entry_count: int) -> Mapping[int, _IndexEntry]:
    entries: dict[int, _IndexEntry] = {}
    for number in range(entry_count):
        tag, value_type, offset, count = _ENTRY.unpack_from(blob, _COUNTS.size + number * 16)
        entries.setdefault(tag, _IndexEntry(value_type, offset, count))
    return entries
